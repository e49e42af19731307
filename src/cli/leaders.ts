// `spate leaders elect --preferred|--unclean (--topic NAME [--partition N] | --all-topic-partitions)`:
// ElectLeaders (KIP-460), as Kafka's kafka-leader-election.sh. The request goes to the
// controller (Metadata names it), as Kafka's AdminClient sends it; a broker that answers
// NOT_CONTROLLER (the controller moved) makes the command ask Metadata again and retry,
// within --timeout-ms. With --topic alone, every partition of the topic.
// Exit 0 when each partition got its leader or needed no election; 1 when any failed.

import { UsageError } from './errors.js';
import { cliClusterAccess, jsonOption, withClient, type Command } from './command.js';
import { BrokerError } from '../network/kafka-client.js';
import { formatTable, printError, printJson, printLine } from './output.js';
import { ErrorCode } from '../protocol/errors.js';
import { electLeaders, electionFailed, type ElectionOutcome } from '../operations/elections.js';

export const leadersElect: Command = {
  spec: {
    name: 'leaders elect',
    summary: 'Elect partition leaders: the preferred replica (the first of the assignment), or, for partitions without a leader, any live replica (unclean).',
    synopsis: 'leaders elect --preferred|--unclean (--topic NAME [--partition N] | --all-topic-partitions) [--json]',
    options: [
      { name: 'preferred', kind: 'flag', help: 'elect the preferred replica where it is alive and in sync' },
      { name: 'unclean', kind: 'flag', help: 'elect a leader for partitions without one, even out of sync (records may be lost)' },
      { name: 'topic', kind: 'value', valueName: 'NAME', help: 'the topic (every partition of it without --partition)' },
      { name: 'partition', kind: 'value', valueName: 'N', help: 'one partition of --topic' },
      { name: 'all-topic-partitions', kind: 'flag', help: 'every partition of the cluster (only those that needed an election are listed)' },
      jsonOption,
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const preferred = args.flag('preferred');
    if (preferred === args.flag('unclean')) throw new UsageError('give exactly one of --preferred and --unclean');
    const topic = args.value('topic');
    const partition = args.optionalInt('partition', 0, 2_147_483_647);
    const all = args.flag('all-topic-partitions');
    if (all === (topic !== undefined)) throw new UsageError('give either --topic or --all-topic-partitions');
    if (partition !== undefined && topic === undefined) throw new UsageError('--partition needs --topic');

    const outcomes: ElectionOutcome[] = await withClient(context, async (client) => {
      let wanted: { topic: string; partitions: number[] }[] | null = null;
      if (topic !== undefined) {
        if (partition !== undefined) wanted = [{ topic, partitions: [partition] }];
        else {
          const described = (await client.metadata([topic])).topics[0];
          if (described === undefined || described.errorCode !== ErrorCode.NONE) throw new BrokerError(described?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, `topic "${topic}"`);
          wanted = [{ topic, partitions: described.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b) }];
        }
      }
      return electLeaders(cliClusterAccess(client, context), preferred ? 'preferred' : 'unclean', wanted, context.timeoutMs);
    });
    const failed = outcomes.filter(electionFailed);
    if (args.flag('json')) printJson(outcomes);
    else if (outcomes.length === 0) printLine('No partition needed an election.');
    else {
      const describe = (o: ElectionOutcome): string => (o.result === 'NONE' ? 'elected' : o.result === 'ELECTION_NOT_NEEDED' ? 'already led by the right replica' : (o.message ?? ''));
      printLine(formatTable(['TOPIC', 'PARTITION', 'RESULT', 'DETAIL'], outcomes.map((o) => [o.topic, o.partition, o.result, describe(o)])));
    }
    for (const o of failed) printError(`${o.result}: ${o.topic}-${o.partition}${o.message === null ? '' : `: ${o.message}`}`);
    return failed.length === 0 ? 0 : 1;
  },
};
