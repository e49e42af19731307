// Who is logged in: the token from POST /api/v1/login, kept in sessionStorage so a reload (or a
// bookmarked URL opened in the same tab) stays logged in, and forgotten at logout or expiry.

import { PAGE_REQUEST } from './api.ts';
import { signal } from './signal.ts';

export interface Session {
  /** Absent for User:ANONYMOUS on a broker without an authorizer (no login needed there). */
  readonly token?: string;
  readonly principal: string;
  readonly expiresAt: string;
}

const KEY = 'spate.session';

function stored(): Session | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    if (value === null || Date.parse(value.expiresAt) <= Date.now()) return null;
    return value;
  } catch {
    return null;
  }
}

export const session = signal<Session | null>(stored());
/** Why the user was signed out, shown on the login form. */
export const signOutReason = signal<string | null>(null);

/**
 * Without a stored login, asks the broker who a request without credentials is: on a broker
 * without an authorizer it is User:ANONYMOUS, and the UI needs no login form.
 */
export async function resumeAnonymous(): Promise<void> {
  if (session.value !== null) return;
  const response = await fetch('/api/v1/whoami', { headers: PAGE_REQUEST }).catch(() => null);
  if (response === null || !response.ok) return;
  const body = (await response.json().catch(() => ({}))) as { principal?: string };
  if (session.value === null && typeof body.principal === 'string') session.value = { principal: body.principal, expiresAt: new Date(8.64e15).toISOString() };
}

export async function logIn(username: string, password: string): Promise<void> {
  const response = await fetch('/api/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...PAGE_REQUEST },
    body: JSON.stringify({ username, password }),
  });
  const body = (await response.json().catch(() => ({}))) as { token?: string; principal?: string; expiresAt?: string; error?: string; message?: string };
  if (!response.ok || body.token === undefined) throw new Error(body.error !== undefined ? `${body.error}: ${body.message ?? ''}` : `login failed (HTTP ${response.status})`);
  const next: Session = { token: body.token, principal: body.principal ?? `User:${username}`, expiresAt: body.expiresAt ?? new Date(Date.now() + 3_600_000).toISOString() };
  sessionStorage.setItem(KEY, JSON.stringify(next));
  signOutReason.value = null;
  session.value = next;
}

export function signOut(reason: string | null = null): void {
  const token = session.value?.token;
  sessionStorage.removeItem(KEY);
  session.value = null;
  signOutReason.value = reason;
  if (token !== undefined && reason === null) void fetch('/api/v1/logout', { method: 'POST', headers: { authorization: `Bearer ${token}`, ...PAGE_REQUEST } }).catch(() => undefined);
}
