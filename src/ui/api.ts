// The admin API (/api/v1/…, docs/admin-api.md) from the browser: JSON in and out, the login token
// sent as a bearer token, and every failure an ApiError carrying Kafka's error name and message.

import { session, signOut } from './session.ts';

/** A failed call: the HTTP status, Kafka's error name (or the API's own) and the message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Marks a request as the page's own: the broker then answers a 401 without a Basic challenge,
 * which would make the browser show its password prompt over the UI.
 */
export const PAGE_REQUEST = { 'x-requested-with': 'spate-ui' } as const;

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Calls the admin API as the logged-in user; a 401 (an expired token) signs out. */
export async function api<T>(method: Method, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...PAGE_REQUEST };
  const token = session.value?.token;
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body), signal: signal ?? null });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK_EXCEPTION', `the broker did not answer (${error instanceof Error ? error.message : String(error)})`);
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!response.ok) {
    const { error, message } = (parsed ?? {}) as { error?: unknown; message?: unknown };
    if (response.status === 401 && token !== undefined) signOut('your login expired: log in again');
    throw new ApiError(response.status, typeof error === 'string' ? error : `HTTP_${response.status}`, typeof message === 'string' ? message : response.statusText);
  }
  return parsed as T;
}

/** What the user reads of a failure: Kafka's error name and its message in words. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message === '' || error.message === error.error ? error.error : `${error.error}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A path segment, escaped. */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}
