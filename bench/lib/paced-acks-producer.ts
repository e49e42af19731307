// The well-behaved tenant of bench/noisy-neighbour.ts: a producer in a process of its own (so
// that its JavaScript does not run on the broker's main thread), logged in with SASL/SCRAM
// through src/network/kafka-client.ts, that sends one small record per Produce request
// (acks=all) at a fixed rate, one request in flight at a time, and times each request from
// the moment it is written to the moment its response is read.
//
//   parent → child (argv): JSON PacedRequest
//   child → parent (IPC): { type: 'measuring' } when the warm-up is over and the measured
//   samples begin, then { type: 'done', result: PacedResult } (or { type: 'failed', error })
//   and exit.
//
// Pacing: request k is due at start + k / rate. When the previous one is answered after the
// next was due (the broker was slow), the next goes out at once and counts as late; its latency
// is still measured from when it was sent (the service time). `scheduleLatencies` measures the
// same answers from when each request was due, which also counts the time a slow answer kept
// the next requests from being sent (coordinated omission).

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaClient, type SaslMechanismName } from '../../src/network/kafka-client.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

export interface PacedRequest {
  readonly bootstrap: string;
  readonly mechanism: SaslMechanismName;
  readonly username: string;
  readonly password: string;
  readonly clientId: string;
  readonly topic: string;
  readonly ratePerSecond: number;
  readonly valueBytes: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly timeoutMs: number;
}

export interface PacedResult {
  /** Per measured request: wall-clock send time (ms since the epoch), send → response (ms), due → response (ms). */
  readonly sentAtMs: number[];
  readonly latenciesMs: number[];
  readonly scheduleLatenciesMs: number[];
  /** Measured requests sent after their due time because the previous answer came late. */
  readonly late: number;
  readonly measuredSeconds: number;
  /** Produce responses with a throttle time (this user has no quota: expected 0). */
  readonly throttled: number;
  readonly produceVersion: number;
  readonly cpuSeconds: number;
}

async function run(request: PacedRequest): Promise<PacedResult> {
  const client = await KafkaClient.connect(request.bootstrap, {
    timeoutMs: request.timeoutMs,
    clientId: request.clientId,
    sasl: { mechanism: request.mechanism, username: request.username, password: request.password },
  });
  const value = Buffer.alloc(request.valueBytes, 0x62);
  const intervalMs = 1000 / request.ratePerSecond;
  const warmupCount = Math.round(request.warmupSeconds * request.ratePerSecond);
  const total = warmupCount + Math.round(request.seconds * request.ratePerSecond);
  const result: { -readonly [K in keyof PacedResult]: PacedResult[K] } = {
    sentAtMs: [],
    latenciesMs: [],
    scheduleLatenciesMs: [],
    late: 0,
    measuredSeconds: 0,
    throttled: 0,
    produceVersion: client.pickVersion(produceApi),
    cpuSeconds: 0,
  };
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let measuredFrom = start;
  for (let k = 0; k < total; k++) {
    if (k === warmupCount) {
      process.send!({ type: 'measuring' });
      measuredFrom = performance.now();
    }
    const dueAt = start + k * intervalMs;
    const wait = dueAt - performance.now();
    if (wait > 0) await sleep(wait);
    else if (k >= warmupCount && wait < -1) result.late++;
    const body = { transactionalId: null, acks: -1, timeoutMs: request.timeoutMs, topicData: [{ name: request.topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value }] }) }] }] };
    const sentAt = performance.now();
    const response = await client.request(produceApi, body);
    const answeredAt = performance.now();
    const partition = response.body.responses[0]?.partitionResponses[0];
    if (partition === undefined || partition.errorCode !== ErrorCode.NONE) {
      throw new Error(`produce to ${request.topic} failed: ${partition === undefined ? 'no partition in the answer' : `${errorName(partition.errorCode)} ${partition.errorMessage ?? ''}`}`);
    }
    if (k < warmupCount) continue;
    if (response.body.throttleTimeMs > 0) result.throttled++;
    result.sentAtMs.push(performance.timeOrigin + sentAt);
    result.latenciesMs.push(answeredAt - sentAt);
    result.scheduleLatenciesMs.push(answeredAt - Math.max(dueAt, measuredFrom));
  }
  result.measuredSeconds = (performance.now() - measuredFrom) / 1000;
  const cpu = process.cpuUsage(cpu0);
  result.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await client.end();
  return result;
}

if (process.send === undefined) {
  process.stderr.write('paced-acks-producer: must be started with an IPC channel (by bench/noisy-neighbour.js)\n');
  process.exit(2);
}
run(JSON.parse(process.argv[2] ?? '{}') as PacedRequest).then(
  (result) => process.send!({ type: 'done', result }, () => process.exit(0)),
  (error: unknown) => process.send!({ type: 'failed', error: error instanceof Error ? error.message : String(error) }, () => process.exit(1)),
);
