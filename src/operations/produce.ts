// One record produced to a topic, as a Java producer with acks=all would send it: for the admin
// API's POST /api/v1/topics/:topic/messages (the Admin UI's produce form). The record is one
// uncompressed RecordBatch v2 (protocol/record-batch.ts encodeRecordBatch), sent as a Produce
// request with acks=-1, so the broker's checks (WRITE on the topic, the tenant's limits, the
// producer byte-rate quota, max.message.bytes) apply as to any producer.
//
// Without a partition: a keyed record goes where the Java client's default partitioner puts it
// (murmur2 of the key, protocol/partitioner.ts); an unkeyed one to the partition `unkeyed` picks
// (the admin API turns a counter, so successive unkeyed records go round the partitions).

import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { produceApi } from '../protocol/generated/index.js';
import { keyPartition } from '../protocol/partitioner.js';
import { encodeRecordBatch, type RecordHeader } from '../protocol/record-batch.js';

const ACKS_ALL = -1;

export interface ProduceRecordParams {
  readonly topic: string;
  /** The partition; absent: the default partitioner's choice. */
  readonly partition?: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  /** The record's CreateTime; default now. */
  readonly timestamp?: number;
  /** Picks the partition of an unkeyed record among `partitionCount`. */
  readonly unkeyed: (partitionCount: number) => number;
  readonly timeoutMs: number;
}

export interface ProducedRecord {
  readonly partition: number;
  readonly offset: number;
  /** The record's timestamp as stored: the broker's append time for a LogAppendTime topic, else the CreateTime sent. */
  readonly timestamp: number;
}

/** Produces one record (acks=all) and answers where it was written; throws the broker's BrokerError. */
export async function produceRecord(client: KafkaRequester, params: ProduceRecordParams): Promise<ProducedRecord> {
  const { topic } = params;
  const partition = params.partition ?? (await choosePartition(client, params));
  const timestamp = params.timestamp ?? Date.now();
  const records = encodeRecordBatch({ records: [{ key: params.key, value: params.value, timestamp, headers: params.headers }] });
  const { body } = await client.request(
    produceApi,
    { transactionalId: null, acks: ACKS_ALL, timeoutMs: params.timeoutMs, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] },
    { timeoutMs: params.timeoutMs },
  );
  const subject = `partition ${partition} of topic "${topic}"`;
  const answer = body.responses.find((t) => t.name === topic)?.partitionResponses.find((p) => p.index === partition);
  if (answer === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'Produce answered without it', subject);
  if (answer.errorCode !== ErrorCode.NONE) {
    const detail = answer.errorMessage ?? answer.recordErrors.map((e) => e.batchIndexErrorMessage).find((m) => m !== null) ?? null;
    throw new BrokerError(answer.errorCode, detail, subject);
  }
  return { partition, offset: answer.baseOffset, timestamp: answer.logAppendTimeMs >= 0 ? answer.logAppendTimeMs : timestamp };
}

/** Metadata as the caller: the topic's partition count (its error if it has none to give), then the partitioner. */
async function choosePartition(client: KafkaRequester, params: ProduceRecordParams): Promise<number> {
  const metadata = await client.metadata([params.topic]);
  const found = metadata.topics.find((t) => t.name === params.topic);
  const subject = `topic "${params.topic}"`;
  if (found === undefined) throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, subject);
  if (found.errorCode !== ErrorCode.NONE) throw new BrokerError(found.errorCode, null, subject);
  const count = found.partitions.length;
  if (count === 0) throw new BrokerError(ErrorCode.LEADER_NOT_AVAILABLE, 'the topic has no partitions yet', subject);
  return params.key !== null ? keyPartition(params.key, count) : params.unkeyed(count);
}
