// DescribeUserScramCredentials (key 50), version 0 (KIP-554): the SCRAM mechanisms and
// iteration counts of the named users (null: every user with a credential), never a key.
// An unknown user is RESOURCE_NOT_FOUND, a user named twice DUPLICATE_RESOURCE, as Kafka
// answers. Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED), as Kafka's does.

import { describeUserScramCredentialsApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { mayDescribeCluster } from './acl-checks.js';
import { defineHandler } from './handler.js';

export const describeUserScramCredentialsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 0,
  schema: describeUserScramCredentialsApi,
  authorizes: true,
  handle(request, context) {
    if (!mayDescribeCluster(context)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'DescribeUserScramCredentials needs DESCRIBE on the cluster', results: [] };
    const results = context.broker.credentials.describe(request.users === null ? null : request.users.map((user) => user.name));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results: results.map((result) => ({ ...result, credentialInfos: [...result.credentialInfos] })) };
  },
});
