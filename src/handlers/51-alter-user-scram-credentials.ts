// AlterUserScramCredentials (key 51), version 0 (KIP-554): SCRAM credentials deleted and
// upserted, per user, all of a user's changes or none (security/user-credentials.ts). The
// client sends the salt and the salted password, never the password; the broker keeps the
// stored and server keys derived from them. Kafka's checks and codes: UNSUPPORTED_SASL_MECHANISM,
// UNACCEPTABLE_CREDENTIAL (empty name, iterations outside 4096-16384), DUPLICATE_RESOURCE,
// RESOURCE_NOT_FOUND (deleting what is not there). Kafka requires ALTER on the cluster; Spate
// has no authorizer yet.

import { alterUserScramCredentialsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const alterUserScramCredentialsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 0,
  schema: alterUserScramCredentialsApi,
  async handle(request, context) {
    const results = await context.broker.credentials.alter(request.deletions, request.upsertions);
    return { throttleTimeMs: 0, results };
  },
});
