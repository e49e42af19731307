// SaslHandshake (key 17), versions 0-1: the client names the SASL mechanism it will use on a
// SASL listener (security/sasl-session.ts). NONE and the listener's mechanisms when it is
// enabled; UNSUPPORTED_SASL_MECHANISM (with the list) when not, and the connection is closed
// after the answer, as Kafka does. After v0 the exchange goes on in raw token frames; after v1
// in SaslAuthenticate requests. On a listener without SASL it is ILLEGAL_SASL_STATE.

import { saslHandshakeApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const saslHandshakeHandler = defineHandler({
  minVersion: 0,
  maxVersion: 1,
  schema: saslHandshakeApi,
  authorizes: true, // needs no authorization (Kafka serves it before authentication too)
  handle(request, context) {
    return context.session.handshake(request.mechanism, context.apiVersion);
  },
});
