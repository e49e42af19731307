// `spate transactions list|describe|abort|find-hanging`: transactions (KIP-98) as an operator
// sees them, like Kafka's kafka-transactions.sh (KIP-664): the same subcommands, options,
// columns and semantics.
//
// list          ListTransactions at every broker Metadata names (each answers for the
//               transactional ids it coordinates), with Kafka's filters: states, producer
//               ids, and --duration-filter (running longer than, v1).
// describe      FindCoordinator (key type TRANSACTION) and DescribeTransactions there.
// abort         ends a hanging transaction on one partition: WriteTxnMarkers (ABORT) to the
//               partition's leader, with the producer id, epoch and coordinator epoch found by
//               DescribeProducers from --start-offset, or given (--producer-id,
//               --producer-epoch, --coordinator-epoch) as for brokers older than 3.0.
// find-hanging  transactions a partition still holds open that no coordinator will end:
//               DescribeProducers on the partitions (those --broker-id leads, or --topic's),
//               open transactions whose last write is older than --max-transaction-timeout,
//               then, as Kafka's tool, ListTransactions by producer id and DescribeTransactions
//               of the ids found: one whose coordinator does not list the partition in its
//               transaction (or does not know the producer at all) is hanging.
//
// Coordinator requests are retried while the coordinator loads or moves, leader requests
// while the leader moves, within the request timeout (as groups.ts does). A connection to
// a broker whose advertised address cannot be reached falls back to the bootstrap
// connection where that broker is the only one (a single broker behind NAT).

import type { ParsedArgs } from './args.js';
import { jsonOption, type Command, type Context } from './command.js';
import { BrokerError, UsageError } from './errors.js';
import { CoordinatorAdmin, CoordinatorKeyType, sleep, type Node } from './coordinator-admin.js';
import { formatTable, printJson, printLine } from './output.js';
import type { KafkaClient } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import type { MetadataResponse } from '../protocol/generated/metadata-response.js';
import type { ProducerState } from '../protocol/generated/describe-producers-response.js';
import { describeProducersApi, describeTransactionsApi, listTransactionsApi, writeTxnMarkersApi } from '../protocol/generated/index.js';

/** ListTransactions v1+ filters on duration (KIP-994). */
const DURATION_LIST_TRANSACTIONS_VERSION = 1;
/** Kafka's TransactionState names (clients/admin/TransactionState). */
const TRANSACTION_STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'PrepareEpochFence', 'Dead'];
/** Kafka's tool's default for find-hanging, in minutes (transaction.max.timeout.ms's default). */
const DEFAULT_MAX_TRANSACTION_TIMEOUT_MINUTES = 15;
/** Partitions per DescribeProducers request (Kafka's tool batches by 500). */
const DESCRIBE_PRODUCERS_BATCH = 500;
const MAX_INT32 = 2_147_483_647;
const MAX_INT16 = 32_767;

/** Errors that mean "the leader moved or is being elected": ask Metadata again. */
const LEADER_RETRIABLE: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.BROKER_NOT_AVAILABLE,
]);

function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** `topic-partition`, as Kafka's TopicPartition prints. */
function topicPartitionName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

function byTopicPartition(a: { topic: string; partition: number }, b: { topic: string; partition: number }): number {
  return a.topic.localeCompare(b.topic) || a.partition - b.partition;
}

/** One partition as Metadata describes it. */
interface PartitionInfo {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number;
}

/** What DescribeTransactions answers for one id (Kafka's TransactionDescription). */
export interface TransactionDescription {
  readonly coordinatorId: number;
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly state: string;
  readonly transactionTimeoutMs: number;
  /** null when no transaction has started (Kafka prints "None"). */
  readonly transactionStartTimeMs: number | null;
  readonly topicPartitions: { topic: string; partition: number }[];
}

/** A row of ListTransactions (Kafka's TransactionListing, with the broker that answered). */
export interface TransactionListing {
  readonly transactionalId: string;
  readonly coordinator: number;
  readonly producerId: number;
  readonly state: string;
}

/**
 * The bootstrap connection plus one per broker talked to (coordinator-admin.ts), and what
 * only transactions need: Metadata, the brokers by id, partition leaders.
 */
class TransactionAdmin extends CoordinatorAdmin {
  private clusterMetadata: MetadataResponse | null = null;

  static async open(context: Context): Promise<TransactionAdmin> {
    return new TransactionAdmin(await CoordinatorAdmin.connectBootstrap(context), context, CoordinatorKeyType.transaction, (id) => `the coordinator of transactional id "${id}"`);
  }

  /** Metadata of every topic (cached until `refresh`). */
  async metadata(refresh = false): Promise<MetadataResponse> {
    if (this.clusterMetadata === null || refresh) this.clusterMetadata = await this.client.metadata(null);
    return this.clusterMetadata;
  }

  /** A connection to the broker with this id (as Metadata names it). */
  async broker(nodeId: number): Promise<KafkaClient> {
    let metadata = await this.metadata();
    let node = metadata.brokers.find((broker) => broker.nodeId === nodeId);
    if (node === undefined) {
      metadata = await this.metadata(true);
      node = metadata.brokers.find((broker) => broker.nodeId === nodeId);
    }
    if (node === undefined) {
      throw new BrokerError(ErrorCode.BROKER_NOT_AVAILABLE, `Metadata lists broker${metadata.brokers.length === 1 ? '' : 's'} ${metadata.brokers.map((b) => b.nodeId).join(', ')}`, `broker ${nodeId}`);
    }
    return this.connect(node, metadata.brokers.length === 1);
  }

  /** Runs `attempt` at the id's coordinator; an unreachable one is answered for by the bootstrap connection only on a single broker. */
  async atTransactionCoordinator<T>(transactionalId: string, attempt: (client: KafkaClient, node: Node) => Promise<T>): Promise<T> {
    const onlyBroker = (await this.metadata()).brokers.length <= 1;
    return this.atCoordinator(transactionalId, attempt, onlyBroker);
  }

  /** DescribeTransactions of one id at its coordinator; TRANSACTIONAL_ID_NOT_FOUND and other errors are BrokerErrors. */
  describe(transactionalId: string): Promise<TransactionDescription> {
    return this.atTransactionCoordinator(transactionalId, async (client, node) => {
      const { body } = await client.request(describeTransactionsApi, { transactionalIds: [transactionalId] });
      const state = body.transactionStates.find((s) => s.transactionalId === transactionalId);
      const subject = `transactional id "${transactionalId}"`;
      if (state === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'DescribeTransactions answered without it', subject);
      if (state.errorCode === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND) throw new BrokerError(state.errorCode, 'the coordinator does not know it', subject);
      if (state.errorCode !== ErrorCode.NONE) throw new BrokerError(state.errorCode, null, subject);
      return {
        coordinatorId: node.nodeId,
        transactionalId,
        producerId: state.producerId,
        producerEpoch: state.producerEpoch,
        state: state.transactionState,
        transactionTimeoutMs: state.transactionTimeoutMs,
        transactionStartTimeMs: state.transactionStartTimeMs < 0 ? null : state.transactionStartTimeMs,
        topicPartitions: state.topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.topic, partition }))).sort(byTopicPartition),
      };
    });
  }

  /** ListTransactions at every broker Metadata names (Kafka's allByBrokerId). */
  async list(filters: { states: readonly string[]; producerIds: readonly number[]; durationMs: number }): Promise<TransactionListing[]> {
    const brokers = [...(await this.metadata()).brokers].sort((a, b) => a.nodeId - b.nodeId);
    const listings: TransactionListing[] = [];
    for (const broker of brokers) {
      // A single broker answers on the bootstrap connection, whatever address it advertises.
      const client = brokers.length === 1 ? this.client : await this.connect(broker, false);
      const version = client.pickVersion(listTransactionsApi);
      if (filters.durationMs >= 0 && version < DURATION_LIST_TRANSACTIONS_VERSION) {
        throw new BrokerError(ErrorCode.UNSUPPORTED_VERSION, `filtering by duration needs ListTransactions v${DURATION_LIST_TRANSACTIONS_VERSION}; broker ${broker.nodeId} serves v${version}`, 'ListTransactions');
      }
      const deadline = Date.now() + this.timeoutMs;
      for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
        const { body } = await client.request(listTransactionsApi, {
          stateFilters: [...filters.states],
          producerIdFilters: [...filters.producerIds],
          durationFilter: filters.durationMs,
        });
        if (body.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && Date.now() + delay <= deadline) {
          await sleep(delay);
          continue;
        }
        if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, `ListTransactions at broker ${broker.nodeId}`);
        if (body.unknownStateFilters.length > 0) note(`Broker ${broker.nodeId} does not know the state${body.unknownStateFilters.length === 1 ? '' : 's'} ${body.unknownStateFilters.join(', ')}.`);
        for (const state of body.transactionStates) {
          listings.push({ transactionalId: state.transactionalId, coordinator: broker.nodeId, producerId: state.producerId, state: state.transactionState });
        }
        break;
      }
    }
    return listings;
  }

  // ---- partitions and their leaders ----

  /** The partitions of these topics (every topic, internal ones too, when null); an unknown topic is a BrokerError. */
  async partitions(topics: readonly string[] | null, refresh = false): Promise<PartitionInfo[]> {
    const metadata = topics === null ? await this.metadata(refresh) : await this.client.metadata([...new Set(topics)]);
    const result: PartitionInfo[] = [];
    for (const topic of metadata.topics) {
      const name = topic.name ?? '';
      if (topic.errorCode !== ErrorCode.NONE) {
        if (topics === null) continue; // being deleted or created: nothing to search
        throw new BrokerError(topic.errorCode, null, `topic "${name}"`);
      }
      for (const p of topic.partitions) result.push({ topic: name, partition: p.partitionIndex, leader: p.leaderId });
    }
    for (const topic of topics ?? []) {
      if (!result.some((p) => p.topic === topic)) throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Metadata answered without it', `topic "${topic}"`);
    }
    return result.sort(byTopicPartition);
  }

  /** One partition's leader (retried while it has none, within the timeout). */
  async leaderOf(topic: string, partition: number): Promise<number> {
    const deadline = Date.now() + this.timeoutMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      const all = await this.partitions([topic]);
      const found = all.find((p) => p.partition === partition);
      const subject = `partition ${topicPartitionName(topic, partition)}`;
      if (found === undefined) throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${topic}" has ${all.length} partition(s)`, subject);
      if (found.leader >= 0) return found.leader;
      if (Date.now() + delay > deadline) throw new BrokerError(ErrorCode.LEADER_NOT_AVAILABLE, null, subject);
      await sleep(delay);
    }
  }

  /** Runs `attempt` at the partition's leader, again (asking Metadata) while it answers that the leader moved. */
  async atLeader<T>(topic: string, partition: number, attempt: (client: KafkaClient, leader: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      const leader = await this.leaderOf(topic, partition);
      try {
        return await attempt(await this.broker(leader), leader);
      } catch (error) {
        if (!(error instanceof BrokerError) || !LEADER_RETRIABLE.has(error.errorCode) || Date.now() + delay > deadline) throw error;
        await this.metadata(true);
        await sleep(delay);
      }
    }
  }

  /** DescribeProducers for partitions at one broker: each partition's producers, or its error. */
  async describeProducers(client: KafkaClient, partitions: readonly { topic: string; partition: number }[]): Promise<{ topic: string; partition: number; errorCode: number; errorMessage: string | null; producers: ProducerState[] }[]> {
    const results: { topic: string; partition: number; errorCode: number; errorMessage: string | null; producers: ProducerState[] }[] = [];
    for (let start = 0; start < partitions.length; start += DESCRIBE_PRODUCERS_BATCH) {
      const batch = partitions.slice(start, start + DESCRIBE_PRODUCERS_BATCH);
      const topics = new Map<string, number[]>();
      for (const { topic, partition } of batch) topics.set(topic, [...(topics.get(topic) ?? []), partition]);
      const { body } = await client.request(describeProducersApi, { topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) });
      for (const topic of body.topics) {
        for (const p of topic.partitions) {
          results.push({ topic: topic.name, partition: p.partitionIndex, errorCode: p.errorCode, errorMessage: p.errorMessage, producers: p.activeProducers });
        }
      }
      for (const { topic, partition } of batch) {
        if (!results.some((r) => r.topic === topic && r.partition === partition)) {
          results.push({ topic, partition, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'DescribeProducers answered without it', producers: [] });
        }
      }
    }
    return results;
  }
}

async function withAdmin<T>(context: Context, body: (admin: TransactionAdmin) => Promise<T>): Promise<T> {
  const admin = await TransactionAdmin.open(context);
  try {
    return await body(admin);
  } finally {
    admin.close();
  }
}

// ---- transactions list ----

function parseStates(values: readonly string[]): string[] {
  const states = values.flatMap((value) => value.split(',')).map((state) => state.trim()).filter((state) => state !== '');
  return [
    ...new Set(
      states.map((state) => {
        const known = TRANSACTION_STATES.find((candidate) => candidate.toLowerCase() === state.toLowerCase());
        if (known === undefined) throw new UsageError(`--state: unknown transaction state "${state}" (states: ${TRANSACTION_STATES.join(', ')})`);
        return known;
      }),
    ),
  ];
}

function parseProducerIds(values: readonly string[]): number[] {
  const ids = values.flatMap((value) => value.split(',')).map((id) => id.trim()).filter((id) => id !== '');
  return [
    ...new Set(
      ids.map((id) => {
        if (!/^\d+$/.test(id) || !Number.isSafeInteger(Number(id))) throw new UsageError(`--producer-id needs a producer id (an integer of at least 0), got "${id}"`);
        return Number(id);
      }),
    ),
  ];
}

export const transactionsList: Command = {
  spec: {
    name: 'transactions list',
    summary: 'List transactional ids with their coordinator, producer id and transaction state.',
    synopsis: 'transactions list [--state STATE[,STATE…]]… [--producer-id ID[,ID…]]… [--duration-filter MS] [--json]',
    details: [
      'Every broker Metadata names is asked for the transactional ids it coordinates (on a',
      `single broker, every id). States: ${TRANSACTION_STATES.slice(0, 6).join(', ')}, PrepareEpochFence`,
      '(case does not matter). --duration-filter (Kafka\'s; --duration-ms is the same) keeps the',
      'transactions running for longer than MS milliseconds (ListTransactions v1); below 0, all.',
    ].join('\n'),
    options: [
      { name: 'state', kind: 'list', valueName: 'STATE[,STATE…]', help: 'only transactions in these states' },
      { name: 'producer-id', kind: 'list', valueName: 'ID[,ID…]', help: 'only these producer ids' },
      { name: 'duration-filter', kind: 'value', valueName: 'MS', help: 'only transactions running longer than MS milliseconds' },
      { name: 'duration-ms', kind: 'value', valueName: 'MS', help: 'the same as --duration-filter' },
      jsonOption,
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const states = parseStates(args.list('state'));
    const producerIds = parseProducerIds(args.list('producer-id'));
    if (args.has('duration-filter') && args.has('duration-ms')) throw new UsageError('give --duration-filter or --duration-ms, not both');
    const durationMs = args.optionalInt('duration-filter') ?? args.optionalInt('duration-ms') ?? -1;
    return withAdmin(context, async (admin) => {
      const listings = (await admin.list({ states, producerIds, durationMs: Math.max(durationMs, -1) })).sort(
        (a, b) => a.coordinator - b.coordinator || a.transactionalId.localeCompare(b.transactionalId),
      );
      if (args.flag('json')) printJson(listings);
      // The header even with no transaction: an empty answer, not nothing at all.
      else printLine(formatTable(['TransactionalId', 'Coordinator', 'ProducerId', 'TransactionState'], listings.map((l) => [l.transactionalId, l.coordinator, l.producerId, l.state])));
      return 0;
    });
  },
};

// ---- transactions describe ----

function requiredTransactionalId(args: ParsedArgs): string {
  const id = args.value('transactional-id') ?? args.positionals[0];
  if (id === undefined || id === '') throw new UsageError('describe needs --transactional-id ID');
  if (args.value('transactional-id') !== undefined && args.positionals.length > 0) throw new UsageError('give the transactional id once');
  return id;
}

export const transactionsDescribe: Command = {
  spec: {
    name: 'transactions describe',
    summary: 'Describe a transactional id: its producer, state, timeout, and the partitions of its open transaction.',
    synopsis: 'transactions describe --transactional-id ID [--json]',
    details: [
      'Asks the id\'s coordinator (FindCoordinator, key type TRANSACTION). TransactionDurationMs',
      'is the time since CurrentTransactionStartTimeMs by this machine\'s clock; both are "None"',
      'when no transaction has started. TopicPartitions are those of the open transaction (while',
      'it commits or aborts, those without their marker yet). An id the coordinator does not',
      'know is TRANSACTIONAL_ID_NOT_FOUND (exit 1).',
    ].join('\n'),
    options: [{ name: 'transactional-id', kind: 'value', valueName: 'ID', help: 'the transactional id (required; may also be given as an argument)' }, jsonOption],
    minPositionals: 0,
    maxPositionals: 1,
  },
  async run(args, context) {
    const transactionalId = requiredTransactionalId(args);
    return withAdmin(context, async (admin) => {
      const description = await admin.describe(transactionalId);
      const now = Date.now();
      const durationMs = description.transactionStartTimeMs === null ? null : now - description.transactionStartTimeMs;
      if (args.flag('json')) {
        printJson({ ...description, transactionDurationMs: durationMs });
        return 0;
      }
      printLine(
        formatTable(
          ['CoordinatorId', 'TransactionalId', 'ProducerId', 'ProducerEpoch', 'TransactionState', 'TransactionTimeoutMs', 'CurrentTransactionStartTimeMs', 'TransactionDurationMs', 'TopicPartitions'],
          [
            [
              description.coordinatorId,
              description.transactionalId,
              description.producerId,
              description.producerEpoch,
              description.state,
              description.transactionTimeoutMs,
              description.transactionStartTimeMs ?? 'None',
              durationMs ?? 'None',
              description.topicPartitions.map((tp) => topicPartitionName(tp.topic, tp.partition)).join(','),
            ],
          ],
        ),
      );
      return 0;
    });
  },
};

// ---- transactions abort ----

interface AbortSpec {
  readonly topic: string;
  readonly partition: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  /** The open transaction's first offset, when it was found from --start-offset. */
  readonly startOffset: number | null;
}

function abortSpecText(spec: AbortSpec): string {
  return `producer ${spec.producerId} (epoch ${spec.producerEpoch}, coordinator epoch ${spec.coordinatorEpoch}) on partition ${topicPartitionName(spec.topic, spec.partition)}`;
}

export const transactionsAbort: Command = {
  spec: {
    name: 'transactions abort',
    summary: 'Abort a hanging transaction on one partition (an ABORT marker written by its leader).',
    synopsis: 'transactions abort --topic TOPIC --partition N (--start-offset OFFSET | --producer-id ID --producer-epoch E --coordinator-epoch C) [--json]',
    details: [
      'With --start-offset (brokers 3.0 and later), DescribeProducers at the partition\'s leader',
      'finds the producer whose open transaction starts at that offset (find-hanging prints it),',
      'and its id, epoch and coordinator epoch go into the marker. For older brokers give them',
      'yourself (a negative coordinator epoch is sent as 0, as Kafka\'s tool does). The marker',
      'moves the partition\'s last stable offset past the transaction, whose records read_committed',
      'consumers then skip. Only for transactions no coordinator will end: aborting a live one',
      'fails its producer\'s commit. No open transaction at the offset: exit 1.',
    ].join('\n'),
    options: [
      { name: 'topic', kind: 'value', valueName: 'TOPIC', help: 'the topic (required)' },
      { name: 'partition', kind: 'value', valueName: 'N', help: 'the partition (required)' },
      { name: 'start-offset', kind: 'value', valueName: 'OFFSET', help: 'the first offset of the transaction to abort' },
      { name: 'producer-id', kind: 'value', valueName: 'ID', help: 'the producer id (brokers before 3.0)' },
      { name: 'producer-epoch', kind: 'value', valueName: 'E', help: 'the producer epoch (brokers before 3.0)' },
      { name: 'coordinator-epoch', kind: 'value', valueName: 'C', help: 'the coordinator epoch (brokers before 3.0)' },
      jsonOption,
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const topic = args.value('topic');
    if (topic === undefined || topic === '') throw new UsageError('abort needs --topic TOPIC');
    const partition = args.optionalInt('partition', 0, MAX_INT32);
    if (partition === undefined) throw new UsageError('abort needs --partition N');
    const startOffset = args.optionalInt('start-offset', 0);
    const manual = ['producer-id', 'producer-epoch', 'coordinator-epoch'].filter((name) => args.has(name));
    if (startOffset === undefined && !args.has('producer-id')) {
      throw new UsageError('the transaction to abort must be identified either with --start-offset (brokers 3.0 and later) or with --producer-id, --producer-epoch and --coordinator-epoch (older brokers)');
    }
    if (startOffset !== undefined && manual.length > 0) throw new UsageError(`give --start-offset or ${manual.map((name) => `--${name}`).join(', ')}, not both`);
    if (startOffset === undefined && !args.has('producer-epoch')) throw new UsageError('missing required argument --producer-epoch');
    if (startOffset === undefined && !args.has('coordinator-epoch')) throw new UsageError('missing required argument --coordinator-epoch');

    return withAdmin(context, async (admin) => {
      let spec: AbortSpec;
      if (startOffset === undefined) {
        spec = {
          topic,
          partition,
          producerId: args.int('producer-id', -1, 0),
          producerEpoch: args.int('producer-epoch', -1, 0, MAX_INT16),
          // A producer whose transaction hung before its first marker has coordinator epoch -1
          // (DescribeProducers); 0 is no newer than any coordinator's epoch.
          coordinatorEpoch: Math.max(0, args.int('coordinator-epoch', -1, -1, MAX_INT32)),
          startOffset: null,
        };
      } else {
        const producers = await admin.atLeader(topic, partition, async (client) => {
          const [result] = await admin.describeProducers(client, [{ topic, partition }]);
          if (result!.errorCode !== ErrorCode.NONE) {
            throw new BrokerError(result!.errorCode, result!.errorMessage, `failed to validate producer state for partition ${topicPartitionName(topic, partition)}`);
          }
          return result!.producers;
        });
        const found = producers.find((producer) => producer.currentTxnStartOffset >= 0 && producer.currentTxnStartOffset === startOffset);
        if (found === undefined) throw new Error(`Could not find any open transactions starting at offset ${startOffset} on partition ${topicPartitionName(topic, partition)}`);
        spec = { topic, partition, producerId: found.producerId, producerEpoch: found.producerEpoch, coordinatorEpoch: Math.max(0, found.coordinatorEpoch), startOffset };
      }
      await admin.atLeader(topic, partition, async (client) => {
        const { body } = await client.request(writeTxnMarkersApi, {
          markers: [{ producerId: spec.producerId, producerEpoch: spec.producerEpoch, transactionResult: false, coordinatorEpoch: spec.coordinatorEpoch, topics: [{ name: topic, partitionIndexes: [partition] }] }],
        });
        const answer = body.markers.find((m) => m.producerId === spec.producerId)?.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition);
        const subject = `failed to abort the transaction of ${abortSpecText(spec)}`;
        if (answer === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'WriteTxnMarkers answered without the partition', subject);
        if (answer.errorCode !== ErrorCode.NONE) throw new BrokerError(answer.errorCode, null, subject);
      });
      if (args.flag('json')) printJson({ ...spec, aborted: true });
      else printLine(`Aborted the transaction of ${abortSpecText(spec)}${spec.startOffset === null ? '' : `, which started at offset ${spec.startOffset}`}.`);
      return 0;
    });
  },
};

// ---- transactions find-hanging ----

interface OpenTransaction {
  readonly topic: string;
  readonly partition: number;
  readonly producer: ProducerState;
}

interface HangingRow {
  readonly topic: string;
  readonly partition: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  readonly startOffset: number;
  readonly lastTimestamp: number;
  readonly durationMinutes: number;
}

/** The open transactions of these partitions whose last write is older than `maxTimeoutMs` (at `brokerId`, else at each leader). */
async function candidateTransactions(admin: TransactionAdmin, partitions: readonly PartitionInfo[], brokerId: number | undefined, maxTimeoutMs: number): Promise<OpenTransaction[]> {
  const byBroker = new Map<number, PartitionInfo[]>();
  for (const p of partitions) {
    const broker = brokerId ?? p.leader;
    if (broker < 0) throw new BrokerError(ErrorCode.LEADER_NOT_AVAILABLE, null, `partition ${topicPartitionName(p.topic, p.partition)}`);
    byBroker.set(broker, [...(byBroker.get(broker) ?? []), p]);
  }
  const candidates: OpenTransaction[] = [];
  for (const [broker, list] of [...byBroker].sort(([a], [b]) => a - b)) {
    const results = await admin.describeProducers(await admin.broker(broker), list);
    const now = Date.now();
    for (const result of results) {
      if (result.errorCode !== ErrorCode.NONE) {
        throw new BrokerError(result.errorCode, result.errorMessage, `failed to describe the producers of partition ${topicPartitionName(result.topic, result.partition)} on broker ${broker}`);
      }
      for (const producer of result.producers) {
        if (producer.currentTxnStartOffset >= 0 && now - producer.lastTimestamp > maxTimeoutMs) candidates.push({ topic: result.topic, partition: result.partition, producer });
      }
    }
  }
  return candidates;
}

/** Kafka's filter: open transactions no coordinator lists the partition of (or whose producer no coordinator knows). */
async function hangingOf(admin: TransactionAdmin, candidates: readonly OpenTransaction[]): Promise<OpenTransaction[]> {
  if (candidates.length === 0) return [];
  const producerIds = [...new Set(candidates.map((c) => c.producer.producerId))];
  const transactionalIds = new Map<number, string>();
  for (const listing of await admin.list({ states: [], producerIds, durationMs: -1 })) {
    if (producerIds.includes(listing.producerId)) transactionalIds.set(listing.producerId, listing.transactionalId);
  }
  const descriptions = new Map<string, TransactionDescription | null>();
  for (const transactionalId of new Set(transactionalIds.values())) {
    try {
      descriptions.set(transactionalId, await admin.describe(transactionalId));
    } catch (error) {
      if (!(error instanceof BrokerError) || error.errorCode !== ErrorCode.TRANSACTIONAL_ID_NOT_FOUND) throw error;
      descriptions.set(transactionalId, null);
    }
  }
  return candidates.filter((candidate) => {
    const transactionalId = transactionalIds.get(candidate.producer.producerId);
    const description = transactionalId === undefined ? null : (descriptions.get(transactionalId) ?? null);
    // DescribeTransactions lists the partitions of an open transaction, and those still waiting
    // for their marker while it ends: the coordinator will end those itself.
    return description === null || !description.topicPartitions.some((tp) => tp.topic === candidate.topic && tp.partition === candidate.partition);
  });
}

export const transactionsFindHanging: Command = {
  spec: {
    name: 'transactions find-hanging',
    summary: 'Find hanging transactions: open on a partition, older than the longest transaction timeout, and not ended by any coordinator.',
    synopsis: 'transactions find-hanging (--broker-id ID | --topic TOPIC [--partition N]) [--max-transaction-timeout MINUTES] [--json]',
    details: [
      'DescribeProducers on the partitions --broker-id leads (of --topic only, when given too),',
      'or on the partitions of --topic at their leaders. An open transaction whose last write is',
      `older than --max-transaction-timeout minutes (default ${DEFAULT_MAX_TRANSACTION_TIMEOUT_MINUTES}, transaction.max.timeout.ms's default) is`,
      'hanging unless its coordinator still has the partition in the producer\'s transaction',
      '(ListTransactions by producer id, then DescribeTransactions), as Kafka\'s tool decides.',
      'Duration(min) is the time since LastTimestamp. End one with',
      '`spate transactions abort --topic T --partition P --start-offset StartOffset`.',
    ].join('\n'),
    options: [
      { name: 'broker-id', kind: 'value', valueName: 'ID', help: 'search the partitions this broker leads' },
      { name: 'topic', kind: 'value', valueName: 'TOPIC', help: 'search this topic only (required with --partition)' },
      { name: 'partition', kind: 'value', valueName: 'N', help: 'search this partition of --topic only' },
      { name: 'max-transaction-timeout', kind: 'value', valueName: 'MINUTES', help: `transactions open this long or less are not hanging (default ${DEFAULT_MAX_TRANSACTION_TIMEOUT_MINUTES})` },
      jsonOption,
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const brokerId = args.optionalInt('broker-id', 0, MAX_INT32);
    const topic = args.value('topic');
    const partition = args.optionalInt('partition', 0, MAX_INT32);
    if (topic === undefined && brokerId === undefined) throw new UsageError('find-hanging needs --topic or --broker-id to limit the scope of the search');
    if (partition !== undefined && topic === undefined) throw new UsageError('--partition needs --topic');
    const maxTimeoutMs = args.int('max-transaction-timeout', DEFAULT_MAX_TRANSACTION_TIMEOUT_MINUTES, 0, 2 ** 31 - 1) * 60_000;
    return withAdmin(context, async (admin) => {
      /** The partitions to search (Metadata asked again when `refresh`). */
      const select = async (refresh: boolean): Promise<PartitionInfo[]> => {
        let partitions = await admin.partitions(topic === undefined ? null : [topic], refresh);
        if (partition !== undefined) {
          const found = partitions.filter((p) => p.partition === partition);
          if (found.length === 0) throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${topic}" has ${partitions.length} partition(s)`, `partition ${topicPartitionName(topic!, partition)}`);
          partitions = found;
        }
        if (brokerId === undefined) return partitions;
        await admin.broker(brokerId); // an id Metadata does not name is an error, not an empty search
        const led = partitions.filter((p) => p.leader === brokerId);
        if (partition !== undefined && led.length === 0) {
          throw new BrokerError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `its leader is broker ${partitions[0]!.leader}`, `partition ${topicPartitionName(topic!, partition)} at broker ${brokerId}`);
        }
        return led;
      };
      // Asked at each leader, a leader that moved (or is being elected) means asking Metadata
      // again; asked at --broker-id, the answer is about that broker (Kafka's tool does the same).
      let candidates: OpenTransaction[];
      const deadline = Date.now() + context.timeoutMs;
      for (let delay = 50, refresh = false; ; delay = Math.min(delay * 2, 1_000), refresh = true) {
        try {
          candidates = await candidateTransactions(admin, await select(refresh), brokerId, maxTimeoutMs);
          break;
        } catch (error) {
          if (brokerId !== undefined || !(error instanceof BrokerError) || !LEADER_RETRIABLE.has(error.errorCode) || Date.now() + delay > deadline) throw error;
          await sleep(delay);
        }
      }
      const now = Date.now();
      const rows: HangingRow[] = (await hangingOf(admin, candidates))
        .map(({ topic: t, partition: p, producer }) => ({
          topic: t,
          partition: p,
          producerId: producer.producerId,
          producerEpoch: producer.producerEpoch,
          coordinatorEpoch: producer.coordinatorEpoch,
          startOffset: producer.currentTxnStartOffset,
          lastTimestamp: producer.lastTimestamp,
          durationMinutes: Math.floor((now - producer.lastTimestamp) / 60_000),
        }))
        .sort((a, b) => byTopicPartition(a, b) || a.producerId - b.producerId);
      if (args.flag('json')) printJson(rows);
      else {
        printLine(
          formatTable(
            ['Topic', 'Partition', 'ProducerId', 'ProducerEpoch', 'CoordinatorEpoch', 'StartOffset', 'LastTimestamp', 'Duration(min)'],
            rows.map((r) => [r.topic, r.partition, r.producerId, r.producerEpoch, r.coordinatorEpoch, r.startOffset, r.lastTimestamp, r.durationMinutes]),
          ),
        );
      }
      return 0;
    });
  },
};

