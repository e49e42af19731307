// DescribeLogDirs (key 35), versions 0-4: each log directory with its partitions' sizes
// (offset lag is 0: there are no future replicas), and from v4 the file system's total
// and usable bytes. A null topic list means every partition.

import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode } from '../protocol/errors.js';
import type { DescribeLogDirsResult } from '../protocol/generated/describe-log-dirs-response.js';
import { describeLogDirsApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { defineHandler } from './handler.js';

export const describeLogDirsHandler = defineHandler({
  apiKey: 35,
  minVersion: 0,
  maxVersion: 4,
  schema: describeLogDirsApi,
  async handle(request, context) {
    const broker = context.broker;
    const statuses = await broker.partitions.status();
    const wanted = request.topics === null ? null : new Map(request.topics.map((topic) => [topic.topic, new Set(topic.partitions)]));
    const results = await Promise.all(
      broker.config.logDirs.map(async (logDir): Promise<Encodable<DescribeLogDirsResult>> => {
        const byTopic = new Map<string, { partitionIndex: number; partitionSize: number; offsetLag: number; isFutureKey: boolean }[]>();
        for (const status of statuses) {
          if (status.dir !== join(logDir, `${status.topic}-${status.partition}`)) continue;
          if (wanted !== null && !(wanted.get(status.topic)?.has(status.partition) ?? false)) continue;
          const list = byTopic.get(status.topic) ?? [];
          list.push({ partitionIndex: status.partition, partitionSize: status.sizeBytes, offsetLag: 0, isFutureKey: false });
          byTopic.set(status.topic, list);
        }
        let totalBytes = -1;
        let usableBytes = -1;
        try {
          const stats = await statfs(logDir);
          totalBytes = stats.blocks * stats.bsize;
          usableBytes = stats.bavail * stats.bsize;
        } catch (error) {
          broker.logger.warn(`statfs ${logDir}: ${(error as Error).message}`);
        }
        return {
          errorCode: ErrorCode.NONE,
          logDir,
          topics: [...byTopic].map(([name, partitions]) => ({ name, partitions: partitions.sort((a, b) => a.partitionIndex - b.partitionIndex) })),
          totalBytes,
          usableBytes,
        };
      }),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results };
  },
});
