// The group coordinator in-process, over stub services (no broker, no shards): the
// internal topic "exists", so do the `topics` (default: "orders", one partition), and each
// append to __consumer_offsets answers what `appendReply` says (success at once by
// default), so a test can hold an append or fail it. For what the wire cannot show: what
// the coordinator holds, and what it does while a write is in flight or after it failed.
// `coordinatorOnBroker` is the other kind: a coordinator that follows leadership of
// __consumer_offsets (as in a cluster), over the real partition layer and shards of an
// embedded broker started in this process, so its loads read a real log.

import { Broker } from '../../src/broker.js';
import { buildBrokerConfig, type BrokerConfig } from '../../src/config/broker-config.js';
import { soleLeadership } from '../../src/controller/leader-and-isr.js';
import type { TopicRecord } from '../../src/controller/metadata-store.js';
import { GroupCoordinator, type JoinRequest } from '../../src/coordinator/group-coordinator.js';
import { decodeKey, decodeOffsetValue, type OffsetsTopicKey } from '../../src/coordinator/offsets-records.js';
import { createLogger } from '../../src/logger.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/message.js';
import { decodeRecords } from '../../src/protocol/record-batch.js';
import type { BrokerServices } from '../../src/handlers/handler.js';
import { freePort, temporaryDirectory } from './broker-process.js';

export interface Teardownable {
  teardown(fn: () => void | Promise<void>): void;
}

type Services = ConstructorParameters<typeof GroupCoordinator>[0];

export interface AppendReply {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface Harness {
  readonly coordinator: GroupCoordinator;
  readonly config: BrokerConfig;
  readonly logLines: string[];
  /** What the next appends to __consumer_offsets answer (default: success at once). */
  appendReply: () => Promise<AppendReply>;
  /** The records appended to __consumer_offsets, in the order they were handed to the log, decoded. */
  readonly appended: OffsetsRecord[];
  /** Tells the coordinator that a topic was deleted, as the controller does. */
  deleteTopic(name: string): void;
}

export interface OffsetsRecord {
  readonly key: OffsetsTopicKey;
  /** The committed offset, or null for a tombstone (and for a group's metadata record: 'group'). */
  readonly value: number | 'group' | null;
}

export const APPENDED = (): Promise<AppendReply> => Promise.resolve({ errorCode: ErrorCode.NONE, errorMessage: null });

export const WAIT_MS = 5_000;

export interface HarnessOptions {
  /** Broker config overrides (Kafka keys). */
  readonly overrides?: Readonly<Record<string, string | number>>;
  /** Changes to the parsed config, for values no Kafka key can express (a retention under a minute). */
  readonly adjust?: (config: BrokerConfig) => BrokerConfig;
  /** The user topics that exist, with their partition counts (default: orders with one). */
  readonly topics?: Readonly<Record<string, number>>;
}

/** A coordinator over stub services, stopped at teardown; resolves once the stub __consumer_offsets is "loaded". */
export async function coordinatorHarness(t: Teardownable, options: HarnessOptions = {}): Promise<Harness> {
  const parsed = buildBrokerConfig(
    new Map(),
    new Map(
      Object.entries({ 'group.initial.rebalance.delay.ms': 0, 'group.min.session.timeout.ms': 10, ...options.overrides }).map(([key, value]) => [key, String(value)]),
    ),
  ).config;
  const config = options.adjust?.(parsed) ?? parsed;
  const offsetsTopic: TopicRecord = {
    name: '__consumer_offsets',
    topicId: ZERO_UUID,
    partitionDirs: Array.from({ length: config.groups.offsetsTopicPartitions }, () => '/nonexistent'),
    configs: {},
    internal: true,
  };
  const topics = new Map(
    Object.entries(options.topics ?? { orders: 1 }).map(([name, partitions]): [string, TopicRecord] => [
      name,
      { name, topicId: ZERO_UUID, partitionDirs: Array.from({ length: partitions }, () => '/nonexistent'), configs: {}, internal: false },
    ]),
  );
  const logLines: string[] = [];
  const appended: OffsetsRecord[] = [];
  const handle: { appendReply: Harness['appendReply'] } = { appendReply: APPENDED };
  const topicDeletedListeners: ((topic: TopicRecord) => void)[] = [];
  const services = {
    config,
    controller: {
      ensureInternalTopic: () => Promise.resolve(offsetsTopic),
      onTopicDeleted: (listener: (topic: TopicRecord) => void) => topicDeletedListeners.push(listener),
    },
    partitions: {
      topic: (name: string) => topics.get(name),
      leaderAndIsr: () => soleLeadership(config.brokerId),
      append: async (_topic: TopicRecord, _partition: number, batch: Buffer) => {
        for (const record of decodeRecords(batch)) {
          const key = decodeKey(record.key!);
          appended.push({ key, value: record.value === null ? null : key.kind === 'offset' ? decodeOffsetValue(record.value).offset : 'group' });
        }
        return { ...(await handle.appendReply()), baseOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 };
      },
    },
    logger: createLogger('test', 'debug', (line) => {
      logLines.push(line);
      return true;
    }),
  } as unknown as Services;
  const coordinator = new GroupCoordinator(services);
  t.teardown(() => coordinator.stop());
  if ((await coordinator.findCoordinator('any')).errorCode !== ErrorCode.NONE) throw new Error('the stub __consumer_offsets did not load');
  const deleteTopic = (name: string): void => {
    const topic = topics.get(name);
    if (topic === undefined) throw new Error(`no topic ${name} to delete`);
    topics.delete(name);
    for (const listener of topicDeletedListeners) listener(topic);
  };
  return Object.assign(handle, { coordinator, config, logLines, appended, deleteTopic });
}

export interface BrokerHarness {
  /** The coordinator under test: it follows leadership (onElection / onResignation), over the broker's partition layer. */
  readonly coordinator: GroupCoordinator;
  /** The embedded broker's own services (its partition layer, controller, config). */
  readonly services: BrokerServices;
  /** What the coordinator under test logged. */
  readonly logLines: string[];
}

export interface BrokerHarnessOptions {
  /** Broker config overrides (Kafka keys). */
  readonly overrides?: Readonly<Record<string, string | number>>;
  /** The partition layer the coordinator sees (default: the broker's own), to stand in for a cluster's leadership. */
  readonly partitions?: (real: BrokerServices['partitions']) => BrokerServices['partitions'];
}

/**
 * An embedded broker in this process (one shard, a temporary log dir, the user topic "orders"
 * with one partition) and a second coordinator over its controller and partition layer that
 * follows leadership: it loads a partition of __consumer_offsets only when told it was elected.
 * The broker's own coordinator never loads the topic (it did not exist when it started, and
 * no client reaches it), so the one under test is the topic's only reader and writer.
 */
export async function coordinatorOnBroker(t: Teardownable, options: BrokerHarnessOptions = {}): Promise<BrokerHarness> {
  const port = await freePort();
  const { config } = buildBrokerConfig(
    new Map(),
    new Map(
      Object.entries({
        listeners: `PLAINTEXT://127.0.0.1:${port}`,
        'log.dirs': temporaryDirectory(t),
        'num.shards': 1,
        'http.listeners': '',
        'group.initial.rebalance.delay.ms': 0,
        'group.min.session.timeout.ms': 10,
        ...options.overrides,
      }).map(([key, value]) => [key, String(value)]),
    ),
  );
  const broker = await Broker.start(config, createLogger('broker', 'warn'));
  t.teardown(() => broker.stop());
  // The broker keeps its services private: the test reaches them as its handlers do.
  const services = (broker as unknown as { services: BrokerServices }).services;
  const created = await services.controller.createTopic({ name: 'orders', numPartitions: 1, replicationFactor: 1, assignments: [], configs: new Map() });
  if (created.errorCode !== ErrorCode.NONE) throw new Error(`creating orders failed: ${created.errorCode}`);
  const logLines: string[] = [];
  const coordinator = new GroupCoordinator({
    config: services.config,
    controller: services.controller,
    partitions: options.partitions?.(services.partitions) ?? services.partitions,
    logger: createLogger('coordinator', 'debug', (line) => logLines.push(line) > 0),
    followLeadership: true,
  });
  t.teardown(() => coordinator.stop());
  return { coordinator, services, logLines };
}

export function joinRequest(groupId: string, memberId = '', overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.alloc(6) }],
    clientId: 'flooder',
    clientHost: '/127.0.0.1',
    requireKnownMemberId: true,
    ...overrides,
  };
}

/** Polls `condition` until it holds or WAIT_MS passes; returns whether it held. */
export async function eventually(condition: () => boolean, timeoutMs = WAIT_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

/** A promise's state after the microtasks and I/O callbacks queued now have run: whether it settled. */
export async function settledSoon(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}
