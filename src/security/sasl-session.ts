// Who a connection is, and where its SASL exchange stands (Kafka's SaslServerAuthenticator).
//
// A connection on a PLAINTEXT listener is User:ANONYMOUS from the start, one on an SSL listener
// the principal of its client certificate (ANONYMOUS without one). On a SASL listener it
// is nobody until it authenticates: before that only ApiVersions, SaslHandshake and
// SaslAuthenticate are served, and any other request closes the connection (Kafka's
// IllegalSaslStateException). SaslHandshake names a mechanism the listener enables
// (UNSUPPORTED_SASL_MECHANISM otherwise, and the connection is failed); v1 is followed by
// SaslAuthenticate requests, v0 by raw tokens — size-prefixed frames with no request header,
// answered the same way (kafka-python and other old clients). A failed login is answered with
// SASL_AUTHENTICATION_FAILED and Kafka's one message for every cause, after
// connection.failed.authentication.delay.ms, and the connection is closed; the real reason goes
// only to the broker's log.
//
// With connections.max.reauth.ms (KIP-368) a session lasts that long: SaslAuthenticate v1+
// tells the client, the client re-authenticates on the same connection (SaslHandshake and
// SaslAuthenticate again, as the same user with the same mechanism), and a connection past its
// session's end is closed at its next request other than those.

import type { ListenerSecurity, SaslMechanism, SecuritySettings } from '../config/broker-config.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { excerpt } from '../protocol/string-limits.js';
import { isScramMechanism, passwordMatches, saltPassword, ScramServer, SCRAM_ITERATIONS_DEFAULT, type ScramMechanism } from './scram.js';
import type { UserCredentials } from './user-credentials.js';

export const ANONYMOUS = 'User:ANONYMOUS';

/** A step of a SASL exchange: a challenge, success (with the server's last message), or failure (the reason is for the log). */
type Exchanged = { readonly kind: 'challenge'; readonly message: Buffer } | { readonly kind: 'done'; readonly message: Buffer; readonly user: string } | { readonly kind: 'failed'; readonly reason: string };

interface SaslExchange {
  step(token: Buffer): Exchanged | Promise<Exchanged>;
}

/** PLAIN (RFC 4616): `authzid NUL authcid NUL password` in one message, checked against the user's stored SCRAM credential. */
class PlainExchange implements SaslExchange {
  private done = false;
  constructor(private readonly credentials: UserCredentials) {}

  async step(token: Buffer): Promise<Exchanged> {
    if (this.done) return { kind: 'failed', reason: 'a PLAIN message after the exchange ended' };
    this.done = true;
    const parts = token.toString('utf8').split('\u0000');
    if (parts.length !== 3) return { kind: 'failed', reason: 'the PLAIN message is not authzid NUL user NUL password' };
    const [authzid, user, password] = parts as [string, string, string];
    if (user === '' || password === '') return { kind: 'failed', reason: 'an empty user name or password' };
    // Kafka's PlainSaslServer: an authorization id, if given, must be the user.
    if (authzid !== '' && authzid !== user) return { kind: 'failed', reason: 'an authorization id other than the user name' };
    const failure = await checkPassword(this.credentials, user, password);
    return failure === null ? { kind: 'done', message: Buffer.alloc(0), user } : { kind: 'failed', reason: failure };
  }
}

/**
 * Checks a user's password against the stored SCRAM credential (SHA-512 first), as PLAIN logins
 * and the HTTP side's logins do: null when it matches, else the reason (for the log only). An
 * unknown user costs as long as a real check, so the time taken does not tell it from a wrong password.
 */
export async function checkPassword(credentials: UserCredentials, user: string, password: string): Promise<string | null> {
  for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256'] as const) {
    const credential = credentials.credential(user, mechanism);
    if (credential === undefined) continue;
    return (await passwordMatches(mechanism, credential, password)) ? null : 'wrong password';
  }
  await saltPassword('SCRAM-SHA-512', password, Buffer.alloc(64), SCRAM_ITERATIONS_DEFAULT);
  return 'no such user';
}

export interface SaslServices {
  readonly credentials: UserCredentials;
  readonly settings: () => SecuritySettings;
  /** Log lines for the broker (never sent to the client). */
  readonly log: (message: string) => void;
  /** Told of each failed login, by listener (the failed-authentication metric). */
  readonly failed?: (listener: string) => void;
}

export interface AuthenticateOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly authBytes: Buffer;
  readonly sessionLifetimeMs: number;
}

type State = 'handshake' | 'authenticate' | 'complete' | 'failed';

export class ConnectionSession {
  private state: State;
  private principalName: string;
  private mechanism: SaslMechanism | null = null;
  private exchange: SaslExchange | null = null;
  /** SaslHandshake v0 was used: the tokens come as raw frames. */
  private raw = false;
  /** When the session ends (KIP-368), or null for never. */
  private expiresAtMs: number | null = null;
  private reauthenticating = false;

  constructor(
    readonly listener: string,
    readonly security: ListenerSecurity,
    private readonly services: SaslServices | null,
    private readonly peer: string,
    /** The client's address, as ACLs name hosts. */
    readonly clientHost: string = peer.replace(/:\d+$/, ''),
    /** On an SSL listener: the principal of the client's certificate (security/tls.ts), ANONYMOUS without one. */
    certificatePrincipal: string = ANONYMOUS,
  ) {
    const sasl = security.protocol === 'SASL_PLAINTEXT' || security.protocol === 'SASL_SSL';
    this.state = sasl ? 'handshake' : 'complete';
    // SASL_SSL: the SASL login names the principal, whatever certificate the client showed (as in Kafka).
    this.principalName = sasl ? '' : security.protocol === 'SSL' ? certificatePrincipal : ANONYMOUS;
  }

  /**
   * A session already logged in as `principal`, for requests that reach the handlers without a
   * Kafka connection: the HTTP side's, whose users log in with HTTP Basic or a token
   * (http/http-auth.ts), checked against the same credentials.
   */
  static established(listener: string, principal: string, clientHost: string): ConnectionSession {
    return new ConnectionSession(listener, { protocol: 'SSL', saslMechanisms: [], tls: null }, null, clientHost, clientHost, principal);
  }

  /** "User:<name>", ANONYMOUS on a listener without authentication, '' before a SASL login completes. */
  get principal(): string {
    return this.principalName;
  }

  get authenticated(): boolean {
    return this.state === 'complete';
  }

  /** The largest frame this connection may send now: sasl.server.max.receive.size until it has authenticated, else no bound here. */
  get frameMaxBytes(): number {
    return this.state === 'complete' || this.services === null ? Number.MAX_SAFE_INTEGER : this.services.settings().saslServerMaxReceiveSize;
  }

  /** The next frame is a raw SASL token (after SaslHandshake v0), not a request. */
  get expectsRawToken(): boolean {
    return this.raw && this.state === 'authenticate';
  }

  /** Whether a request of this API may be served now; false closes the connection (Kafka closes it too). */
  allows(apiKey: number, nowMs: number): boolean {
    const saslApi = apiKey === ApiKey.SaslHandshake || apiKey === ApiKey.SaslAuthenticate;
    if (this.state === 'complete' && !this.reauthenticating) {
      if (this.expiresAtMs !== null && nowMs >= this.expiresAtMs && !saslApi) return false;
      return true;
    }
    if (this.state === 'failed') return false;
    return apiKey === ApiKey.ApiVersions || saslApi;
  }

  /** Why `allows` refused, for the log line. */
  refusal(apiKey: number, nowMs: number): string {
    if (this.state === 'complete' && this.expiresAtMs !== null && nowMs >= this.expiresAtMs) return 'its SASL session expired (connections.max.reauth.ms) without re-authentication';
    if (this.state === 'failed') return 'its authentication failed';
    return `API ${apiKey} before SASL authentication completed`;
  }

  /** SaslHandshake: NONE when the mechanism is enabled here (then SaslAuthenticate or raw tokens follow). */
  handshake(mechanism: string, version: number): { errorCode: number; mechanisms: string[] } {
    const enabled = [...this.security.saslMechanisms];
    // A listener without SASL: answered, and nothing changes (Kafka's answer to a handshake there).
    if (this.services === null || enabled.length === 0) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: enabled };
    const reauth = this.state === 'complete';
    if (reauth) {
      // KIP-368: only when sessions expire, only with SaslHandshake v1+ (v0's raw tokens cannot follow a request), with the same mechanism.
      if (this.services.settings().maxReauthMs <= 0 || version < 1 || mechanism !== this.mechanism) {
        this.fail(`a re-authentication ${this.services.settings().maxReauthMs <= 0 ? 'while connections.max.reauth.ms is 0' : version < 1 ? 'with SaslHandshake v0' : `with another mechanism (${excerpt(mechanism)} after ${this.mechanism})`}`);
        return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: enabled };
      }
    } else if (this.state !== 'handshake') {
      this.fail('a second SaslHandshake before the first exchange ended');
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: enabled };
    }
    if (!(enabled as string[]).includes(mechanism)) {
      this.fail(`mechanism ${excerpt(mechanism)} is not enabled on listener ${this.listener}`);
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: enabled };
    }
    this.mechanism = mechanism as SaslMechanism;
    const credentials = this.services.credentials;
    this.exchange = isScramMechanism(mechanism) ? new ScramServer(mechanism as ScramMechanism, (user) => credentials.credential(user, mechanism as ScramMechanism)) : new PlainExchange(credentials);
    this.raw = version === 0;
    this.reauthenticating = reauth;
    this.state = 'authenticate';
    return { errorCode: ErrorCode.NONE, mechanisms: enabled };
  }

  /**
   * One token of the exchange (SaslAuthenticate's auth_bytes, or a raw frame after v0). A
   * failure is answered only after connection.failed.authentication.delay.ms; the caller
   * closes the connection after it (`failed`).
   */
  async authenticate(token: Buffer, nowMs: () => number): Promise<AuthenticateOutcome> {
    const outcome = (errorCode: number, errorMessage: string | null, authBytes: Buffer = Buffer.alloc(0), sessionLifetimeMs = 0): AuthenticateOutcome => ({ errorCode, errorMessage, authBytes, sessionLifetimeMs });
    if (this.security.saslMechanisms.length === 0) return outcome(ErrorCode.ILLEGAL_SASL_STATE, `listener ${this.listener} does not use SASL`);
    if (this.state !== 'authenticate' || this.exchange === null || this.services === null) {
      this.fail('SaslAuthenticate before a successful SaslHandshake');
      return outcome(ErrorCode.ILLEGAL_SASL_STATE, 'Unexpected SaslAuthenticate request: the SASL handshake has not completed');
    }
    const exchange = this.exchange;
    const step = await exchange.step(token);
    const failedMessage = `Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`;
    // A token pipelined behind this one failed the exchange while this one was being checked
    // (PLAIN's PBKDF2 runs on the thread pool): the exchange is over, this step cannot complete it.
    if (this.exchange !== exchange) return outcome(ErrorCode.SASL_AUTHENTICATION_FAILED, failedMessage);
    if (step.kind === 'challenge') return outcome(ErrorCode.NONE, null, step.message);
    const principal = step.kind === 'done' ? `User:${step.user}` : null;
    if (step.kind === 'failed' || (this.reauthenticating && principal !== this.principalName)) {
      const reason = step.kind === 'failed' ? step.reason : `re-authenticated as ${excerpt(principal!)}, not ${excerpt(this.principalName)}`;
      this.fail(`${this.mechanism} login failed: ${reason}`);
      await new Promise((resolve) => setTimeout(resolve, this.services!.settings().failedAuthenticationDelayMs));
      return outcome(ErrorCode.SASL_AUTHENTICATION_FAILED, failedMessage);
    }
    this.principalName = principal!;
    this.state = 'complete';
    this.reauthenticating = false;
    this.exchange = null;
    const lifetimeMs = this.services.settings().maxReauthMs;
    this.expiresAtMs = lifetimeMs > 0 ? nowMs() + lifetimeMs : null;
    return outcome(ErrorCode.NONE, null, step.message, lifetimeMs);
  }

  /** Authentication failed: nothing but the close is served from here on. */
  get failed(): boolean {
    return this.state === 'failed';
  }

  private fail(reason: string): void {
    this.state = 'failed';
    this.exchange = null;
    this.services?.log(`authentication of ${this.peer} on listener ${this.listener} failed: ${reason}`);
    this.services?.failed?.(this.listener);
  }
}
