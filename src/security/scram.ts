// SCRAM (RFC 5802, with SHA-256 and SHA-512 as RFC 7677 and Kafka's KIP-84 use them): the
// credentials a broker keeps — salt, StoredKey, ServerKey and iteration count, never the
// password or the salted password — and the server's side of one exchange. The client's side
// is in scram-client.ts.
//
// Kafka's ScramSaslServer differs from this in one way on purpose: an unknown user is refused
// by Kafka at the client's first message, which tells whoever asks which user names exist.
// Here an unknown user gets a made-up salt (derived from the name and a secret of this
// process, so asking twice gives the same one) and fails at the final message as a wrong
// password does. This hides unknown users less than it seems: a real user's salt has the length
// and iteration count its AlterUserScramCredentials gave, the made-up one the hash's length and
// 4096, so a prober who knows how users are made here can still tell them apart.

import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** Kafka's ScramMechanism: the hash, and the iteration bounds it accepts. */
const HASHES: Readonly<Record<ScramMechanism, { hash: 'sha256' | 'sha512'; bytes: number }>> = {
  'SCRAM-SHA-256': { hash: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { hash: 'sha512', bytes: 64 },
};
export const SCRAM_ITERATIONS_MIN = 4096;
export const SCRAM_ITERATIONS_MAX = 16384;
/** Kafka's default for credentials it makes (kafka-configs.sh --add-config 'SCRAM-SHA-256=[password=…]'). */
export const SCRAM_ITERATIONS_DEFAULT = 4096;

/** The mechanism's type as AlterUserScramCredentials and DescribeUserScramCredentials number it (KIP-554). */
export const SCRAM_MECHANISM_TYPES: Readonly<Record<ScramMechanism, number>> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };

export function scramMechanismOfType(type: number): ScramMechanism | undefined {
  return SCRAM_MECHANISMS.find((mechanism) => SCRAM_MECHANISM_TYPES[mechanism] === type);
}

export function isScramMechanism(name: string): name is ScramMechanism {
  return (SCRAM_MECHANISMS as readonly string[]).includes(name);
}

/** What a broker stores for one user and mechanism. */
export interface ScramCredential {
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
  readonly iterations: number;
}

/** HMAC with the mechanism's hash (RFC 5802's HMAC). */
export function hmac(mechanism: ScramMechanism, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(HASHES[mechanism].hash, key).update(data).digest();
}

/** The mechanism's hash (RFC 5802's H). */
export function hash(mechanism: ScramMechanism, data: Buffer): Buffer {
  return createHash(HASHES[mechanism].hash).update(data).digest();
}

/** Hi(password, salt, i): PBKDF2 with the mechanism's HMAC, on the thread pool. */
export function saltPassword(mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, HASHES[mechanism].bytes, HASHES[mechanism].hash);
}

/** The stored credential from a salted password (what AlterUserScramCredentials sends). */
export function credentialFromSaltedPassword(mechanism: ScramMechanism, saltedPassword: Buffer, salt: Buffer, iterations: number): ScramCredential {
  const clientKey = hmac(mechanism, saltedPassword, 'Client Key');
  return { salt, storedKey: hash(mechanism, clientKey), serverKey: hmac(mechanism, saltedPassword, 'Server Key'), iterations };
}

/** A new credential for a password: a random salt of the hash's size. */
export async function makeCredential(mechanism: ScramMechanism, password: string, iterations = SCRAM_ITERATIONS_DEFAULT): Promise<ScramCredential> {
  const salt = randomBytes(HASHES[mechanism].bytes);
  return credentialFromSaltedPassword(mechanism, await saltPassword(mechanism, password, salt, iterations), salt, iterations);
}

/** Whether `password` is the one the credential was made from (PLAIN against stored SCRAM credentials), in constant time. */
export async function passwordMatches(mechanism: ScramMechanism, credential: ScramCredential, password: string): Promise<boolean> {
  const derived = credentialFromSaltedPassword(mechanism, await saltPassword(mechanism, password, credential.salt, credential.iterations), credential.salt, credential.iterations);
  return derived.storedKey.length === credential.storedKey.length && timingSafeEqual(derived.storedKey, credential.storedKey);
}

/** Kafka's text form of a credential (ScramCredentialUtils): `salt=…,stored_key=…,server_key=…,iterations=…`, base64. */
export function formatCredential(credential: ScramCredential): string {
  return `salt=${credential.salt.toString('base64')},stored_key=${credential.storedKey.toString('base64')},server_key=${credential.serverKey.toString('base64')},iterations=${credential.iterations}`;
}

/** Reads Kafka's text form; throws naming what is wrong. */
export function parseCredential(mechanism: ScramMechanism, text: string): ScramCredential {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) throw new Error(`"${part.slice(0, 40)}" is not key=value`);
    fields.set(part.slice(0, at), part.slice(at + 1));
  }
  const bytes = (key: string, length?: number): Buffer => {
    const value = fields.get(key);
    if (value === undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new Error(`${key} is missing or not base64`);
    const decoded = Buffer.from(value, 'base64');
    if (length !== undefined && decoded.length !== length) throw new Error(`${key} is ${decoded.length} bytes, not ${length}`);
    return decoded;
  };
  const iterations = Number(fields.get('iterations'));
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('iterations is missing or not a positive integer');
  const size = HASHES[mechanism].bytes;
  return { salt: bytes('salt'), storedKey: bytes('stored_key', size), serverKey: bytes('server_key', size), iterations };
}

/** A made-up credential for a user that does not exist: stable per name for this process, never matching any proof. */
const UNKNOWN_USER_SECRET = randomBytes(32);
function decoyCredential(mechanism: ScramMechanism, user: string): ScramCredential {
  const salt = hmac(mechanism, UNKNOWN_USER_SECRET, `salt\u0000${user}`);
  return { salt, storedKey: randomBytes(HASHES[mechanism].bytes), serverKey: randomBytes(HASHES[mechanism].bytes), iterations: SCRAM_ITERATIONS_DEFAULT };
}

/** A step's outcome: a challenge to send, success with the final message, or failure (the reason is for the log, never for the client). */
export type ScramStep = { readonly kind: 'challenge'; readonly message: Buffer } | { readonly kind: 'done'; readonly message: Buffer; readonly user: string } | { readonly kind: 'failed'; readonly reason: string };

/** RFC 5802's saslname: "=2C" is ",", "=3D" is "=", and no other "=". */
function decodeSaslName(name: string): string | null {
  if (/=(?!2C|3D)/.test(name)) return null;
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/; // RFC 5802's printable: %x21-2B / %x2D-7E

/**
 * The server's side of one SCRAM exchange: client-first → server-first (the challenge),
 * client-final → server-final. `lookup` finds a user's credential (undefined: no such user).
 */
export class ScramServer {
  private state: 'first' | 'final' | 'ended' = 'first';
  private user = '';
  private credential: ScramCredential | null = null;
  private known = false;
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: (user: string) => ScramCredential | undefined,
    /** The server's part of the nonce (random; fixed only by tests replaying RFC 7677's example). */
    private readonly serverNonce: () => string = () => randomBytes(18).toString('base64'),
  ) {}

  step(message: Buffer): ScramStep {
    const text = message.toString('utf8');
    switch (this.state) {
      case 'first':
        return this.clientFirst(text);
      case 'final':
        return this.clientFinal(text);
      default:
        return this.fail('a message after the exchange ended');
    }
  }

  private fail(reason: string): ScramStep {
    this.state = 'ended';
    return { kind: 'failed', reason };
  }

  private clientFirst(text: string): ScramStep {
    // gs2-header: "n" (no channel binding) or "y"; "p=…" (binding asked) is refused, as Kafka does. Then an optional authzid.
    const match = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
    if (match === null) return this.fail('the client-first message has no valid gs2 header (channel binding is not supported)');
    this.gs2Header = `${match[1]},${match[2] ?? ''},`;
    this.clientFirstBare = match[3]!;
    const attributes = this.clientFirstBare.split(',');
    if (attributes.length < 2 || !attributes[0]!.startsWith('n=') || !attributes[1]!.startsWith('r=')) return this.fail('the client-first message does not start with n=…,r=…');
    const user = decodeSaslName(attributes[0]!.slice(2));
    if (user === null || user === '') return this.fail('the user name is not a valid saslname');
    const clientNonce = attributes[1]!.slice(2);
    if (!PRINTABLE.test(clientNonce)) return this.fail('the client nonce is empty or not printable');
    // Extensions (Kafka's tokenauth=true for delegation tokens) are not served: delegation tokens are not.
    for (const extension of attributes.slice(2)) {
      if (extension.startsWith('tokenauth=')) return this.fail('delegation token authentication is not served');
    }
    if (match[2] !== undefined && match[2] !== `a=${attributes[0]!.slice(2)}`) return this.fail('an authorization id other than the user name');
    this.user = user;
    const credential = this.lookup(user);
    this.known = credential !== undefined;
    this.credential = credential ?? decoyCredential(this.mechanism, user);
    if (this.credential.iterations < SCRAM_ITERATIONS_MIN || this.credential.iterations > SCRAM_ITERATIONS_MAX) return this.fail(`the stored credential has ${this.credential.iterations} iterations`);
    this.nonce = clientNonce + this.serverNonce();
    this.serverFirst = `r=${this.nonce},s=${this.credential.salt.toString('base64')},i=${this.credential.iterations}`;
    this.state = 'final';
    return { kind: 'challenge', message: Buffer.from(this.serverFirst, 'utf8') };
  }

  private clientFinal(text: string): ScramStep {
    const match = /^c=([^,]*),r=([^,]*)(?:,[^,]*)*?,p=([A-Za-z0-9+/]*={0,2})$/s.exec(text);
    if (match === null) return this.fail('the client-final message is not c=…,r=…[,…],p=…');
    if (Buffer.from(match[1]!, 'base64').toString('utf8') !== this.gs2Header) return this.fail('the channel binding does not repeat the gs2 header');
    // Kafka's check is endsWith, not equality: librdkafka (2.0.2 at least) sends its own nonce
    // again before the whole nonce the server sent. The proof covers the message either way.
    if (!match[2]!.endsWith(this.nonce)) return this.fail('the nonce does not end with the one the server sent');
    const credential = this.credential!;
    const withoutProof = text.slice(0, text.lastIndexOf(',p='));
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.mechanism, credential.storedKey, authMessage);
    const proof = Buffer.from(match[3]!, 'base64');
    if (proof.length !== clientSignature.length) return this.fail('the proof has the wrong length');
    const clientKey = Buffer.alloc(proof.length);
    for (let index = 0; index < proof.length; index++) clientKey[index] = proof[index]! ^ clientSignature[index]!;
    const matches = timingSafeEqual(hash(this.mechanism, clientKey), credential.storedKey);
    if (!matches || !this.known) return this.fail(this.known ? 'the proof does not match the stored key (wrong password)' : 'no such user');
    this.state = 'ended';
    const serverSignature = hmac(this.mechanism, credential.serverKey, authMessage);
    return { kind: 'done', message: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'), user: this.user };
  }
}
