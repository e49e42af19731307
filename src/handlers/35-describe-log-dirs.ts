// DescribeLogDirs (key 35), versions 0-4: each log directory with its partitions' sizes
// (offset lag is 0: there are no future replicas), and from v4 the file system's total
// and usable bytes. A null topic list means every partition. The work is the admin
// layer's (admin/admin.ts `describeLogDirs`).

import { describeLogDirsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const describeLogDirsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 4,
  schema: describeLogDirsApi,
  async handle(request, context) {
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
