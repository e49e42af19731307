// AlterUserScramCredentials (key 51), version 0 (KIP-554): SCRAM credentials deleted and
// upserted, per user, all of a user's changes or none (security/user-credentials.ts). The
// client sends the salt and the salted password, never the password; the broker keeps the
// stored and server keys derived from them. Kafka's checks and codes: UNSUPPORTED_SASL_MECHANISM,
// UNACCEPTABLE_CREDENTIAL (empty name, iterations outside 4096-16384), DUPLICATE_RESOURCE,
// RESOURCE_NOT_FOUND (deleting what is not there). Needs ALTER on the cluster
// (CLUSTER_AUTHORIZATION_FAILED for every user named), as Kafka's does.

import { alterUserScramCredentialsApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { mayAlterCluster } from './acl-checks.js';
import { defineHandler } from './handler.js';

export const alterUserScramCredentialsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 0,
  schema: alterUserScramCredentialsApi,
  authorizes: true,
  async handle(request, context) {
    if (!mayAlterCluster(context)) {
      const users = [...new Set([...request.deletions, ...request.upsertions].map((alteration) => alteration.name))];
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'AlterUserScramCredentials needs ALTER on the cluster' })) };
    }
    const results = await context.broker.credentials.alter(request.deletions, request.upsertions);
    return { throttleTimeMs: 0, results };
  },
});
