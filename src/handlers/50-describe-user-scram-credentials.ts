// DescribeUserScramCredentials (key 50), version 0 (KIP-554): the SCRAM mechanisms and
// iteration counts of the named users (null: every user with a credential), never a key.
// An unknown user is RESOURCE_NOT_FOUND, a user named twice DUPLICATE_RESOURCE, as Kafka
// answers. Kafka requires DESCRIBE on the cluster; Spate has no authorizer yet.

import { describeUserScramCredentialsApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { defineHandler } from './handler.js';

export const describeUserScramCredentialsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 0,
  schema: describeUserScramCredentialsApi,
  handle(request, context) {
    const results = context.broker.credentials.describe(request.users === null ? null : request.users.map((user) => user.name));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results: results.map((result) => ({ ...result, credentialInfos: [...result.credentialInfos] })) };
  },
});
