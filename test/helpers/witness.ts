// The witness: a well-behaved producer and consumer that run beside the fuzzing on a
// topic of their own. The producer sends sequentially numbered records ("witness-<n>")
// with acks=-1 and never retries (so nothing it did not see acknowledged is counted, and
// nothing can be duplicated by it); the consumer reads the topic from the start
// continuously. What they see is the service a real client gets while the broker is under
// attack: every acknowledged record must come back, in order, once, and both must be
// served within a bound the whole time.
//
// Failures while the broker is down after a crash are recorded with their time; the engine
// drops those inside a crash window (the crash is its own finding).

import { fetchApi, produceApi } from '../../src/protocol/generated/index.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { splitBatches, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import type { Teardownable } from './broker-process.js';
import { RawClient, fetchBody } from './raw-client.js';
import { checkBatch, recordsBytes } from './batch-check.js';

/** Pause between two witness produce requests: a steady trickle, not a benchmark. */
const PRODUCE_PACE_MS = 25;
/** How long a witness fetch may park waiting for records. */
export const FETCH_MAX_WAIT_MS = 200;
/** Bounded retry of a witness (re)connection. */
const CONNECT_ATTEMPTS_MAX = 50;

export interface WitnessEvent {
  readonly atMs: number;
  /** When the request that went wrong was sent (atMs for events not about one request). */
  readonly sentAtMs: number;
  readonly kind: 'witness-latency' | 'witness-error' | 'witness-order' | 'witness-corrupt';
  readonly message: string;
}


function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Parses "witness-<n>"; -1 for anything else. */
function sequenceOf(value: Buffer | null): number {
  const match = value === null ? null : /^witness-(\d+)$/.exec(value.toString('latin1'));
  return match === null ? -1 : Number(match[1]);
}

export interface WitnessReadResult {
  readonly sequences: number[];
  readonly problems: string[];
}

/**
 * Reads the witness topic from offset 0 to its high watermark on a new connection, returning
 * the sequence numbers in log order. Bounded: `timeoutMs` in all.
 */
export async function readWitnessTopic(t: Teardownable, port: number, topic: string, timeoutMs: number): Promise<WitnessReadResult> {
  const client = await RawClient.connect(t, port);
  const sequences: number[] = [];
  const problems: string[] = [];
  const deadline = Date.now() + timeoutMs;
  try {
    let offset = 0;
    for (;;) {
      if (Date.now() > deadline) {
        problems.push(`reading the witness topic did not reach its end within ${timeoutMs} ms (at offset ${offset})`);
        break;
      }
      const response = await client.request(fetchApi, 12, fetchBody(topic, 0, offset), { timeoutMs: Math.max(deadline - Date.now(), 1) });
      const partition = response.responses[0]?.partitions[0];
      if (partition === undefined) throw new Error('fetch response without the witness partition');
      if (partition.errorCode !== ErrorCode.NONE) {
        problems.push(`fetch at offset ${offset}: ${errorName(partition.errorCode)}`);
        break;
      }
      if (offset >= partition.highWatermark) break;
      let advanced = false;
      for (const bytes of splitBatches(recordsBytes(partition.records))) {
        const batch = checkBatch(bytes, false);
        if (batch.lastOffset < offset) continue;
        if (batch.problem !== null || batch.values === null) {
          problems.push(`batch at offset ${batch.baseOffset}: ${batch.problem ?? 'not decodable'}`);
          return { sequences, problems };
        }
        for (const value of batch.values) sequences.push(sequenceOf(value));
        offset = batch.lastOffset + 1;
        advanced = true;
      }
      if (!advanced) {
        problems.push(`fetch at offset ${offset} below the high watermark ${partition.highWatermark} returned no whole batch`);
        break;
      }
    }
  } finally {
    client.destroy();
  }
  return { sequences, problems };
}


/** Checks that `sequences` (in log order) hold every acknowledged number once, in increasing order. */
export function checkSequences(sequences: readonly number[], acknowledged: readonly number[]): string[] {
  const problems: string[] = [];
  let previous = -1;
  for (const n of sequences) {
    if (n < 0) problems.push('a record that is not a witness record');
    else if (n <= previous) problems.push(`witness-${n} after witness-${previous} (duplicate or out of order)`);
    previous = Math.max(previous, n);
    if (problems.length > 10) break;
  }
  const seen = new Set(sequences);
  const missing = acknowledged.filter((n) => !seen.has(n));
  if (missing.length > 0) problems.push(`${missing.length} acknowledged record(s) missing, first witness-${missing.slice(0, 5).join(', witness-')}`);
  return problems;
}

export class Witness {
  /** Sequence numbers the broker acknowledged, in order. */
  readonly acknowledged: number[] = [];
  /** Sequence numbers the consumer read, in order. */
  readonly consumed: number[] = [];
  readonly events: WitnessEvent[] = [];
  produceLatencyMsMax = 0;
  fetchLatencyMsMax = 0;
  produceRequests = 0;
  fetchRequests = 0;
  private lastAckedOffset = -1;
  private nextFetchOffset = 0;
  private nextSequence = 0;
  private stopProducing = false;
  private stopConsuming = false;
  private producerLoop: Promise<void> | null = null;
  private consumerLoop: Promise<void> | null = null;

  constructor(
    private readonly t: Teardownable,
    private readonly port: number,
    readonly topic: string,
    private readonly latencyMsMax: number,
  ) {}

  start(): void {
    this.producerLoop = this.produce();
    this.consumerLoop = this.consume();
  }

  private event(kind: WitnessEvent['kind'], message: string, sentAtMs = Date.now()): void {
    if (this.events.length < 1000) this.events.push({ atMs: Date.now(), sentAtMs, kind, message });
  }

  private async connect(stopped: () => boolean): Promise<RawClient | null> {
    for (let attempt = 0; attempt < CONNECT_ATTEMPTS_MAX; attempt++) {
      try {
        return await RawClient.connect(this.t, this.port);
      } catch {
        // The broker is restarting after a crash (recorded by the engine): try again shortly.
        await delay(200);
      }
      if (stopped()) return null;
    }
    this.event('witness-error', `could not connect to the broker in ${CONNECT_ATTEMPTS_MAX} attempts`);
    return null;
  }

  private async produce(): Promise<void> {
    const stopped = (): boolean => this.stopProducing;
    let client = await this.connect(stopped);
    while (!this.stopProducing && client !== null) {
      const count = 1 + (this.nextSequence % 3);
      const numbers = Array.from({ length: count }, (_, i) => this.nextSequence + i);
      this.nextSequence += count;
      const batch = encodeRecordBatch({ records: numbers.map((n) => ({ key: String(n), value: `witness-${n}` })) });
      const started = Date.now();
      try {
        const response = await client.request(
          produceApi,
          9,
          { acks: -1, timeoutMs: this.latencyMsMax, topicData: [{ name: this.topic, partitionData: [{ index: 0, records: batch }] }] },
          { timeoutMs: this.latencyMsMax },
        );
        const latency = Date.now() - started;
        this.produceRequests++;
        this.produceLatencyMsMax = Math.max(this.produceLatencyMsMax, latency);
        if (latency > this.latencyMsMax) this.event('witness-latency', `produce answered after ${latency} ms`, started);
        const partition = response.responses[0]?.partitionResponses[0];
        if (partition === undefined || partition.errorCode !== ErrorCode.NONE) {
          this.event('witness-error', `produce of witness-${numbers[0]}: ${partition === undefined ? 'no partition in the response' : `${errorName(partition.errorCode)} ${partition.errorMessage ?? ''}`}`);
        } else {
          this.acknowledged.push(...numbers);
          this.lastAckedOffset = partition.baseOffset + count - 1;
        }
      } catch (error) {
        this.event('witness-error', `produce of witness-${numbers[0]} after ${Date.now() - started} ms: ${(error as Error).message}`, started);
        client.destroy();
        client = await this.connect(stopped);
      }
      await delay(PRODUCE_PACE_MS);
    }
    client?.destroy();
  }

  private async consume(): Promise<void> {
    const stopped = (): boolean => this.stopConsuming;
    let client = await this.connect(stopped);
    let previous = -1;
    while (!this.stopConsuming && client !== null) {
      const started = Date.now();
      const boundMs = FETCH_MAX_WAIT_MS + this.latencyMsMax;
      try {
        const response = await client.request(fetchApi, 12, fetchBody(this.topic, 0, this.nextFetchOffset, FETCH_MAX_WAIT_MS), { timeoutMs: boundMs });
        const latency = Date.now() - started;
        this.fetchRequests++;
        this.fetchLatencyMsMax = Math.max(this.fetchLatencyMsMax, latency);
        if (latency > boundMs) this.event('witness-latency', `fetch answered after ${latency} ms (max wait ${FETCH_MAX_WAIT_MS} ms)`, started);
        const partition = response.responses[0]?.partitions[0];
        if (partition === undefined || partition.errorCode !== ErrorCode.NONE) {
          this.event('witness-error', `fetch at offset ${this.nextFetchOffset}: ${partition === undefined ? 'no partition' : errorName(partition.errorCode)}`);
          await delay(FETCH_MAX_WAIT_MS);
          continue;
        }
        for (const bytes of splitBatches(recordsBytes(partition.records))) {
          const batch = checkBatch(bytes, false);
          if (batch.lastOffset < this.nextFetchOffset) continue;
          if (batch.problem !== null || batch.values === null) {
            this.event('witness-corrupt', `batch at offset ${batch.baseOffset}: ${batch.problem ?? 'not decodable'}`);
            this.nextFetchOffset = batch.lastOffset + 1;
            continue;
          }
          for (const value of batch.values) {
            const n = sequenceOf(value);
            if (n <= previous) this.event('witness-order', `consumed ${n < 0 ? 'a foreign record' : `witness-${n}`} after witness-${previous}`);
            previous = Math.max(previous, n);
            this.consumed.push(n);
          }
          this.nextFetchOffset = batch.lastOffset + 1;
        }
      } catch (error) {
        this.event('witness-error', `fetch at offset ${this.nextFetchOffset} after ${Date.now() - started} ms: ${(error as Error).message}`, started);
        client.destroy();
        client = await this.connect(stopped);
      }
    }
    client?.destroy();
  }

  /** Stops producing, lets the consumer catch up with the last acknowledged record (bounded), then stops it. */
  async finish(catchUpMs: number): Promise<boolean> {
    this.stopProducing = true;
    await this.producerLoop;
    const deadline = Date.now() + catchUpMs;
    while (this.nextFetchOffset <= this.lastAckedOffset && Date.now() < deadline) await delay(50);
    const caughtUp = this.nextFetchOffset > this.lastAckedOffset;
    this.stopConsuming = true;
    await this.consumerLoop;
    return caughtUp;
  }
}
