// Fills a topic fast for the message-search benchmark and the 1 GiB search test: one large
// uncompressed batch (protocol/record-batch.ts encodeRecordBatch) encoded once and sent again and
// again as Produce requests over one KafkaClient connection, several in flight, round the
// partitions. Values are JSON text, so a search has real text to walk.

import { KafkaClient } from '../../src/network/kafka-client.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { createTopicsApi, produceApi } from '../../src/protocol/generated/index.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce-response.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

export interface FillOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly partitions: number;
  /** Bytes of batches to write (rounded up to whole batches). */
  readonly bytes: number;
  /** Records per batch (default 1,000) and bytes of each value (default 1,000). */
  readonly recordsPerBatch?: number;
  readonly valueBytes?: number;
  /** Produce requests in flight (default 4). */
  readonly inFlight?: number;
  /** Creates the topic first (default true). */
  readonly create?: boolean;
}

/** A JSON value of about `bytes` bytes, its `id` set (the rest padding). */
export function jsonValue(id: number, bytes: number): string {
  const head = `{"id":${id},"kind":"filler","text":"`;
  return `${head}${'lorem ipsum '.repeat(Math.ceil(bytes / 12)).slice(0, Math.max(0, bytes - head.length - 2))}"}`;
}

export function fillBatch(recordsPerBatch: number, valueBytes: number): Buffer {
  return encodeRecordBatch({ records: Array.from({ length: recordsPerBatch }, (_, index) => ({ key: `k-${index}`, value: jsonValue(index, valueBytes) })) });
}

function check(response: ProduceResponse): void {
  for (const topic of response.responses) {
    for (const partition of topic.partitionResponses) {
      if (partition.errorCode !== ErrorCode.NONE) throw new Error(`produce to ${topic.name}-${partition.index} failed: ${errorName(partition.errorCode)}`);
    }
  }
}

export async function createTopic(client: KafkaClient, topic: string, partitions: number): Promise<void> {
  const { body } = await client.request(createTopicsApi, { topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
  const code = body.topics[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  if (code !== ErrorCode.NONE && code !== ErrorCode.TOPIC_ALREADY_EXISTS) throw new Error(`creating ${topic}: ${errorName(code)}`);
}

/** Writes `bytes` of batches to the topic; answers the bytes written and the seconds it took. */
export async function fillTopic(options: FillOptions): Promise<{ bytes: number; seconds: number }> {
  const client = await KafkaClient.connect(options.bootstrap, { timeoutMs: 60_000, clientId: 'topic-filler' });
  try {
    if (options.create !== false) await createTopic(client, options.topic, options.partitions);
    const batch = fillBatch(options.recordsPerBatch ?? 1_000, options.valueBytes ?? 1_000);
    const batches = Math.ceil(options.bytes / batch.length);
    const inFlight = options.inFlight ?? 4;
    const started = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches) {
        const partition = next++ % options.partitions;
        const { body } = await client.request(produceApi, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: options.topic, partitionData: [{ index: partition, records: batch }] }] });
        check(body);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return { bytes: batches * batch.length, seconds: (performance.now() - started) / 1000 };
  } finally {
    client.close();
  }
}

/**
 * Produces as fast as it can to a topic for `seconds` (the benchmark's load): answers the bytes
 * acknowledged per second.
 */
export async function produceFor(bootstrap: string, topic: string, partitions: number, seconds: number, options: { recordsPerBatch?: number; valueBytes?: number; inFlight?: number } = {}): Promise<{ bytesPerSecond: number; requests: number }> {
  const client = await KafkaClient.connect(bootstrap, { timeoutMs: 60_000, clientId: 'load-producer' });
  try {
    const batch = fillBatch(options.recordsPerBatch ?? 100, options.valueBytes ?? 1_000);
    const started = performance.now();
    const deadline = started + seconds * 1000;
    let requests = 0;
    let turn = 0;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const { body } = await client.request(produceApi, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: turn++ % partitions, records: batch }] }] });
        check(body);
        requests++;
      }
    };
    await Promise.all(Array.from({ length: options.inFlight ?? 4 }, worker));
    const elapsed = (performance.now() - started) / 1000;
    return { bytesPerSecond: (requests * batch.length) / elapsed, requests };
  } finally {
    client.close();
  }
}
