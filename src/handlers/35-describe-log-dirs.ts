// DescribeLogDirs (key 35), versions 0-4: each log directory with its partitions' sizes
// (offset lag is 0: there are no future replicas), and from v4 the file system's total
// and usable bytes. A null topic list means every partition. The work is the admin
// layer's (admin/admin.ts `describeLogDirs`). Kafka's check: DESCRIBE on the cluster (else no
// log dirs, and from v3 CLUSTER_AUTHORIZATION_FAILED).

import { describeLogDirsApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { mayDescribeCluster } from './acl-checks.js';
import { defineHandler } from './handler.js';

export const describeLogDirsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 4,
  schema: describeLogDirsApi,
  authorizes: true,
  async handle(request, context) {
    if (!mayDescribeCluster(context)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    const wanted = request.topics === null ? null : new Map(request.topics.map((topic) => [topic.topic, new Set(topic.partitions)]));
    const logDirs = await context.broker.admin.describeLogDirs(wanted);
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      results: logDirs.map((logDir) => ({
        ...logDir,
        topics: logDir.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((partition) => ({ ...partition, offsetLag: 0, isFutureKey: false })),
        })),
      })),
    };
  },
});
