// SaslAuthenticate (key 36), versions 0-2: one token of the SASL exchange SaslHandshake v1
// started (security/sasl-session.ts). A challenge or the final server message comes back in
// auth_bytes; v1+ carries session_lifetime_ms once authenticated (connections.max.reauth.ms,
// KIP-368; 0: the session does not expire). A failed login is SASL_AUTHENTICATION_FAILED with
// Kafka's one message, after connection.failed.authentication.delay.ms, and the connection
// is closed after the answer; a token out of turn is ILLEGAL_SASL_STATE, closed likewise.

import { saslAuthenticateApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const saslAuthenticateHandler = defineHandler({
  minVersion: 0,
  maxVersion: 2,
  schema: saslAuthenticateApi,
  authorizes: true, // needs no authorization (Kafka serves it before authentication too)
  handle(request, context) {
    return context.session.authenticate(request.authBytes, Date.now);
  },
});
