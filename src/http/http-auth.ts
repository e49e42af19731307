// Who an HTTP request or WebSocket is from: the broker's own users (the SCRAM credentials of
// `spate users`, security/user-credentials.ts), logged in with HTTP Basic or with a token that
// POST /api/v1/login hands out. Kafka has no HTTP side; this is its SASL PLAIN login over HTTP.
//
// - A password travels in clear over http://, so password logins are accepted only over https or
//   from a loopback peer; elsewhere they are refused as failed logins (the reason logged).
// - A failed login is answered after connection.failed.authentication.delay.ms, as a failed SASL
//   login is, and never says whether the user or the password was wrong.
// - Tokens are 32 random bytes, good for limits.httpTokenLifetimeMs, held by this broker only (a
//   cluster's brokers each hand out their own), at most limits.httpTokensMax (past it the oldest
//   is forgotten). A deleted user's token stops working at once: its credentials are checked
//   again on every use.
// - Without an authorizer every request is allowed anyway, so a request without credentials is
//   User:ANONYMOUS, as on a PLAINTEXT listener; with one, it must log in.

import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { limits } from '../config/limits.js';
import type { BrokerServices } from '../handlers/handler.js';
import { ANONYMOUS, checkPassword } from '../security/sasl-session.js';

export type HttpLogin =
  | { readonly kind: 'user'; readonly principal: string }
  /** No credentials, and the broker has no authorizer: ANONYMOUS. */
  | { readonly kind: 'anonymous'; readonly principal: string }
  /** No credentials where they are needed. */
  | { readonly kind: 'missing' }
  /** Wrong credentials (after the failed-login delay); `reason` is for the log only. */
  | { readonly kind: 'failed'; readonly reason: string };

/** Where a login comes from: a password may only travel over TLS or from the same machine. */
export interface LoginOrigin {
  readonly secure: boolean;
  readonly remoteAddress: string;
}

interface Token {
  readonly user: string;
  readonly expiresAtMs: number;
}

export class HttpAuthenticator {
  /** Tokens in the order they were made (a Map keeps insertion order: the first is the oldest). */
  private readonly tokens = new Map<string, Token>();

  constructor(private readonly services: BrokerServices) {}

  /** Whether a request without credentials is served (as ANONYMOUS): only without an authorizer. */
  get anonymousAllowed(): boolean {
    return !this.services.authorizer.enabled;
  }

  /** The login an `Authorization` header carries: `Basic base64(user:password)` or `Bearer <token>`. */
  async fromHeader(authorization: string | undefined, origin: LoginOrigin): Promise<HttpLogin> {
    if (authorization === undefined || authorization === '') return this.anonymousAllowed ? { kind: 'anonymous', principal: ANONYMOUS } : { kind: 'missing' };
    const space = authorization.indexOf(' ');
    const scheme = (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : authorization.slice(space + 1).trim();
    if (scheme === 'bearer') return this.withToken(value);
    if (scheme === 'basic') {
      const credentials = basicCredentials(value);
      if (credentials === null) return this.failed('a Basic credential without a colon');
      return this.withPassword(credentials.username, credentials.password, origin);
    }
    return this.failed(`an Authorization scheme other than Basic or Bearer`);
  }

  /** A user name and password (Basic, a WebSocket's auth message, POST /api/v1/login). */
  async withPassword(user: string, password: string, origin: LoginOrigin): Promise<HttpLogin> {
    if (!origin.secure && !isLoopback(origin.remoteAddress)) return this.failed(`a password sent over plain HTTP from ${origin.remoteAddress} (use https)`);
    if (user === '' || password === '' || user.length > 1024 || password.length > 1024) return this.failed('an empty or oversized user name or password');
    const failure = await checkPassword(this.services.credentials, user, password);
    if (failure !== null) return this.failed(`${failure} for user "${user}"`);
    return { kind: 'user', principal: `User:${user}` };
  }

  /** A token from login(), while it lasts and its user still exists. */
  async withToken(token: string): Promise<HttpLogin> {
    const entry = this.tokens.get(token);
    if (entry === undefined) return this.failed('an unknown token');
    if (entry.expiresAtMs <= Date.now()) {
      this.tokens.delete(token);
      return this.failed(`an expired token of user "${entry.user}"`);
    }
    if (!this.userExists(entry.user)) {
      this.tokens.delete(token);
      return this.failed(`a token of user "${entry.user}", who no longer exists`);
    }
    return { kind: 'user', principal: `User:${entry.user}` };
  }

  /** Checks a password and hands out a token for the user, or answers why not. */
  async login(user: string, password: string, origin: LoginOrigin): Promise<{ readonly token: string; readonly expiresAtMs: number; readonly principal: string } | HttpLogin> {
    const checked = await this.withPassword(user, password, origin);
    if (checked.kind !== 'user') return checked;
    const now = Date.now();
    for (const [token, entry] of this.tokens) {
      if (this.tokens.size < limits.httpTokensMax && entry.expiresAtMs > now) break;
      this.tokens.delete(token);
    }
    const token = randomBytes(32).toString('base64url');
    const expiresAtMs = now + limits.httpTokenLifetimeMs;
    this.tokens.set(token, { user, expiresAtMs });
    return { token, expiresAtMs, principal: checked.principal };
  }

  /** Forgets a token (POST /api/v1/logout). */
  logout(token: string): void {
    this.tokens.delete(token);
  }

  private userExists(user: string): boolean {
    const credentials = this.services.credentials;
    return credentials.credential(user, 'SCRAM-SHA-512') !== undefined || credentials.credential(user, 'SCRAM-SHA-256') !== undefined;
  }

  private async failed(reason: string): Promise<HttpLogin> {
    const delayMs = this.services.config.security.failedAuthenticationDelayMs;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return { kind: 'failed', reason };
  }
}

/** A Basic credential's user and password (base64 of `user:password`); null without the colon. */
export function basicCredentials(value: string): { readonly username: string; readonly password: string } | null {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** What a failed HTTP login is told, whatever failed: Kafka's one message for a failed SASL login. */
export const FAILED_LOGIN_MESSAGE = 'Authentication failed: Invalid username or password';

/** Whether the peer is this machine (a password may travel in clear from it). */
export function isLoopback(address: string): boolean {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}
