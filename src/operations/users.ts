// SCRAM users (KIP-554): list (DescribeUserScramCredentials), create or change a password
// (AlterUserScramCredentials upsertions, the salt and the salted password made here, so the
// password never reaches the broker) and delete, as `spate users` and the admin API's
// /api/v1/users use them. The broker's answers keep their names: RESOURCE_NOT_FOUND,
// UNACCEPTABLE_CREDENTIAL, UNSUPPORTED_SASL_MECHANISM, DUPLICATE_RESOURCE.

import { randomBytes } from 'node:crypto';
import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import type { DescribeUserScramCredentialsResult } from '../protocol/generated/describe-user-scram-credentials-response.js';
import { alterUserScramCredentialsApi, describeUserScramCredentialsApi } from '../protocol/generated/index.js';
import { saltPassword, SCRAM_MECHANISM_TYPES, scramMechanismOfType, type ScramMechanism } from '../security/scram.js';

/** A salt as long as the mechanism's hash (what Kafka's ScramFormatter makes, and scram.ts's makeCredential). */
const SALT_BYTES: Readonly<Record<ScramMechanism, number>> = { 'SCRAM-SHA-256': 32, 'SCRAM-SHA-512': 64 };

export interface ScramUpsertion {
  readonly name: string;
  readonly mechanism: number;
  readonly iterations: number;
  readonly salt: Buffer;
  readonly saltedPassword: Buffer;
}

export function mechanismName(type: number): string {
  return scramMechanismOfType(type) ?? `unknown mechanism ${type}`;
}

/** A random salt and the salted password (PBKDF2) for each mechanism. */
export async function scramUpsertions(user: string, password: string, mechanisms: readonly ScramMechanism[], iterations: number): Promise<ScramUpsertion[]> {
  return Promise.all(
    mechanisms.map(async (mechanism) => {
      const salt = randomBytes(SALT_BYTES[mechanism]);
      return { name: user, mechanism: SCRAM_MECHANISM_TYPES[mechanism], iterations, salt, saltedPassword: await saltPassword(mechanism, password, salt, iterations) };
    }),
  );
}

/** DescribeUserScramCredentials of these users (null: every user); a request-level error is a BrokerError. */
export async function describeUsers(client: KafkaRequester, users: readonly string[] | null): Promise<DescribeUserScramCredentialsResult[]> {
  const { body } = await client.request(describeUserScramCredentialsApi, { users: users === null ? null : users.map((name) => ({ name })) });
  if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, body.errorMessage, 'DescribeUserScramCredentials');
  return body.results;
}

export interface UserListing {
  readonly user: string;
  readonly credentials: { readonly mechanism: string; readonly iterations: number }[];
}

/** The users (null: every one with a credential), sorted, with their mechanisms; the names that failed in `errors`. */
export async function listUsers(client: KafkaRequester, names: readonly string[] | null): Promise<{ readonly users: UserListing[]; readonly errors: BrokerError[] }> {
  const results = await describeUsers(client, names);
  const found = results.filter((result) => result.errorCode === ErrorCode.NONE).sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  const users = found.map((result) => ({
    user: result.user,
    credentials: [...result.credentialInfos].sort((a, b) => a.mechanism - b.mechanism).map((info) => ({ mechanism: mechanismName(info.mechanism), iterations: info.iterations })),
  }));
  const errors = results.filter((result) => result.errorCode !== ErrorCode.NONE).map((result) => new BrokerError(result.errorCode, result.errorMessage, `user "${result.user}"`));
  return { users, errors };
}

/** AlterUserScramCredentials: each user named, with its error (null when its changes were applied). */
export async function alterUsers(client: KafkaRequester, deletions: readonly { name: string; mechanism: number }[], upsertions: readonly ScramUpsertion[]): Promise<Map<string, BrokerError | null>> {
  const { body } = await client.request(alterUserScramCredentialsApi, { deletions: [...deletions], upsertions: [...upsertions] });
  const results = new Map<string, BrokerError | null>();
  for (const name of [...deletions, ...upsertions].map((alteration) => alteration.name)) {
    const result = body.results.find((r) => r.user === name);
    if (result === undefined) results.set(name, new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'AlterUserScramCredentials answered without the user', `user "${name}"`));
    else results.set(name, result.errorCode === ErrorCode.NONE ? null : new BrokerError(result.errorCode, result.errorMessage, `user "${name}"`));
  }
  return results;
}

/** Creates the user's credentials for the mechanisms, or replaces them (a new password); the broker's refusal is a BrokerError. */
export async function setUserPassword(client: KafkaRequester, user: string, password: string, options: { readonly mechanisms: readonly ScramMechanism[]; readonly iterations: number }): Promise<void> {
  const upsertions = await scramUpsertions(user, password, options.mechanisms, options.iterations);
  const error = (await alterUsers(client, [], upsertions)).get(user);
  if (error !== null && error !== undefined) throw error;
}

/**
 * Deletes the users' credentials: the mechanisms given, or (null) every one each user has. Each
 * user deleted with its mechanisms' names; the failures in `errors`.
 */
export async function deleteUsers(
  client: KafkaRequester,
  names: readonly string[],
  mechanisms: readonly ScramMechanism[] | null,
): Promise<{ readonly deleted: { readonly user: string; readonly mechanisms: string[] }[]; readonly errors: BrokerError[] }> {
  const errors: BrokerError[] = [];
  const deletions: { name: string; mechanism: number }[] = [];
  if (mechanisms !== null) {
    for (const name of names) for (const mechanism of mechanisms) deletions.push({ name, mechanism: SCRAM_MECHANISM_TYPES[mechanism] });
  } else {
    for (const result of await describeUsers(client, names)) {
      if (result.errorCode === ErrorCode.RESOURCE_NOT_FOUND) errors.push(new BrokerError(result.errorCode, 'the user has no SCRAM credential to delete', `user "${result.user}"`));
      else if (result.errorCode !== ErrorCode.NONE) errors.push(new BrokerError(result.errorCode, result.errorMessage, `user "${result.user}"`));
      else for (const info of result.credentialInfos) deletions.push({ name: result.user, mechanism: info.mechanism });
    }
  }
  const results = deletions.length === 0 ? new Map<string, BrokerError | null>() : await alterUsers(client, deletions, []);
  const deleted: { user: string; mechanisms: string[] }[] = [];
  for (const [name, error] of results) {
    if (error !== null) {
      errors.push(error);
      continue;
    }
    deleted.push({ user: name, mechanisms: deletions.filter((deletion) => deletion.name === name).map((deletion) => mechanismName(deletion.mechanism)) });
  }
  return { deleted, errors };
}
