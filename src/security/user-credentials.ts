// The users SASL authenticates: each user's SCRAM credentials, one per mechanism, kept as
// Kafka keeps them — entity configs of the user (`SCRAM-SHA-256` → `salt=…,stored_key=…,
// server_key=…,iterations=…`), never a password — in the broker's metadata store (ZooKeeper's
// /config/users/<name> in a cluster has the same shape). PLAIN logins are checked against the
// same credentials (security/scram.ts `passwordMatches`).
//
// Changes come through AlterUserScramCredentials (KIP-554) with Kafka's checks and error codes
// (ZkAdminManager.alterUserScramCredentials), one user's changes applied together or not at
// all, changes to the store one at a time; DescribeUserScramCredentials lists mechanisms and
// iteration counts, never keys.

import { limits } from '../config/limits.js';
import type { EntityType } from '../controller/metadata-store.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  credentialFromSaltedPassword,
  formatCredential,
  isScramMechanism,
  parseCredential,
  SCRAM_ITERATIONS_MAX,
  SCRAM_ITERATIONS_MIN,
  SCRAM_MECHANISM_TYPES,
  SCRAM_MECHANISMS,
  scramMechanismOfType,
  type ScramCredential,
  type ScramMechanism,
} from './scram.js';

/** Where entity configs live: the embedded broker's metadata store (a cluster's ZooKeeper store has the same face). */
export interface EntityConfigStore {
  entityConfigs(entityType: EntityType, name: string): Readonly<Record<string, string>>;
  entities(entityType: EntityType): IterableIterator<string>;
  setEntityConfigs(entityType: EntityType, name: string, configs: Readonly<Record<string, string>>): Promise<void>;
  /** Moves whenever any entity's configs change, here or (a cluster) through another broker: caches compare it. */
  readonly entityConfigsVersion: number;
}

export interface CredentialDeletion {
  readonly name: string;
  readonly mechanism: number;
}

export interface CredentialUpsertion extends CredentialDeletion {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly saltedPassword: Buffer;
}

export interface UserResult {
  readonly user: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface DescribedUser extends UserResult {
  readonly credentialInfos: readonly { readonly mechanism: number; readonly iterations: number }[];
}

const HASH_BYTES: Readonly<Record<ScramMechanism, number>> = { 'SCRAM-SHA-256': 32, 'SCRAM-SHA-512': 64 };

export class UserCredentials {
  /** Parsed credentials by their stored text (a credential is parsed once, not at every login). */
  private readonly parsed = new Map<string, ScramCredential>();
  private changing: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: EntityConfigStore) {}

  /** A user's credential for a mechanism, or undefined (no such user, or none for that mechanism). */
  credential(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    const text = this.store.entityConfigs('users', user)[mechanism];
    if (text === undefined) return undefined;
    let credential = this.parsed.get(text);
    if (credential === undefined) {
      try {
        credential = parseCredential(mechanism, text);
      } catch {
        return undefined; // a damaged entry authenticates nobody
      }
      if (this.parsed.size >= limits.scramUsersMax * SCRAM_MECHANISMS.length) this.parsed.clear();
      this.parsed.set(text, credential);
    }
    return credential;
  }

  /** DescribeUserScramCredentials: the named users (null: every user with a credential). */
  describe(users: readonly string[] | null): DescribedUser[] {
    const describeOne = (user: string): DescribedUser => {
      const configs = this.store.entityConfigs('users', user);
      const credentialInfos = SCRAM_MECHANISMS.flatMap((mechanism) => {
        const credential = configs[mechanism] === undefined ? undefined : this.credential(user, mechanism);
        return credential === undefined ? [] : [{ mechanism: SCRAM_MECHANISM_TYPES[mechanism], iterations: credential.iterations }];
      });
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos };
    };
    if (users === null) return [...this.store.entities('users')].map(describeOne).filter((described) => described.credentialInfos.length > 0);
    const counts = new Map<string, number>();
    for (const user of users) counts.set(user, (counts.get(user) ?? 0) + 1);
    return [...counts].map(([user, count]) => {
      if (count > 1) return { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request', credentialInfos: [] };
      const described = describeOne(user);
      if (described.credentialInfos.length === 0) return { ...described, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'Attempt to describe a user credential that does not exist' };
      return described;
    });
  }

  /** AlterUserScramCredentials: each user's deletions and upsertions checked, then applied together; one result per user named. */
  alter(deletions: readonly CredentialDeletion[], upsertions: readonly CredentialUpsertion[]): Promise<UserResult[]> {
    return this.exclusive(() => this.alterNow(deletions, upsertions));
  }

  /** Runs `work` after every change of entity configs begun before it (credentials here, client quotas: quota/client-quotas.ts), so none loses another's. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.changing.then(work);
    this.changing = run.catch(() => undefined);
    return run;
  }

  private async alterNow(deletions: readonly CredentialDeletion[], upsertions: readonly CredentialUpsertion[]): Promise<UserResult[]> {
    const users = new Map<string, { errorCode: number; errorMessage: string | null; deletions: CredentialDeletion[]; upsertions: CredentialUpsertion[] }>();
    const fail = (user: string, errorCode: number, errorMessage: string): void => {
      const entry = users.get(user)!;
      if (entry.errorCode === ErrorCode.NONE) Object.assign(entry, { errorCode, errorMessage });
    };
    for (const alteration of [...deletions, ...upsertions]) {
      if (!users.has(alteration.name)) users.set(alteration.name, { errorCode: ErrorCode.NONE, errorMessage: null, deletions: [], upsertions: [] });
    }
    const seen = new Set<string>();
    const check = (alteration: CredentialDeletion): ScramMechanism | undefined => {
      const mechanism = scramMechanismOfType(alteration.mechanism);
      if (alteration.name === '') fail(alteration.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
      else if (alteration.name.length > limits.userNameCharsMax) fail(alteration.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `a user name may have at most ${limits.userNameCharsMax} characters (limits.userNameCharsMax)`);
      else if (mechanism === undefined) fail(alteration.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
      const key = `${alteration.name}\u0000${alteration.mechanism}`;
      if (seen.has(key)) fail(alteration.name, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request');
      seen.add(key);
      return mechanism;
    };
    for (const deletion of deletions) {
      const mechanism = check(deletion);
      if (mechanism !== undefined && this.store.entityConfigs('users', deletion.name)[mechanism] === undefined) {
        fail(deletion.name, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist');
      }
      users.get(deletion.name)!.deletions.push(deletion);
    }
    for (const upsertion of upsertions) {
      const mechanism = check(upsertion);
      if (upsertion.iterations < SCRAM_ITERATIONS_MIN) fail(upsertion.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too few iterations: at least ${SCRAM_ITERATIONS_MIN}`);
      else if (upsertion.iterations > SCRAM_ITERATIONS_MAX) fail(upsertion.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too many iterations: at most ${SCRAM_ITERATIONS_MAX}`);
      else if (upsertion.salt.length === 0 || upsertion.salt.length > 1024) fail(upsertion.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'the salt must have 1 to 1024 bytes');
      else if (mechanism !== undefined && upsertion.saltedPassword.length !== HASH_BYTES[mechanism]) fail(upsertion.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `a ${mechanism} salted password has ${HASH_BYTES[mechanism]} bytes`);
      users.get(upsertion.name)!.upsertions.push(upsertion);
    }
    let known = 0;
    for (const _user of this.store.entities('users')) known++;
    const results: UserResult[] = [];
    for (const [user, entry] of users) {
      if (entry.errorCode === ErrorCode.NONE) {
        const configs: Record<string, string> = { ...this.store.entityConfigs('users', user) };
        const isNew = Object.keys(configs).length === 0;
        for (const deletion of entry.deletions) delete configs[scramMechanismOfType(deletion.mechanism)!];
        for (const upsertion of entry.upsertions) {
          const mechanism = scramMechanismOfType(upsertion.mechanism)!;
          configs[mechanism] = formatCredential(credentialFromSaltedPassword(mechanism, upsertion.saltedPassword, upsertion.salt, upsertion.iterations));
        }
        if (isNew && known >= limits.scramUsersMax) {
          fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, `this broker already has ${known} users (limits.scramUsersMax)`);
        } else {
          await this.store.setEntityConfigs('users', user, configs);
          if (isNew) known++;
        }
      }
      results.push({ user, errorCode: entry.errorCode, errorMessage: entry.errorMessage });
    }
    return results;
  }

  /** Whether the user has any credential (for log lines, never for a client). */
  exists(user: string): boolean {
    return Object.keys(this.store.entityConfigs('users', user)).some((key) => isScramMechanism(key));
  }
}
