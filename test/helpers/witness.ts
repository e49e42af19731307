// A well-behaved producer and consumer that run beside an attack and say whether the
// broker kept serving them: the producer appends numbered records (acks=all) to its own
// topic, one request at a time; the consumer fetches them back as they come. Every
// request's latency is recorded; at the end every acknowledged record must have been
// consumed, in order, once. Uses the raw protocol client, so nothing in a client library
// (retries, reconnects) can hide a broker that stopped answering.

import { readFileSync, readdirSync } from 'node:fs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, fetchApi, produceApi } from '../../src/protocol/generated/index.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import type { Teardownable } from './broker-process.js';
import { RawClient } from './raw-client.js';

export interface WitnessReport {
  readonly acknowledged: number;
  readonly consumed: number;
  /** Values consumed out of order or twice, or acknowledged and never consumed. */
  readonly problems: readonly string[];
  readonly produceLatencyMsMax: number;
  readonly fetchLatencyMsMax: number;
  /** Requests that failed (error code, timeout, closed connection). */
  readonly failures: readonly string[];
}

export interface WitnessOptions {
  readonly topic?: string;
  /** Pause between produce requests. */
  readonly produceIntervalMs?: number;
  /** A request not answered within this fails the witness. */
  readonly requestTimeoutMs?: number;
}

export class Witness {
  private running = true;
  private acknowledged = 0;
  private consumed = 0;
  private fetchOffset = 0;
  private produceLatencyMsMax = 0;
  private fetchLatencyMsMax = 0;
  private readonly problems: string[] = [];
  private readonly failures: string[] = [];
  private readonly loops: Promise<void>[] = [];

  private constructor(
    private readonly producer: RawClient,
    private readonly consumer: RawClient,
    readonly topic: string,
    private readonly options: Required<WitnessOptions>,
  ) {}

  /** Creates the witness topic and starts producing and consuming. */
  static async start(t: Teardownable, port: number, options: WitnessOptions = {}): Promise<Witness> {
    const settings: Required<WitnessOptions> = {
      topic: options.topic ?? 'witness',
      produceIntervalMs: options.produceIntervalMs ?? 20,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    };
    const admin = await RawClient.connect(t, port);
    const created = await admin.request(createTopicsApi, 5, { topics: [{ name: settings.topic, numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });
    admin.destroy();
    const code = created.topics[0]!.errorCode;
    if (code !== ErrorCode.NONE && code !== ErrorCode.TOPIC_ALREADY_EXISTS) throw new Error(`witness topic: error ${code}`);
    const witness = new Witness(await RawClient.connect(t, port), await RawClient.connect(t, port), settings.topic, settings);
    witness.loops.push(witness.produceLoop(), witness.consumeLoop());
    return witness;
  }

  /** What the witness has seen so far. */
  get progress(): { acknowledged: number; consumed: number; failures: number } {
    return { acknowledged: this.acknowledged, consumed: this.consumed, failures: this.failures.length };
  }

  /** Resolves once at least `count` more records have been produced and consumed (or the timeout passes: false). */
  async advance(count: number, timeoutMs = 30_000): Promise<boolean> {
    const target = this.consumed + count;
    const deadline = Date.now() + timeoutMs;
    while (this.consumed < target && Date.now() < deadline && this.running) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.consumed >= target;
  }

  private async produceLoop(): Promise<void> {
    while (this.running) {
      const value = `w-${this.acknowledged}`;
      const started = Date.now();
      try {
        const response = await this.producer.request(
          produceApi,
          9,
          { acks: -1, timeoutMs: 5000, topicData: [{ name: this.topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value }] }) }] }] },
          { timeoutMs: this.options.requestTimeoutMs },
        );
        const code = response.responses[0]!.partitionResponses[0]!.errorCode;
        if (code !== ErrorCode.NONE) this.failures.push(`produce of ${value}: error ${code}`);
        else this.acknowledged++;
      } catch (error) {
        this.failures.push(`produce of ${value}: ${(error as Error).message}`);
        this.running = false;
        return;
      }
      this.produceLatencyMsMax = Math.max(this.produceLatencyMsMax, Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, this.options.produceIntervalMs));
    }
  }

  private async consumeLoop(): Promise<void> {
    while (this.running) {
      if (!(await this.fetchOnce(500))) return;
    }
  }

  /** One fetch from where the consumer is; false when it failed (recorded). */
  private async fetchOnce(maxWaitMs: number): Promise<boolean> {
    const started = Date.now();
    try {
      const response = await this.consumer.request(
        fetchApi,
        11,
        {
          replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic: this.topic, partitions: [{ partition: 0, fetchOffset: this.fetchOffset, partitionMaxBytes: 1024 * 1024, logStartOffset: -1, currentLeaderEpoch: -1 }] }],
        },
        { timeoutMs: this.options.requestTimeoutMs + maxWaitMs },
      );
      const partition = response.responses[0]!.partitions[0]!;
      if (partition.errorCode !== ErrorCode.NONE) {
        this.failures.push(`fetch at ${this.fetchOffset}: error ${partition.errorCode}`);
        return true;
      }
      const records = Buffer.isBuffer(partition.records) ? partition.records : Buffer.alloc(0);
      for (const batch of splitBatches(records)) {
        for (const record of decodeRecords(batch)) {
          if (record.offset < this.fetchOffset) continue;
          const expected = `w-${this.consumed}`;
          const value = record.value?.toString() ?? 'null';
          if (value !== expected) this.problems.push(`offset ${record.offset}: consumed ${value}, expected ${expected}`);
          this.consumed++;
          this.fetchOffset = record.offset + 1;
        }
      }
    } catch (error) {
      this.failures.push(`fetch at ${this.fetchOffset}: ${(error as Error).message}`);
      this.running = false;
      return false;
    }
    this.fetchLatencyMsMax = Math.max(this.fetchLatencyMsMax, Date.now() - started - maxWaitMs);
    return true;
  }

  /** Stops both loops, reads what is left, and reports. */
  async stop(): Promise<WitnessReport> {
    this.running = false;
    await Promise.all(this.loops);
    // Drain: everything acknowledged must come back.
    for (let attempt = 0; attempt < 50 && this.consumed < this.acknowledged && this.failures.length === 0; attempt++) {
      this.running = true;
      const ok = await this.fetchOnce(100);
      this.running = false;
      if (!ok) break;
    }
    const problems = [...this.problems];
    if (this.consumed < this.acknowledged) problems.push(`${this.acknowledged - this.consumed} acknowledged record(s) never consumed (of ${this.acknowledged})`);
    if (this.consumed > this.acknowledged) problems.push(`${this.consumed - this.acknowledged} record(s) consumed that were never acknowledged`);
    this.producer.destroy();
    this.consumer.destroy();
    return {
      acknowledged: this.acknowledged,
      consumed: this.consumed,
      problems,
      produceLatencyMsMax: this.produceLatencyMsMax,
      fetchLatencyMsMax: this.fetchLatencyMsMax,
      failures: this.failures,
    };
  }
}

/** The broker process's resident memory (VmRSS) in bytes, and its open descriptors, from /proc. */
export function processUsage(pid: number): { rssBytes: number; descriptors: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return { rssBytes: rssKiB * 1024, descriptors: readdirSync(`/proc/${pid}/fd`).length };
}
