// /api/v1/users: SCRAM users over operations/users.ts (what `spate users` does): list, create or
// change a password (the salt and the salted password made here, in the broker's main thread, and
// sent as AlterUserScramCredentials as the CLI sends them), delete. A password travels in the
// body, so, as for logins, only over https or from this machine.

import { SCRAM_ITERATIONS_DEFAULT, SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, SCRAM_MECHANISMS, type ScramMechanism } from '../../security/scram.js';
import { deleteUsers, listUsers, setUserPassword } from '../../operations/users.js';
import { isLoopback } from '../http-auth.js';
import type { HttpRequest, HttpServer } from '../http-server.js';
import { ApiError, apiRoute, bodyObject, optionalInteger, optionalString, query, type AdminApiParts } from './api-router.js';

/** A user name's and a password's length at most (the HTTP logins' bound). */
const NAME_CHARS_MAX = 1024;

export function routeUsers(http: HttpServer, parts: AdminApiParts): void {
  apiRoute(http, parts, 'GET', '/api/v1/users', async ({ client }) => {
    const { users, errors } = await listUsers(client, null);
    if (errors.length > 0) throw errors[0]!;
    return { status: 200, body: { users } };
  });

  apiRoute(http, parts, 'POST', '/api/v1/users', async ({ request, client }) => {
    passwordOrigin(request);
    const body = bodyObject(request);
    const name = optionalString('name', body.name);
    const password = optionalString('password', body.password);
    if (name === undefined || name === '' || name.length > NAME_CHARS_MAX) throw new ApiError(`name must be 1 to ${NAME_CHARS_MAX} characters`);
    if (password === undefined || password === '' || password.length > NAME_CHARS_MAX) throw new ApiError(`password must be 1 to ${NAME_CHARS_MAX} characters`);
    const mechanisms = mechanismsOf(body.mechanism) ?? SCRAM_MECHANISMS;
    const iterations = optionalInteger('iterations', body.iterations, SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX) ?? SCRAM_ITERATIONS_DEFAULT;
    await setUserPassword(client, name, password, { mechanisms, iterations });
    return { status: 200, body: { user: name, mechanisms, iterations } };
  });

  apiRoute(http, parts, 'DELETE', '/api/v1/users/:user', async ({ request, client }) => {
    const name = request.params.user!;
    const { deleted, errors } = await deleteUsers(client, [name], mechanismsOf(query(request, 'mechanism')));
    if (errors.length > 0) throw errors[0]!;
    return { status: 200, body: { deleted } };
  });
}

/** A password only over https or from loopback, as http-auth.ts takes logins. */
function passwordOrigin(request: HttpRequest): void {
  if (!request.secure && !isLoopback(request.remoteAddress)) throw new ApiError('a password may only be sent over https (or from this machine)');
}

/** "SCRAM-SHA-256", "SCRAM-SHA-512" or "both"; undefined when absent. */
function mechanismsOf(value: unknown): readonly ScramMechanism[] | null {
  if (value === undefined || value === null) return null;
  const upper = typeof value === 'string' ? value.trim().toUpperCase() : '';
  if (upper === 'BOTH') return SCRAM_MECHANISMS;
  const mechanism = SCRAM_MECHANISMS.find((name) => name === upper);
  if (mechanism === undefined) throw new ApiError('mechanism must be SCRAM-SHA-256, SCRAM-SHA-512 or both');
  return [mechanism];
}
