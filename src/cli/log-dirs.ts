// `spate log-dirs [--topic NAME]…`: DescribeLogDirs — each data directory of the broker
// with its partitions' sizes, and (v4+) the file system's total and usable bytes.

import { jsonOption, withClient, type Command } from './command.js';
import { BrokerError } from './errors.js';
import { formatBytes, formatTable, printJson, printLine } from './output.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { describeLogDirsApi } from '../protocol/generated/index.js';

export const logDirs: Command = {
  spec: {
    name: 'log-dirs',
    summary: 'Show the broker\'s log directories: each partition\'s size on disk, and the disk\'s total and usable bytes.',
    synopsis: 'log-dirs [--topic NAME]… [--json]',
    options: [{ name: 'topic', kind: 'list', valueName: 'NAME', help: 'only these topics (default: every partition)' }, jsonOption],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const topics = args.list('topic');
    const body = await withClient(context, async (client) => {
      let wanted: { topic: string; partitions: number[] }[] | null = null;
      if (topics.length > 0) {
        const metadata = await client.metadata(topics);
        wanted = metadata.topics.map((topic) => {
          if (topic.errorCode !== ErrorCode.NONE) throw new BrokerError(topic.errorCode, null, `topic "${topic.name}"`);
          return { topic: topic.name ?? '', partitions: topic.partitions.map((partition) => partition.partitionIndex) };
        });
      }
      return (await client.request(describeLogDirsApi, { topics: wanted })).body;
    });
    if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, 'DescribeLogDirs');
    const dirs = body.results.map((dir) => ({
      logDir: dir.logDir,
      error: dir.errorCode === ErrorCode.NONE ? null : errorName(dir.errorCode),
      totalBytes: dir.totalBytes,
      usableBytes: dir.usableBytes,
      partitions: dir.topics
        .flatMap((topic) =>
          topic.partitions.map((partition) => ({
            topic: topic.name,
            partition: partition.partitionIndex,
            sizeBytes: partition.partitionSize,
            offsetLag: partition.offsetLag,
            isFuture: partition.isFutureKey,
          })),
        )
        .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
    }));
    if (args.flag('json')) {
      printJson(dirs);
      return 0;
    }
    const blocks = dirs.map((dir) => {
      const space = dir.totalBytes < 0 ? '' : `  (total ${formatBytes(dir.totalBytes)}, usable ${formatBytes(dir.usableBytes)})`;
      const lines = [`${dir.logDir}${space}${dir.error === null ? '' : `  error: ${dir.error}`}`];
      if (dir.partitions.length === 0) lines.push('  (no partitions)');
      else {
        const rows = dir.partitions.map((p) => [p.topic, p.partition, p.sizeBytes, formatBytes(p.sizeBytes), p.offsetLag]);
        const table = formatTable(['TOPIC', 'PARTITION', 'SIZE', 'HUMAN', 'OFFSET-LAG'], rows);
        lines.push(...table.split('\n').map((line) => `  ${line}`));
      }
      return lines.join('\n');
    });
    printLine(blocks.join('\n\n'));
    return 0;
  },
};
