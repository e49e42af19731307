// The fuzz run: against one real broker process, workers send generated cases (cases.ts)
// on connections of their own while the witness produces and consumes beside them, and a
// health task checks every `healthEveryCases` cases that the broker is alive and serving,
// within its memory and descriptor bounds, with a clean log, and that the fuzz topics are
// still readable. A crash pauses the workers, restarts the broker on the same data
// directory and replays the cases that were in flight, one at a time, to find the one that
// kills it. At the end the witness must have every acknowledged record back, in order,
// once — and again after a graceful restart of the broker.
//
// The engine reports findings; it never fails a test itself (fuzz.test.ts asserts on the
// summary, scripts/fuzz.ts prints it).

import { createTopicsApi, apiVersionsApi, findCoordinatorApi, listOffsetsApi, metadataApi, offsetFetchApi, produceApi } from '../../../src/protocol/generated/index.js';
import { readRequestHeader, responseHeaderVersion } from '../../../src/protocol/header.js';
import { apiSchemas } from '../../../src/protocol/generated/index.js';
import { ErrorCode, errorName } from '../../../src/protocol/errors.js';
import { Reader } from '../../../src/protocol/reader.js';
import { BATCH_HEADER_BYTES, BatchField, LOG_OVERHEAD, encodeRecordBatch } from '../../../src/protocol/record-batch.js';
import type { BrokerProcess, Teardownable } from '../../helpers/broker-process.js';
import { RawClient, decodeResponse } from '../../helpers/raw-client.js';
import {
  CASE_ANSWER_MS,
  HEALTH_MS,
  PARTITION_CHECK_MS,
  RESPONSE_BYTES_MAX,
  RSS_PER_PARTITION_IN_CREATION_BYTES,
  SHUTDOWN_MS,
  UNJUDGED_ABANDON_MS,
  WITNESS_CATCH_UP_MS,
  WITNESS_LATENCY_MS,
  fdsMax,
  rssBytesMax,
} from './bounds.js';
import { RESPONSE_KEPT_BYTES_MAX, runCase, type CaseOutcome, type OutcomeKind } from './case-client.js';
import { decodeAsBroker, frameSizeLies, generateCase, partitionsAsked, servedPairs, waitAllowanceMs, type FuzzCase, type FuzzContext, type ServedApi } from './cases.js';
import { FindingSet, type Finding } from './findings.js';
import { LogScanner, crashSignature, healthCheck, processStats } from './broker-observer.js';
import { PartitionChecker } from './partition-check.js';
import type { FuzzTopic } from './values.js';
import { checkSequences, readWitnessTopic } from '../../helpers/witness.js';
import { WitnessThread, type WitnessResults } from '../../helpers/witness-thread.js';

export interface EngineOptions {
  readonly t: Teardownable;
  readonly broker: BrokerProcess;
  readonly seed: number;
  /** Cases to run (numbers firstCase .. firstCase + cases - 1). */
  readonly cases: number;
  readonly firstCase?: number;
  /** Stop taking new cases after this long (the script's --minutes). */
  readonly durationMsMax?: number;
  /** Cases in flight at once, each on its own connection. */
  readonly concurrency: number;
  /** Health, memory, descriptors and log are checked every this many cases. */
  readonly healthEveryCases: number;
  /** The broker's group.initial.rebalance.delay.ms. */
  readonly initialRebalanceDelayMs: number;
  /** Stop after this many crashes or stalls (each costs a restart, a new one also replays). */
  readonly crashesMax: number;
  /** Run the witness producer and consumer (default true). */
  readonly witness?: boolean;
  /** Stop the broker gracefully at the end, start it again and read the witness topic back (default true). */
  readonly restartAtEnd?: boolean;
  readonly progress?: (line: string) => void;
}

export interface FuzzSummary {
  readonly seed: number;
  readonly firstCase: number;
  readonly casesRun: number;
  readonly durationMs: number;
  readonly stopReason: string;
  readonly servedPairs: number;
  readonly outcomes: Record<OutcomeKind, number>;
  /** Cases per API name, and how they ended. */
  readonly perApi: Record<string, Partial<Record<OutcomeKind, number>>>;
  readonly findings: Finding[];
  readonly broker: { rssBytesMax: number; fdsMax: number; rssBytesBound: number; fdsBound: number; restarts: number };
  readonly witness: {
    acknowledged: number;
    consumed: number;
    produceLatencyMsMax: number;
    fetchLatencyMsMax: number;
    readBackAfterRestart: number | null;
  } | null;
  readonly batchesChecked: number;
}

/** Shard threads of the broker under fuzz (its memory bound counts per shard). */
export const FUZZ_BROKER_SHARDS = 2;

/**
 * Overrides for the broker under fuzz: a short initial rebalance delay (Kafka's default
 * is 3 s) so that the JoinGroup of a new group is answered in a fraction of a second, and a
 * fixed number of shards.
 */
export const FUZZ_BROKER_OVERRIDES: Readonly<Record<string, string | number>> = {
  'group.initial.rebalance.delay.ms': 100,
  'num.shards': FUZZ_BROKER_SHARDS,
};
export const FUZZ_INITIAL_REBALANCE_DELAY_MS = 100;

const WITNESS_TOPIC = 'spate-fuzz-witness';
/**
 * The topics cases aim at: one partition, several, and one with small segments so that
 * fuzzed appends roll segments and their indexes. (Spate compacts only its internal
 * topic, so there is no compacted topic here.)
 */
const FUZZ_TOPICS: readonly { name: string; partitions: number; configs: Record<string, string> }[] = [
  { name: 'fuzz-a', partitions: 1, configs: {} },
  { name: 'fuzz-b', partitions: 3, configs: {} },
  { name: 'fuzz-small-segments', partitions: 2, configs: { 'segment.bytes': '65536', 'segment.index.bytes': '4096' } },
];
const SHARED_GROUPS = ['fuzz-shared-0', 'fuzz-shared-1'];
/** Seed data: SEED_BATCHES batches of SEED_RECORDS_PER_BATCH records of SEED_RECORD_BYTES (4 MiB in fuzz-a-0). */
const SEED_BATCHES = 64;
const SEED_RECORDS_PER_BATCH = 16;
const SEED_RECORD_BYTES = 4096;
/** Seed records carry fixed timestamps (2023-11-14T22:13:20Z onwards) so that ListOffsets by time has something to find. */
const SEED_TIMESTAMP_MS = 1_700_000_000_000;
/** How long the group coordinator may take to create and load __consumer_offsets at the start. */
const COORDINATOR_READY_MS = 30_000;
/**
 * Cases remembered as "just finished" for crash attribution: a crash can come a moment after
 * the answer, or need state an earlier case left (a member still joining a group).
 */
const RECENT_CASES_KEPT = 48;
/** Client ports remembered to attribute "handler failed for 127.0.0.1:PORT" lines to cases. */
const PORTS_REMEMBERED = 20_000;
/** What replaySuspects found: the case after which the broker died, and any cases it needed before it. */
interface Culprit {
  readonly fuzzCase: FuzzCase;
  readonly signature: string;
  readonly excerpt: string[];
  readonly prerequisites: number[];
}

/** How often the exit monitor looks at the broker process. */
const EXIT_POLL_MS = 100;
/** How long a dying broker may take to be seen exiting after its connections fail. */
const EXIT_NOTICE_MS = 2_000;
/** A case whose content allows a wait longer than this runs beside the workers (at most WAITING_CASES_MAX at once). */
const LONG_WAIT_MS = 2_000;
const WAITING_CASES_MAX = 32;
/** How long a replayed suspect is given before the broker is asked whether it survived. */
const REPLAY_SETTLE_MS = 1_000;
/** Case timings remembered for naming the cases that overlapped a slow witness request. */
const CASE_TIMES_KEPT = 20_000;
/** Batch CRCs remembered for attributing unreadable batches to cases. */
const BATCH_CRCS_REMEMBERED = 200_000;
/** Connections the fuzzer itself may hold open: workers, witness (2), health, partition checker. */
const OWN_CONNECTIONS_SLACK = 8;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(condition: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await delay(stepMs);
  }
  return true;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Asks the broker what it serves and creates the fuzz and witness topics (or finds them, after a restart). */
export async function prepareContext(t: Teardownable, port: number, seed: number, initialRebalanceDelayMs: number): Promise<FuzzContext> {
  const client = await RawClient.connect(t, port);
  try {
    const versions = await client.request(apiVersionsApi, 3, { clientSoftwareName: 'spate-fuzz', clientSoftwareVersion: '1.0' });
    const served: ServedApi[] = versions.apiKeys.map((api) => ({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion }));
    const created = await client.request(createTopicsApi, 7, {
      topics: [...FUZZ_TOPICS, { name: WITNESS_TOPIC, partitions: 1, configs: {} }].map((topic) => ({
        name: topic.name,
        numPartitions: topic.partitions,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(topic.configs).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: HEALTH_MS,
      validateOnly: false,
    });
    for (const topic of created.topics) {
      if (topic.errorCode !== ErrorCode.NONE && topic.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
        throw new Error(`creating ${topic.name}: ${errorName(topic.errorCode)} ${topic.errorMessage ?? ''}`);
      }
    }
    await waitForCoordinator(client);
    const metadata = await client.request(metadataApi, 12, { topics: FUZZ_TOPICS.map((topic) => ({ name: topic.name })), allowAutoTopicCreation: false });
    const topics: FuzzTopic[] = metadata.topics.map((topic) => ({ name: topic.name ?? '', topicId: topic.topicId, partitions: topic.partitions.length }));
    await seedData(client);
    return { seed, served, topics, sharedGroups: SHARED_GROUPS, initialRebalanceDelayMs };
  } finally {
    client.destroy();
  }
}

/**
 * The group coordinator creates and loads __consumer_offsets on first use and after a
 * restart: waits until it answers, so that group requests reach the groups rather than
 * COORDINATOR_NOT_AVAILABLE or COORDINATOR_LOAD_IN_PROGRESS. (FindCoordinator alone does
 * not say the group's partition is loaded; an OffsetFetch of a group does.)
 */
export async function waitForCoordinator(client: RawClient): Promise<void> {
  const deadline = Date.now() + COORDINATOR_READY_MS;
  for (;;) {
    const found = await client.request(findCoordinatorApi, 3, { key: SHARED_GROUPS[0], keyType: 0 });
    if (found.errorCode === ErrorCode.NONE) {
      const fetched = await client.request(offsetFetchApi, 7, { groupId: SHARED_GROUPS[0], topics: null, requireStable: false });
      if (fetched.errorCode === ErrorCode.NONE) return;
      if (Date.now() > deadline) throw new Error(`the group coordinator is not ready after ${COORDINATOR_READY_MS} ms: ${errorName(fetched.errorCode)}`);
    } else if (Date.now() > deadline) {
      throw new Error(`the group coordinator is not available after ${COORDINATOR_READY_MS} ms: ${errorName(found.errorCode)}`);
    }
    await delay(100);
  }
}

/**
 * Valid records in the fuzz topics before the fuzzing starts: a fetch that asks for too much
 * (one partition named 700 times, 2^31-1 bytes each) only hurts when there is something to
 * read, and so does a ListOffsets by timestamp or a DeleteRecords. Skipped when the first
 * partition already holds them (a replay against a broker that has run before).
 */
async function seedData(client: RawClient): Promise<void> {
  const first = FUZZ_TOPICS[0]!;
  const listed = await client.request(listOffsetsApi, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: first.name, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
  });
  if ((listed.topics[0]?.partitions[0]?.offset ?? 0) > 0) return;
  const value = Buffer.alloc(SEED_RECORD_BYTES, 0x61);
  for (let batch = 0; batch < SEED_BATCHES; batch++) {
    const topicData = FUZZ_TOPICS.map((topic, t) => ({
      name: topic.name,
      // The first partition of the first topic gets the bulk: a few MiB in one place.
      partitionData: Array.from({ length: t === 0 ? 1 : batch % 4 === 0 ? topic.partitions : 0 }, (_, index) => ({
        index,
        records: encodeRecordBatch({ records: Array.from({ length: SEED_RECORDS_PER_BATCH }, (_, r) => ({ key: `seed-${batch}-${r}`, value, timestamp: SEED_TIMESTAMP_MS + batch * 1000 + r })) }),
      })),
    })).filter((topic) => topic.partitionData.length > 0);
    const produced = await client.request(produceApi, 9, { acks: -1, timeoutMs: HEALTH_MS, topicData });
    for (const topic of produced.responses) {
      for (const partition of topic.partitionResponses) {
        if (partition.errorCode !== ErrorCode.NONE) throw new Error(`seeding ${topic.name}-${partition.index}: ${errorName(partition.errorCode)}`);
      }
    }
  }
}

/** Checks the response to a case that was answered; returns what is wrong with it, or null. */
export function responseProblem(frame: Buffer, outcome: CaseOutcome): string | null {
  if (frameSizeLies(frame)) return null;
  const decoded = decodeAsBroker(frame);
  if (decoded === null) {
    // Not a request the broker can read: only an ApiVersions of an unknown version is answered (KIP-511).
    return null;
  }
  const schema = apiSchemas.get(decoded.apiKey)!;
  const acksZero = decoded.apiKey === 0 && decoded.request['acks'] === 0;
  if (outcome.responses.length === 0) return acksZero ? null : 'no response to the request, though the probe after it was answered';
  if (outcome.responses.length > 1) return `${outcome.responses.length} responses to one request`;
  if (acksZero) return 'a response to an acks=0 produce';
  if (outcome.responseBytes[0]! > RESPONSE_KEPT_BYTES_MAX) return null; // counted, not kept: not checked
  const response = outcome.responses[0]!;
  try {
    const correlationId = new Reader(response).int32();
    if (correlationId !== decoded.correlationId) return `response correlation id ${correlationId}, request ${decoded.correlationId}`;
    decodeResponse(schema, decoded.apiVersion, response, responseHeaderVersion(decoded.apiKey, decoded.apiVersion));
  } catch (error) {
    return `response does not decode as ${schema.name} v${decoded.apiVersion}: ${(error as Error).message}`;
  }
  return null;
}

export class FuzzEngine {
  private readonly startedAt = Date.now();
  private readonly findings = new FindingSet(this.startedAt);
  private context!: FuzzContext;
  private witness: WitnessThread | null = null;
  private checker!: PartitionChecker;
  private readonly scanner: LogScanner;
  private nextIndex: number;
  private readonly endIndex: number;
  private casesRun = 0;
  private stopReason = 'all cases run';
  private stopping = false;
  private readonly inFlight = new Map<number, FuzzCase>();
  /** Cases that may rightly wait long, running beside the workers. */
  private readonly waiting = new Set<Promise<void>>();
  private readonly recent: number[] = [];
  private readonly portToCase = new Map<number, number>();
  private readonly outcomes: Record<OutcomeKind, number> = { answered: 0, closed: 0, hang: 0, unjudged: 0, refused: 0 };
  private readonly perApi: Record<string, Partial<Record<OutcomeKind, number>>> = {};
  /** Produced batches the broker acknowledged: "topic/partition/baseOffset" → case number. */
  private readonly producedBy = new Map<string, number>();
  /** Every batch sent, by the CRC field it carries → case number (finds acks=0 producers too). */
  private readonly batchCrcs = new Map<number, number>();
  /** When recent cases ran, to name the cases that overlapped a witness request that was slow. */
  private readonly caseTimes: { index: number; startMs: number; endMs: number; excessMs: number }[] = [];
  /** Time windows around crashes and stalls, when witness failures are the crash's, not theirs. */
  private readonly outageWindows: { from: number; to: number }[] = [];
  private episode: Promise<void> | null = null;
  private paused = false;
  private crashes = 0;
  private restarts = 0;
  private healthRunning: Promise<void> | null = null;
  private healthRuns = 0;
  private rssMax = 0;
  private fdsMax = 0;
  private rssBound = 0;
  /** The most partitions one case asked to create (CreateTopics, CreatePartitions): they may exist before Metadata lists them. */
  private largestCreation = 0;
  private fdsBound = 0;

  constructor(private readonly options: EngineOptions) {
    this.nextIndex = options.firstCase ?? 0;
    this.endIndex = this.nextIndex + options.cases;
    this.scanner = new LogScanner(() => options.broker.log);
  }

  private progress(line: string): void {
    this.options.progress?.(line);
  }

  async run(): Promise<FuzzSummary> {
    const { t, broker } = this.options;
    this.context = await prepareContext(t, broker.port, this.options.seed, this.options.initialRebalanceDelayMs);
    this.checker = new PartitionChecker(t, this.context.topics.map((topic) => topic.name), new Set());
    this.progress(`seed ${this.options.seed}: cases ${this.nextIndex}..${this.endIndex - 1} over ${servedPairs(this.context.served).length} (API key, version) pairs, ${this.options.concurrency} at a time`);
    if (this.options.witness !== false) {
      this.witness = new WitnessThread(t, { port: broker.port, topic: WITNESS_TOPIC, latencyMsMax: WITNESS_LATENCY_MS });
    }
    await this.health();
    // Notices the broker's exit within EXIT_POLL_MS even when every worker waits on a slow case.
    this.exitMonitor = setInterval(() => {
      if (broker.running) return;
      this.exitSeenAt ??= Date.now();
      if (this.episode === null) void this.crashEpisode();
    }, EXIT_POLL_MS);
    const workers = Array.from({ length: this.options.concurrency }, () => this.worker());
    try {
      await Promise.all(workers);
      while (this.waiting.size > 0) await Promise.all([...this.waiting]);
    } finally {
      clearInterval(this.exitMonitor);
    }
    await this.episode;
    await this.healthRunning;
    if (broker.running) {
      await this.health(true);
      if (!broker.running) await this.crashEpisode();
    }
    const finishing = Date.now();
    await this.finishWitness();
    this.scanLog();
    this.progress(`end checks (witness, graceful restart, read back) took ${Date.now() - finishing} ms`);
    return {
      seed: this.options.seed,
      firstCase: this.options.firstCase ?? 0,
      casesRun: this.casesRun,
      durationMs: Date.now() - this.startedAt,
      stopReason: this.stopReason,
      servedPairs: servedPairs(this.context.served).length,
      outcomes: this.outcomes,
      perApi: this.perApi,
      findings: this.findings.all,
      broker: { rssBytesMax: this.rssMax, fdsMax: this.fdsMax, rssBytesBound: this.rssBound, fdsBound: this.fdsBound, restarts: this.restarts },
      witness: this.witnessSummary,
      batchesChecked: this.checker.batchesChecked,
    };
  }

  private async worker(): Promise<void> {
    const deadline = this.options.durationMsMax === undefined ? Infinity : this.startedAt + this.options.durationMsMax;
    for (;;) {
      while (this.paused) await (this.episode ?? delay(10));
      if (this.stopping) return;
      if (Date.now() > deadline) {
        this.stopReason = `time limit of ${Math.round((this.options.durationMsMax ?? 0) / 1000)} s reached`;
        return;
      }
      const index = this.nextIndex++;
      if (index >= this.endIndex) return;
      const fuzzCase = generateCase(this.context, index);
      this.largestCreation = Math.max(this.largestCreation, partitionsAsked(fuzzCase.frame));
      const allowanceMs = waitAllowanceMs(fuzzCase.frame, fuzzCase.freshGroup, this.context);
      if (allowanceMs > LONG_WAIT_MS && Number.isFinite(allowanceMs) && this.waiting.size < WAITING_CASES_MAX) {
        // A request that may rightly wait (a fetch for bytes that never come waits up to 30 s)
        // is judged in the background, so that it does not hold a worker the whole time.
        const waiting: Promise<void> = this.runAndJudge(fuzzCase).finally(() => this.waiting.delete(waiting));
        this.waiting.add(waiting);
        continue;
      }
      await this.runAndJudge(fuzzCase);
    }
  }

  /** Sends one case and judges what happened. */
  private async runAndJudge(fuzzCase: FuzzCase): Promise<void> {
    const index = fuzzCase.index;
    if (fuzzCase.apiKey === 0) this.rememberBatchCrcs(fuzzCase);
    this.inFlight.set(index, fuzzCase);
    const startedMs = Date.now();
    const outcome = await this.send(fuzzCase);
    this.inFlight.delete(index);
    const allowanceMs = waitAllowanceMs(fuzzCase.frame, fuzzCase.freshGroup, this.context);
    const tookMs = Date.now() - startedMs;
    // How much longer it took than its own content allows (a 30 s fetch wait is not a stall).
    const excessMs = Number.isFinite(allowanceMs) ? tookMs - allowanceMs : 0;
    this.caseTimes.push({ index, startMs: startedMs, endMs: Date.now(), excessMs });
    if (this.caseTimes.length > CASE_TIMES_KEPT) this.caseTimes.shift();
    this.recent.push(index);
    if (this.recent.length > RECENT_CASES_KEPT) this.recent.shift();
    this.casesRun++;
    this.count(fuzzCase, outcome.kind);
    if (outcome.localPort !== null) {
      this.portToCase.set(outcome.localPort, index);
      if (this.portToCase.size > PORTS_REMEMBERED) this.portToCase.delete(this.portToCase.keys().next().value!);
    }
    await this.judge(fuzzCase, outcome);
    if (this.casesRun % this.options.healthEveryCases === 0 && this.healthRunning === null) {
      this.healthRunning = this.health().finally(() => (this.healthRunning = null));
    }
  }

  private send(fuzzCase: FuzzCase): Promise<CaseOutcome> {
    const allowanceMs = waitAllowanceMs(fuzzCase.frame, fuzzCase.freshGroup, this.context);
    return runCase({
      port: this.options.broker.port,
      frame: fuzzCase.frame,
      finAfter: frameSizeLies(fuzzCase.frame),
      answerMs: CASE_ANSWER_MS + (Number.isFinite(allowanceMs) ? allowanceMs : 0),
      abandonMs: Number.isFinite(allowanceMs) ? null : UNJUDGED_ABANDON_MS,
    });
  }

  private count(fuzzCase: FuzzCase, kind: OutcomeKind): void {
    this.outcomes[kind]++;
    const api = fuzzCase.label.replace(/ v\d+$/, '');
    const entry = (this.perApi[api] ??= {});
    entry[kind] = (entry[kind] ?? 0) + 1;
  }

  private async judge(fuzzCase: FuzzCase, outcome: CaseOutcome): Promise<void> {
    const broker = this.options.broker;
    if (!broker.running || outcome.kind === 'refused') {
      await this.crashEpisode();
      return;
    }
    if (outcome.kind === 'hang') {
      const health = await healthCheck(this.options.t, broker.port, HEALTH_MS);
      if (!broker.running) {
        await this.crashEpisode();
      } else if (health.ok) {
        const boundMs = CASE_ANSWER_MS + waitAllowanceMs(fuzzCase.frame, fuzzCase.freshGroup, this.context);
        this.findings.add('hang', `${fuzzCase.label.replace(/ v\d+$/, '')}`, `${fuzzCase.label}: neither answered nor closed within ${boundMs} ms (the broker still serves others)`, {
          culprit: fuzzCase,
        });
      } else {
        await this.stallEpisode(health.error);
      }
      return;
    }
    if (outcome.violation !== null) {
      this.findings.add('bad-response', `${fuzzCase.label}: ${outcome.violation}`, `${fuzzCase.label}: the broker sent bytes that are not a response frame: ${outcome.violation}`, { culprit: fuzzCase });
    }
    const largest = Math.max(0, ...outcome.responseBytes);
    if (largest > RESPONSE_BYTES_MAX) {
      this.findings.add('amplification', fuzzCase.label.replace(/ v\d+$/, ''), `${fuzzCase.label}: a ${fuzzCase.frame.length}-byte request drew a ${largest}-byte response (bound ${RESPONSE_BYTES_MAX})`, { culprit: fuzzCase });
    }
    if (outcome.kind === 'answered') {
      const problem = responseProblem(fuzzCase.frame, outcome);
      if (problem !== null) {
        this.findings.add('bad-response', `${fuzzCase.label.replace(/ v\d+$/, '')}: ${problem.replace(/\d+/g, '#')}`, `${fuzzCase.label}: ${problem}`, { culprit: fuzzCase });
      } else if (fuzzCase.apiKey === 0) {
        this.rememberProduced(fuzzCase, outcome);
      }
    }
  }

  private rememberProduced(fuzzCase: FuzzCase, outcome: CaseOutcome): void {
    const decoded = decodeAsBroker(fuzzCase.frame);
    if (decoded === null || outcome.responses.length !== 1 || outcome.responseBytes[0]! > RESPONSE_KEPT_BYTES_MAX) return;
    try {
      const response = decodeResponse(produceApi, decoded.apiVersion, outcome.responses[0]!).body;
      for (const topic of response.responses) {
        for (const partition of topic.partitionResponses) {
          if (partition.errorCode === ErrorCode.NONE) this.producedBy.set(`${topic.name}/${partition.index}/${partition.baseOffset}`, fuzzCase.index);
        }
      }
    } catch {
      // responseProblem already decoded it; a failure here cannot happen and would only lose attribution
    }
  }

  private rememberBatchCrcs(fuzzCase: FuzzCase): void {
    const decoded = decodeAsBroker(fuzzCase.frame);
    const topics = decoded?.request['topicData'];
    if (!Array.isArray(topics)) return;
    for (const topic of topics as { partitionData: { records: unknown }[] }[]) {
      for (const partition of topic.partitionData) {
        const records = partition.records;
        if (!Buffer.isBuffer(records)) continue;
        for (let at = 0, batches = 0; at + BATCH_HEADER_BYTES <= records.length && batches < 16; batches++) {
          this.batchCrcs.set(records.readUInt32BE(at + BatchField.crc), fuzzCase.index);
          const size = records.readInt32BE(at + BatchField.batchLength) + LOG_OVERHEAD;
          if (size < BATCH_HEADER_BYTES) break;
          at += size;
        }
      }
    }
    if (this.batchCrcs.size > BATCH_CRCS_REMEMBERED) this.batchCrcs.delete(this.batchCrcs.keys().next().value!);
  }

  /** The broker is gone (or refusing connections): restart it and find the case that killed it. */
  private async crashEpisode(): Promise<void> {
    if (this.episode !== null) return this.episode;
    this.paused = true;
    this.episode = this.handleCrash().finally(() => {
      this.paused = false;
      this.episode = null;
    });
    return this.episode;
  }

  private async handleCrash(): Promise<void> {
    const broker = this.options.broker;
    const started = Date.now();
    const died = await waitUntil(() => !broker.running, 5_000);
    // From a little before the exit was first seen: the witness may have lost its connection first.
    const outageFrom = Math.min(started, this.exitSeenAt ?? started) - 2_000;
    if (!died) {
      // Alive but refusing connections.
      await this.stallEpisodeNow('connections refused while the process runs');
      return;
    }
    const suspects = this.suspects();
    this.inFlightAtCrash = this.inFlight.size;
    await waitUntil(() => this.inFlight.size === 0, CASE_ANSWER_MS + 5_000);
    const drainedMs = Date.now() - started;
    this.scanLog();
    const exit = broker.exitDescription;
    const crash = crashSignature(this.sinceLastStart(), exit);
    const known = this.findings.has('crash', crash.signature);
    const restarted = await this.restart(outageFrom);
    this.progress(
      `crash (${exit}): ${crash.signature}; in-flight cases settled in ${drainedMs} ms, restarted in ${Date.now() - started - drainedMs} ms${known ? ', already known' : `; replaying ${suspects.length} suspect case(s)`}`,
    );
    this.crashes++;
    if (!restarted) {
      this.findings.add('crash', crash.signature, `the broker process died (${exit}): ${crash.signature}`, { suspects, evidence: crash.excerpt });
    } else if (known) {
      this.findings.add('crash', crash.signature, '');
    } else {
      const culprit = await this.replaySuspects(suspects);
      const message = `the broker process died (${exit}): ${crash.signature}`;
      if (culprit !== null) {
        this.findings.add('crash', culprit.signature, message.replace(crash.signature, culprit.signature), {
          culprit: culprit.fuzzCase,
          prerequisites: culprit.prerequisites,
          evidence: culprit.excerpt,
        });
        if (culprit.signature !== crash.signature) this.findings.add('crash', crash.signature, message, { suspects, evidence: crash.excerpt });
      } else {
        this.findings.add('crash', crash.signature, message, { suspects, evidence: crash.excerpt });
      }
    }
    if (this.crashes >= this.options.crashesMax) {
      this.stopping = true;
      this.stopReason = `stopped after ${this.crashes} crashes`;
    }
  }

  private suspects(): number[] {
    return [...new Set([...this.inFlight.keys(), ...[...this.recent].reverse()])];
  }

  /**
   * Replays the suspects one after another in the order they first ran (state such as a
   * group one of them joined may be what another needs to crash the broker); the one after
   * which the broker dies is the culprit. It is then replayed alone on a fresh start: if
   * that does not kill the broker, the cases replayed before it are named as prerequisites.
   */
  private async replaySuspects(suspects: readonly number[]): Promise<Culprit | null> {
    // Most crashes come from one case that was in flight or had just finished: try those first,
    // then the whole window (whose earlier cases may have left the state the crash needs).
    const nearest = suspects.slice(0, this.inFlightAtCrash + this.options.concurrency);
    return (await this.replayInOrder(nearest)) ?? (suspects.length > nearest.length ? this.replayInOrder(suspects) : null);
  }

  private async replayInOrder(suspects: readonly number[]): Promise<Culprit | null> {
    const broker = this.options.broker;
    const ordered = [...suspects].sort((a, b) => a - b);
    for (let i = 0; i < ordered.length; i++) {
      const index = ordered[i]!;
      if (!(await this.replayKills(index))) continue;
      const crash = crashSignature(this.sinceLastStart(), broker.exitDescription);
      this.scanLog();
      if (!(await this.restart(Date.now() - 2_000, broker.running))) {
        return { fuzzCase: generateCase(this.context, index), signature: crash.signature, excerpt: crash.excerpt, prerequisites: ordered.slice(0, i) };
      }
      let prerequisites: number[] = [];
      if (await this.replayKills(index)) {
        this.progress(`  case ${index} (${generateCase(this.context, index).label}) kills the broker when replayed alone`);
        this.scanLog();
        await this.restart(Date.now() - 2_000, broker.running);
      } else {
        prerequisites = ordered.slice(0, i);
        this.progress(`  case ${index} kills the broker when replayed after cases ${prerequisites.join(', ')}, not alone`);
      }
      return { fuzzCase: generateCase(this.context, index), signature: crash.signature, excerpt: crash.excerpt, prerequisites };
    }
    return null;
  }

  /** Sends case `index` and says whether the broker died of it (it is left dead for the caller to inspect). */
  private async replayKills(index: number): Promise<boolean> {
    const broker = this.options.broker;
    const fuzzCase = generateCase(this.context, index);
    // Only whether the broker survives matters here, not the answer (a fetch may rightly wait 30 s for one).
    await runCase({ port: broker.port, frame: fuzzCase.frame, finAfter: frameSizeLies(fuzzCase.frame), answerMs: REPLAY_SETTLE_MS, abandonMs: REPLAY_SETTLE_MS });
    const health = await healthCheck(this.options.t, broker.port, HEALTH_MS);
    if (broker.running && health.ok) return false;
    await waitUntil(() => !broker.running, EXIT_NOTICE_MS);
    return true;
  }

  /** The broker runs but does not serve a healthy client: a stall. Kill it and start again. */
  private async stallEpisode(error: string): Promise<void> {
    if (this.episode !== null) return this.episode;
    this.paused = true;
    this.episode = this.stallEpisodeNow(error).finally(() => {
      this.paused = false;
      this.episode = null;
    });
    return this.episode;
  }

  private async stallEpisodeNow(error: string): Promise<void> {
    const broker = this.options.broker;
    // A broker on its way out can refuse or reset connections before its exit is seen: that is a crash.
    if (await waitUntil(() => !broker.running, EXIT_NOTICE_MS)) {
      await this.handleCrash();
      return;
    }
    // A busy machine can delay one health check: ask once more before calling it a stall.
    const again = await healthCheck(this.options.t, broker.port, HEALTH_MS);
    if (again.ok) return;
    if (!broker.running) {
      await this.handleCrash();
      return;
    }
    const suspects = this.suspects();
    this.findings.add('stall', 'unresponsive', `the broker process runs but a healthy client is not served within ${HEALTH_MS} ms: ${error}`, { suspects });
    this.progress(`stall: ${error}; killing and restarting the broker`);
    await waitUntil(() => this.inFlight.size === 0, CASE_ANSWER_MS + 5_000);
    this.scanLog();
    await this.restart(Date.now() - HEALTH_MS - CASE_ANSWER_MS, true);
    this.crashes++;
    if (this.crashes >= this.options.crashesMax) {
      this.stopping = true;
      this.stopReason = `stopped after ${this.crashes} crashes and stalls`;
    }
  }

  private launchLogOffset = 0;
  /** How many of the suspects were in flight when the last crash was seen (they come first in suspects()). */
  private inFlightAtCrash = 0;
  /** When the exit monitor first saw the broker process gone (cleared by a restart). */
  private exitSeenAt: number | null = null;
  private exitMonitor: NodeJS.Timeout | null = null;
  private witnessSummary: FuzzSummary['witness'] = null;

  /** The broker's output since it was last started. */
  private sinceLastStart(): string {
    return this.options.broker.log.slice(this.launchLogOffset);
  }

  /**
   * Starts the broker again on the same data directory. False when it cannot start: that is
   * a finding of its own (one request can leave a broker that no restart brings back), and
   * the run stops.
   */
  private async restart(outageFrom: number, hard = false): Promise<boolean> {
    const broker = this.options.broker;
    this.scanLog();
    const before = broker.log.length;
    try {
      await broker.restart({ hard });
    } catch (error) {
      const output = broker.log.slice(before);
      const failure = crashSignature(output, broker.exitDescription);
      this.findings.add('crash', `cannot start again: ${failure.signature}`, `the broker does not start again on its data directory: ${(error as Error).message.split('\n')[0]} ${failure.signature}`, {
        suspects: this.suspects(),
        evidence: output.split('\n').filter((line) => line.length > 0).slice(-24),
      });
      this.stopping = true;
      this.stopReason = 'the broker could not be started again';
      this.outageWindows.push({ from: outageFrom, to: Infinity });
      this.progress(`the broker does not start again: ${failure.signature}; stopping`);
      return false;
    }
    this.launchLogOffset = before;
    this.exitSeenAt = null;
    // Group requests (and their replays) must find the coordinator loaded, as at the start.
    const client = await RawClient.connect(this.options.t, broker.port);
    try {
      await waitForCoordinator(client);
    } catch (error) {
      this.progress(`after the restart: ${(error as Error).message}`);
    } finally {
      client.destroy();
    }
    this.restarts++;
    this.outageWindows.push({ from: outageFrom, to: Date.now() + 2_000 });
    return true;
  }

  private scanLog(): void {
    for (const line of this.scanner.scan()) {
      const index = line.peerPort === null ? undefined : this.portToCase.get(line.peerPort);
      let culprit = index === undefined ? null : generateCase(this.context, index);
      // Ports are reused: blame the case only if it is a request of the API that failed.
      const api = line.kind === 'handler-failure' ? line.signature.slice(0, line.signature.indexOf(':')) : null;
      if (culprit !== null && api !== null && !culprit.label.startsWith(`${api} `)) culprit = null;
      const message = line.kind === 'handler-failure' ? `a handler threw: ${line.lines[0]!.replace(/^\S+ \S+\s+/, '')}` : line.lines[0]!;
      this.findings.add(line.kind, line.signature, message, { culprit, evidence: line.lines });
    }
  }

  /** Alive and serving, memory and descriptors within bounds, log clean; the fuzz topics readable every fourth time. */
  private async health(final = false): Promise<void> {
    const broker = this.options.broker;
    if (this.episode !== null || !broker.running) return;
    // Memory and descriptors first, then the partition count their bounds allow for: a request
    // creating partitions meanwhile then counts for, not against, the broker.
    const stats = processStats(broker.pid);
    const health = await healthCheck(this.options.t, broker.port, HEALTH_MS);
    if (!broker.running) {
      await this.crashEpisode();
      return;
    }
    if (!health.ok) {
      await this.stallEpisode(health.error);
      return;
    }
    if (stats !== null) {
      const connections = this.options.concurrency + OWN_CONNECTIONS_SLACK;
      this.rssBound = rssBytesMax(connections, health.partitions, FUZZ_BROKER_SHARDS) + this.largestCreation * RSS_PER_PARTITION_IN_CREATION_BYTES;
      this.fdsBound = fdsMax(connections, health.partitions, FUZZ_BROKER_SHARDS);
      this.rssMax = Math.max(this.rssMax, stats.rssBytes);
      this.fdsMax = Math.max(this.fdsMax, stats.fds);
      const window = this.suspects();
      if (stats.rssBytes > this.rssBound) {
        this.findings.add('rss', 'rss', `broker RSS ${(stats.rssBytes / 2 ** 20).toFixed(0)} MiB exceeds the bound ${(this.rssBound / 2 ** 20).toFixed(0)} MiB (${health.partitions} partitions)`, { suspects: window });
      }
      if (stats.fds > this.fdsBound) {
        this.findings.add('fds', 'fds', `broker holds ${stats.fds} descriptors, above the bound ${this.fdsBound} (${health.partitions} partitions)`, { suspects: window });
      }
    }
    this.scanLog();
    this.healthRuns++;
    if (final || this.healthRuns % 4 === 1) await this.checkPartitions();
    this.progress(
      `${this.casesRun} cases, ${((Date.now() - this.startedAt) / 1000).toFixed(0)} s: ${JSON.stringify(this.outcomes)}; rss ${((stats?.rssBytes ?? 0) / 2 ** 20).toFixed(0)} MiB, ${stats?.fds ?? '?'} fds, ${health.partitions} partitions; ${this.findings.all.length} finding(s)`,
    );
  }

  private async checkPartitions(): Promise<void> {
    try {
      const problems = await this.checker.check(this.options.broker.port, PARTITION_CHECK_MS);
      for (const problem of problems) {
        // A bad batch is traced by its CRC (what the producer sent), then by its offset (offsets
        // start again when a topic is re-created, so that is weaker); a stuck offset is not one batch's.
        const index =
          problem.crc === null ? undefined : (this.batchCrcs.get(problem.crc) ?? this.producedBy.get(`${problem.topic}/${problem.partition}/${problem.offset}`));
        const culprit = index === undefined ? null : generateCase(this.context, index);
        this.findings.add(
          'corrupt-batch',
          corruptionClass(problem.message),
          `${problem.topic}-${problem.partition} at offset ${problem.offset}: ${problem.message}${culprit === null ? '' : ` (produced by case ${culprit.index})`}`,
          { culprit },
        );
      }
    } catch (error) {
      // The broker may be dying (a crash episode follows) or may have refused the consumer's reads.
      const broker = this.options.broker;
      if (await waitUntil(() => !broker.running, EXIT_NOTICE_MS)) return;
      const health = await healthCheck(this.options.t, broker.port, HEALTH_MS);
      if (health.ok) this.findings.add('corrupt-batch', 'read back failed', `reading the fuzz topics back as a consumer failed while the broker serves others: ${(error as Error).message}`);
    }
  }

  /** Cases that ran during [fromMs, toMs], those that took longest beyond what they may wait first. */
  private casesOverlapping(fromMs: number, toMs: number): number[] {
    return this.caseTimes
      .filter((time) => time.startMs <= toMs && time.endMs >= fromMs)
      .sort((a, b) => b.excessMs - a.excessMs)
      .slice(0, 24)
      .map((time) => time.index);
  }

  private inOutage(atMs: number): boolean {
    return this.outageWindows.some((window) => atMs >= window.from && atMs <= window.to);
  }

  private async finishWitness(): Promise<void> {
    const thread = this.witness;
    if (thread === null) return;
    const broker = this.options.broker;
    if (!broker.running) {
      // The broker could not be started again (its own finding): nothing to check the witness against.
      this.witnessSummary = this.witnessCounts(await thread.finish(0), null);
      return;
    }
    const finishing = Date.now();
    const witness = await thread.finish(WITNESS_CATCH_UP_MS);
    const caughtUp = witness.caughtUp;
    const eventCounts: Record<string, number> = {};
    for (const event of witness.events) eventCounts[`${event.kind}${this.inOutage(event.atMs) ? ' (during an outage)' : ''}`] = (eventCounts[event.kind] ?? 0) + 1;
    this.progress(
      `witness: ${witness.acknowledged.length} acknowledged, ${witness.consumed.length} consumed, ${caughtUp ? 'caught up' : 'not caught up'} in ${Date.now() - finishing} ms; events ${JSON.stringify(eventCounts)}`,
    );
    for (const event of witness.events) {
      if (this.inOutage(event.atMs)) continue;
      // A request the broker did not answer within the bound is a latency violation too.
      const kind = event.kind === 'witness-error' && event.message.includes('no response within') ? 'witness-latency' : event.kind;
      this.findings.add(kind, kind === 'witness-latency' ? 'latency' : event.message.replace(/\d+/g, '#'), `witness: ${event.message}`, {
        suspects: this.casesOverlapping(event.sentAtMs, event.atMs),
        atMs: event.atMs,
      });
    }
    const problems = checkSequences(witness.consumed, witness.acknowledged);
    if (!caughtUp) problems.push(`the consumer did not catch up with the last acknowledged record within ${WITNESS_CATCH_UP_MS} ms`);
    for (const problem of problems) this.findings.add('witness-lost', problem.replace(/\d+/g, '#'), `witness consumer: ${problem}`);
    let readBack: number | null = null;
    if (this.options.restartAtEnd !== false && broker.running) {
      this.scanLog();
      const stopped = await withTimeout(broker.stop(), SHUTDOWN_MS);
      if (stopped === 'timeout') {
        this.findings.add('shutdown', 'timeout', `a graceful stop (SIGTERM) did not finish within ${SHUTDOWN_MS} ms`);
        await broker.kill();
      } else if (stopped !== 0) {
        this.findings.add('shutdown', `exit ${stopped}`, `a graceful stop (SIGTERM) exited with code ${stopped}`, { evidence: this.sinceLastStart().split('\n').slice(-20) });
      }
      this.scanLog();
      if (!(await this.restart(Date.now()))) {
        this.witnessSummary = this.witnessCounts(witness, null);
        return;
      }
      const after = await readWitnessTopic(this.options.t, broker.port, WITNESS_TOPIC, WITNESS_CATCH_UP_MS);
      readBack = after.sequences.length;
      for (const problem of [...after.problems, ...checkSequences(after.sequences, witness.acknowledged)]) {
        this.findings.add('witness-lost', `after restart: ${problem.replace(/\d+/g, '#')}`, `witness topic read after a graceful restart: ${problem}`);
      }
    }
    this.witnessSummary = this.witnessCounts(witness, readBack);
  }

  private witnessCounts(witness: WitnessResults, readBack: number | null): FuzzSummary['witness'] {
    return {
      acknowledged: witness.acknowledged.length,
      consumed: witness.consumed.length,
      produceLatencyMsMax: witness.produceLatencyMsMax,
      fetchLatencyMsMax: witness.fetchLatencyMsMax,
      readBackAfterRestart: readBack,
    };
  }
}

/** One signature per kind of unreadable batch (the details differ from batch to batch, the bug does not). */
function corruptionClass(message: string): string {
  if (message.startsWith('records do not decode')) return 'records do not decode';
  if (message.startsWith('stuck')) return 'a consumer is stuck below the high watermark';
  if (message.includes('past the high watermark')) return 'batch ends past the high watermark';
  if (message.startsWith('fetch')) return message;
  return message.replace(/-?\d+/g, '#');
}

/** Header facts of a frame as the broker reads them (for replay output). */
export function describeFrame(frame: Buffer): string {
  try {
    const size = frame.readInt32BE(0);
    const header = readRequestHeader(new Reader(frame.subarray(4)));
    const schema = apiSchemas.get(header.apiKey);
    return `size ${size} (${frame.length - 4} bytes follow), ${schema?.name ?? `API key ${header.apiKey}`} v${header.apiVersion}, correlation id ${header.correlationId}, client id ${JSON.stringify(header.clientId)?.slice(0, 60)}`;
  } catch (error) {
    return `${frame.length} bytes whose header does not decode: ${(error as Error).message}`;
  }
}
