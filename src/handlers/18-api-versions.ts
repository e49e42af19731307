// ApiVersions (key 18), versions 0-3.
// The advertised ranges come from the handler registry. An unknown version is answered
// by the connection with a v0 response carrying UNSUPPORTED_VERSION (KIP-511), and the
// response header is always v0, even for flexible versions (protocol/header.ts).
// Not served: supported/finalized features (Spate has no feature flags).

import { apiVersionsApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { defineHandler } from './handler.js';

export const apiVersionsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 3,
  schema: apiVersionsApi,
  authorizes: true, // needs no authorization (Kafka serves it before authentication too)
  handle(_request, context) {
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: context.broker.apiVersions(),
      throttleTimeMs: 0,
    };
  },
});
