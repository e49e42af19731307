// `spate delete-records <topic> --partition N --offset N`: DeleteRecords — moves the
// partition's log start offset up to N (records below it are gone for consumers;
// whole segments below it are deleted). --offset -1 means the high watermark (all).

import { withClient, type Command } from './command.js';
import { BrokerError, UsageError } from './errors.js';
import { printLine } from './output.js';
import { ErrorCode } from '../protocol/errors.js';
import { deleteRecordsApi } from '../protocol/generated/index.js';

export const deleteRecords: Command = {
  spec: {
    name: 'delete-records',
    summary: 'Delete the records of a partition below an offset (advances its log start offset).',
    synopsis: 'delete-records <topic> --partition N --offset N',
    details: '--offset -1 deletes every record up to the high watermark. Prints the new log start offset (low watermark).',
    options: [
      { name: 'partition', kind: 'value', valueName: 'N', help: 'the partition (required)' },
      { name: 'offset', kind: 'value', valueName: 'N', help: 'the new log start offset, or -1 for the high watermark (required)' },
    ],
    minPositionals: 1,
    maxPositionals: 1,
  },
  async run(args, context) {
    const topic = args.positionals[0]!;
    const partition = args.optionalInt('partition', 0, 2_147_483_647);
    const offset = args.optionalInt('offset', -1);
    if (partition === undefined || offset === undefined) throw new UsageError('delete-records needs --partition N and --offset N');
    const { body } = await withClient(context, (client) =>
      client.request(deleteRecordsApi, {
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset }] }],
        timeoutMs: context.timeoutMs,
      }),
    );
    const result = body.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition);
    const subject = `partition ${partition} of topic "${topic}"`;
    if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the broker answered without the partition', subject);
    if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, null, subject);
    printLine(`Partition ${partition} of ${topic}: log start offset is now ${result.lowWatermark}.`);
    return 0;
  },
};
