// SCRAM's client side (RFC 5802, with SHA-256 and SHA-512 as RFC 7677 and Kafka's KIP-84 use
// them): the messages a client sends to log in with a password, and the check that the server
// holds the user's credential too. The project's Kafka client (network/kafka-client.ts) sends
// them in SaslAuthenticate requests.
//
//   client-first   n,,n=<saslname>,r=<client nonce>     no channel binding, no authzid
//   server-first   r=<client nonce><server nonce>,s=<salt>,i=<iterations>
//   client-final   c=biws,r=<nonce>,p=<proof>
//   server-final   v=<server signature>                  checked: a server that does not know the
//                                                         credential cannot make it
//
// As Kafka's ScramSaslClient, the password is used as UTF-8 without SASLprep. A challenge with
// fewer iterations than SCRAM_ITERATIONS_MIN is refused (Kafka refuses it too), and one with more
// than SCRAM_ITERATIONS_MAX as well, so a server cannot make the client spend unbounded time.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, hmac, saltPassword, SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, type ScramMechanism } from './scram.js';

/** The exchange cannot go on: a message out of turn, a challenge that is not valid, or a server signature that does not match. */
export class ScramClientError extends Error {
  override readonly name = 'ScramClientError';
}

/** RFC 5802's saslname: "=" is sent as "=3D" and "," as "=2C" (scram.ts decodes them). */
export function encodeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** base64 of the gs2 header "n,," (no channel binding, no authzid), repeated in client-final's c=. */
const CHANNEL_BINDING = Buffer.from('n,,', 'utf8').toString('base64');
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/; // RFC 5802's printable: %x21-2B / %x2D-7E
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** One SCRAM login: firstMessage, then finalMessage for the server's challenge, then verify of the server's last message. */
export class ScramClient {
  private state: 'first' | 'final' | 'verify' | 'ended' = 'first';
  private readonly clientFirstBare: string;
  private serverSignature: Buffer | null = null;

  constructor(
    readonly mechanism: ScramMechanism,
    user: string,
    private readonly password: string,
    /** The client's nonce (random; given only by tests replaying RFC 7677's example). */
    private readonly clientNonce: string = randomBytes(24).toString('base64'),
  ) {
    if (user === '') throw new ScramClientError('the user name is empty');
    if (!PRINTABLE.test(clientNonce)) throw new ScramClientError('the client nonce is empty or not printable');
    this.clientFirstBare = `n=${encodeSaslName(user)},r=${clientNonce}`;
  }

  /** client-first-message. */
  firstMessage(): Buffer {
    if (this.state !== 'first') throw new ScramClientError('the client-first message was already sent');
    this.state = 'final';
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  /** client-final-message for the server-first-message (the challenge); throws ScramClientError when the challenge is not valid. */
  async finalMessage(challenge: Buffer): Promise<Buffer> {
    if (this.state !== 'final') throw new ScramClientError('a challenge out of turn');
    this.state = 'ended';
    const serverFirst = challenge.toString('utf8');
    const error = /^e=([^,]*)/.exec(serverFirst);
    if (error !== null) throw new ScramClientError(`the server refused the login: ${error[1]}`);
    // RFC 5802: a reserved "m" attribute must fail the exchange; extensions after i= are ignored.
    const match = /^r=([^,]*),s=([^,]*),i=([^,]*)(?:,.*)?$/s.exec(serverFirst);
    if (match === null) throw new ScramClientError(`the server's challenge is not r=…,s=…,i=… ("${serverFirst.slice(0, 80)}")`);
    const [, nonce, saltText, iterationsText] = match as unknown as [string, string, string, string];
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length || !PRINTABLE.test(nonce)) {
      throw new ScramClientError('the server\'s nonce does not extend the client\'s');
    }
    if (saltText === '' || !BASE64.test(saltText)) throw new ScramClientError('the server\'s salt is empty or not base64');
    const iterations = /^\d{1,9}$/.test(iterationsText) ? Number(iterationsText) : Number.NaN;
    if (!(iterations >= SCRAM_ITERATIONS_MIN && iterations <= SCRAM_ITERATIONS_MAX)) {
      throw new ScramClientError(`the server asks for ${iterationsText.slice(0, 20)} iterations; ${SCRAM_ITERATIONS_MIN} to ${SCRAM_ITERATIONS_MAX} are accepted`);
    }
    const saltedPassword = await saltPassword(this.mechanism, this.password, Buffer.from(saltText, 'base64'), iterations);
    const withoutProof = `c=${CHANNEL_BINDING},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientKey = hmac(this.mechanism, saltedPassword, 'Client Key');
    const clientSignature = hmac(this.mechanism, hash(this.mechanism, clientKey), authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let index = 0; index < proof.length; index++) proof[index] = clientKey[index]! ^ clientSignature[index]!;
    this.serverSignature = hmac(this.mechanism, hmac(this.mechanism, saltedPassword, 'Server Key'), authMessage);
    this.state = 'verify';
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Checks the server-final-message; throws ScramClientError unless it carries the server signature the credential gives. */
  verify(serverFinalMessage: Buffer): void {
    if (this.state !== 'verify' || this.serverSignature === null) throw new ScramClientError('a server-final message out of turn');
    this.state = 'ended';
    const serverFinal = serverFinalMessage.toString('utf8');
    const error = /^e=([^,]*)/.exec(serverFinal);
    if (error !== null) throw new ScramClientError(`the server refused the login: ${error[1]}`);
    const match = /^v=([A-Za-z0-9+/]*={0,2})(?:,.*)?$/s.exec(serverFinal);
    if (match === null) throw new ScramClientError('the server\'s final message is not v=…');
    const signature = Buffer.from(match[1]!, 'base64');
    if (signature.length !== this.serverSignature.length || !timingSafeEqual(signature, this.serverSignature)) {
      throw new ScramClientError('the server signature does not match: the server does not hold this user\'s credential');
    }
  }
}
