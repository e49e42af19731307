// The client's side of SASL for the security tests: users made the way an admin client makes
// them (AlterUserScramCredentials with a salt and a PBKDF2-salted password, KIP-554), PLAIN's
// one message (RFC 4616), a SCRAM client (RFC 5802 with the SHA-256/512 of RFC 7677), and a
// whole login over a RawClient: SaslHandshake v1, then SaslAuthenticate until the exchange ends;
// and the broker those tests run against.

import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { errorName } from '../../src/protocol/errors.js';
import { alterUserScramCredentialsApi, saslAuthenticateApi, saslHandshakeApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess, freePort, type Teardownable } from './broker-process.js';
import { RawClient } from './raw-client.js';

export type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export type MechanismName = 'PLAIN' | ScramMechanismName;

/** How AlterUserScramCredentials numbers the mechanisms (KIP-554). */
export const SCRAM_MECHANISM_TYPE: Readonly<Record<ScramMechanismName, number>> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };
const HASH: Readonly<Record<ScramMechanismName, { readonly name: 'sha256' | 'sha512'; readonly bytes: number }>> = {
  'SCRAM-SHA-256': { name: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { name: 'sha512', bytes: 64 },
};

/** The salted password a client sends in AlterUserScramCredentials: Hi(password, salt, iterations). */
export function saltedPassword(mechanism: ScramMechanismName, password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(password, salt, iterations, HASH[mechanism].bytes, HASH[mechanism].name);
}

/** Sets `user`'s credential for `mechanism` through a listener without SASL; the error's name ('NONE' when set). */
export async function setScramCredential(t: Teardownable, port: number, user: string, mechanism: ScramMechanismName, password: string, iterations = 4096): Promise<string> {
  const salt = randomBytes(24);
  const admin = await RawClient.connect(t, port);
  try {
    const answer = await admin.request(alterUserScramCredentialsApi, 0, {
      deletions: [],
      upsertions: [{ name: user, mechanism: SCRAM_MECHANISM_TYPE[mechanism], iterations, salt, saltedPassword: saltedPassword(mechanism, password, salt, iterations) }],
    });
    return errorName(answer.results[0]!.errorCode);
  } finally {
    admin.destroy();
  }
}

/** PLAIN's message: authzid NUL user NUL password. */
export function plainToken(user: string, password: string, authzid = ''): Buffer {
  return Buffer.from(`${authzid}\u0000${user}\u0000${password}`, 'utf8');
}

/** RFC 5802's saslname: "," as "=2C", "=" as "=3D". */
export function saslName(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** One SCRAM exchange from the client's side; `userField` is sent as it is (already a saslname). */
export class ScramClient {
  readonly clientNonce = randomBytes(18).toString('base64');
  private readonly clientFirstBare: string;
  private authMessage = '';
  private serverSignature: Buffer | null = null;

  constructor(
    readonly mechanism: ScramMechanismName,
    userField: string,
    private readonly password: string,
  ) {
    this.clientFirstBare = `n=${userField},r=${this.clientNonce}`;
  }

  firstMessage(): Buffer {
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  /** The client-final message for the server-first message. */
  finalMessage(serverFirst: Buffer): Buffer {
    const text = serverFirst.toString('utf8');
    const fields = new Map(text.split(',').map((part) => [part.slice(0, 1), part.slice(2)] as const));
    const nonce = fields.get('r')!;
    if (!nonce.startsWith(this.clientNonce)) throw new Error(`the server nonce ${nonce} does not extend ours`);
    const { name } = HASH[this.mechanism];
    const salted = saltedPassword(this.mechanism, this.password, Buffer.from(fields.get('s')!, 'base64'), Number(fields.get('i')));
    const withoutProof = `c=biws,r=${nonce}`;
    this.authMessage = `${this.clientFirstBare},${text},${withoutProof}`;
    const clientKey = createHmac(name, salted).update('Client Key').digest();
    const storedKey = createHash(name).update(clientKey).digest();
    const clientSignature = createHmac(name, storedKey).update(this.authMessage).digest();
    const proof = Buffer.alloc(clientKey.length);
    for (let index = 0; index < proof.length; index++) proof[index] = clientKey[index]! ^ clientSignature[index]!;
    this.serverSignature = createHmac(name, createHmac(name, salted).update('Server Key').digest()).update(this.authMessage).digest();
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Whether the server-final message proves the server knows the credential. */
  verifies(serverFinal: Buffer): boolean {
    return this.serverSignature !== null && serverFinal.toString('utf8') === `v=${this.serverSignature.toString('base64')}`;
  }
}

export interface LoginOutcome {
  /** The handshake's error name, then each SaslAuthenticate's ('NONE' for a step that went on). */
  readonly errors: string[];
  /** The last SaslAuthenticate's session_lifetime_ms (v1+), 0 otherwise. */
  readonly sessionLifetimeMs: number;
  /** The last answer's error message. */
  readonly errorMessage: string | null;
  /** A SCRAM login only: whether the server-final message verified. */
  readonly serverVerified: boolean | null;
}

/**
 * A whole login on `client`: SaslHandshake v1 for `mechanism`, then SaslAuthenticate
 * (`version`) until the exchange ends or fails. Used for first logins and re-authentication alike.
 */
export async function login(client: RawClient, mechanism: MechanismName, user: string, password: string, version = 2): Promise<LoginOutcome> {
  const handshake = await client.request(saslHandshakeApi, 1, { mechanism });
  const errors = [errorName(handshake.errorCode)];
  const end = (answer: { errorCode: number; errorMessage: string | null; sessionLifetimeMs?: number } | null, serverVerified: boolean | null): LoginOutcome => ({
    errors,
    sessionLifetimeMs: answer?.sessionLifetimeMs ?? 0,
    errorMessage: answer?.errorMessage ?? null,
    serverVerified,
  });
  if (handshake.errorCode !== 0) return end(null, null);
  if (mechanism === 'PLAIN') {
    const answer = await client.request(saslAuthenticateApi, version, { authBytes: plainToken(user, password) });
    errors.push(errorName(answer.errorCode));
    return end(answer, null);
  }
  const scram = new ScramClient(mechanism, saslName(user), password);
  const first = await client.request(saslAuthenticateApi, version, { authBytes: scram.firstMessage() });
  errors.push(errorName(first.errorCode));
  if (first.errorCode !== 0) return end(first, null);
  const final = await client.request(saslAuthenticateApi, version, { authBytes: scram.finalMessage(first.authBytes) });
  errors.push(errorName(final.errorCode));
  return end(final, final.errorCode === 0 ? scram.verifies(final.authBytes) : null);
}

/**
 * A broker with a PLAINTEXT listener (where tests make users and ACLs) and a SASL_PLAINTEXT one
 * with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, failed logins answered after 50 ms; `overrides`
 * win over these.
 */
export async function startSaslBroker(t: Teardownable, overrides: Readonly<Record<string, string | number | boolean>> = {}): Promise<{ broker: BrokerProcess; plainPort: number; saslPort: number }> {
  const plainPort = await freePort();
  const saslPort = await freePort();
  const broker = await BrokerProcess.start(t, {
    port: plainPort,
    overrides: {
      listeners: `PLAINTEXT://127.0.0.1:${plainPort},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      'connection.failed.authentication.delay.ms': 50,
      ...overrides,
    },
  });
  return { broker, plainPort, saslPort };
}
