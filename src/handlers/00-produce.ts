// Produce (key 0), versions 3-11 (3 is the first with RecordBatch v2; 9+ flexible),
// advertised as 0-11 because librdkafka 2.0.2 compresses only when v0 is listed (as Kafka 4.0 does).
// Each partition's batch goes to the shard that owns the partition, which validates
// it (size, CRC-32C, every record as Kafka's LogValidator does, decompressing it first;
// timestamps; producer sequence), assigns offsets and appends it. A refused batch's
// response names the records that were wrong (recordErrors).
// acks=0 gets no response at all — unless a partition failed, when the connection is
// closed so the producer notices (Kafka does the same). acks=-1 (all) is answered once the
// partition's high watermark covers the batch (the partition layer's produce purgatory,
// bounded by the request's timeout); a topic whose min.insync.replicas exceeds the ISR
// gets NOT_ENOUGH_REPLICAS.
// Produce never creates a topic: as in Kafka, topics are auto-created by Metadata, and a
// produce to a topic this broker does not have — or not yet: one still being created is
// invisible until its logs exist — gets UNKNOWN_TOPIC_OR_PARTITION, which clients retry
// after refreshing their metadata.
// Transactional batches (KIP-98) need the request's transactional id (else Kafka's
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition), and each is checked against
// the coordinator's open transaction right before its append is issued (KIP-890's
// verification: the partition must have been added, under this producer id and epoch), so a
// batch outside a transaction can never hold a partition's last stable offset back.
// producer_byte_rate (KIP-13, KIP-219): once the request is answered, its size is recorded in the
// sensor of the quota that applies to the principal and client id (quota/throttle.ts), and the
// throttle time Kafka computes is the response's throttleTimeMs; the connection then reads no new
// request for that long (also after an acks=0 request, which gets no response, as Kafka mutes it).

import { ErrorCode } from '../protocol/errors.js';
import { produceApi } from '../protocol/generated/index.js';
import type { PartitionProduceResponse, ProduceResponse, TopicProduceResponse } from '../protocol/generated/produce-response.js';
import type { ProduceRequest } from '../protocol/generated/produce-request.js';
import type { Encodable } from '../protocol/message.js';
import { Attribute, BatchField, Compression, countRecords, readInt64 } from '../protocol/record-batch.js';
import { excerpt } from '../protocol/string-limits.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { CLOSE_CONNECTION, NO_RESPONSE, defineHandler, type HandlerResult, type RequestContext } from './handler.js';
import { quotaUserOf } from '../quota/throttle.js';

const ZSTD_FIRST_PRODUCE_VERSION = 7;

type PartitionResponse = Encodable<PartitionProduceResponse>;

/** Kafka's RecordError: which record of the batch (batchIndex) was wrong, and why. */
interface RecordError {
  readonly batchIndex: number;
  readonly message: string;
}

function failed(index: number, errorCode: number, errorMessage: string | null = null, recordErrors?: readonly RecordError[]): PartitionResponse {
  return {
    index,
    errorCode,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    errorMessage,
    recordErrors:
      recordErrors !== undefined && recordErrors.length > 0
        ? recordErrors.map((error) => ({ batchIndex: error.batchIndex, batchIndexErrorMessage: error.message }))
        : errorCode === ErrorCode.INVALID_RECORD && errorMessage !== null
          ? [{ batchIndex: 0, batchIndexErrorMessage: errorMessage }]
          : [],
  };
}

function hasTransactionalBatch(topics: readonly { partitionData: readonly { records: unknown }[] }[]): boolean {
  for (const topic of topics) {
    for (const partition of topic.partitionData) {
      const records = partition.records;
      if (Buffer.isBuffer(records) && records.length > BatchField.attributes + 1 && (records.readInt16BE(BatchField.attributes) & Attribute.transactional) !== 0) return true;
    }
  }
  return false;
}

export const produceHandler = defineHandler({
  minVersion: 3,
  maxVersion: 11,
  advertisedMinVersion: 0, // see Handler.advertisedMinVersion: librdkafka compresses only when v0 is advertised
  schema: produceApi,
  authorizes: true,
  async handle(request, context) {
    // Recorded as the request is taken up, before its append, not once it is answered as in
    // Kafka: Kafka reads one request of a connection at a time, Spate pipelines, so a throttle
    // earned here must mute the connection before it takes up the requests behind this one.
    const throttleTimeMs = recordProducerBytes(context);
    const result = await produce(request, context);
    if (result === CLOSE_CONNECTION) return result;
    if (context.broker.tenants.any) context.broker.tenants.accounting.add(quotaUserOf(context.session.principal), 'bytesIn', context.requestBytes);
    return result === NO_RESPONSE ? result : { ...result, throttleTimeMs };
  },
});

/** producer_byte_rate: records the request's bytes and answers the throttle time (0 without a quota), which the connection mutes for. */
function recordProducerBytes(context: RequestContext): number {
  const clientId = context.clientId ?? '';
  const user = quotaUserOf(context.session.principal);
  const quota = context.broker.clientQuotas.quotaFor(user, clientId, 'producer_byte_rate');
  if (quota === null) return 0;
  const throttleTimeMs = context.broker.clientThrottles.recordAndGetThrottleTimeMs('produce', user, clientId, quota, context.requestBytes, Date.now());
  context.throttle(throttleTimeMs);
  return throttleTimeMs;
}

async function produce(request: ProduceRequest, context: RequestContext): Promise<HandlerResult<ProduceResponse>> {
    const broker = context.broker;
    const acks = request.acks;
    const validAcks = acks === 0 || acks === 1 || acks === -1;
    const transactionalId = request.transactionalId;
    const transactionalIdRefused = transactionalId !== null && !context.authorize(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId);
    if ((transactionalId === null && hasTransactionalBatch(request.topicData)) || transactionalIdRefused) {
      // Kafka answers the whole request so: transactional records need the id their producer was initialised with, and WRITE on it.
      const message = transactionalIdRefused ? 'producing with this transactional id needs WRITE on it' : 'transactional batches need the transactional id in the request';
      const responses = request.topicData.map((topicData) => ({
        name: topicData.name,
        partitionResponses: topicData.partitionData.map((partition) => failed(partition.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, message)),
      }));
      return acks === 0 ? CLOSE_CONNECTION : { responses, throttleTimeMs: 0 };
    }
    const topics = await Promise.all(
      request.topicData.map(async (topicData): Promise<Encodable<TopicProduceResponse>> => {
        const fail = (errorCode: number, message: string | null): Encodable<TopicProduceResponse> => ({
          name: topicData.name,
          partitionResponses: topicData.partitionData.map((partition) => failed(partition.index, errorCode, message)),
        });
        if (!validAcks) return fail(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, not ${acks}`);
        // Before its existence: a topic the principal may not write is refused whether it exists or not.
        if (!context.authorize(AclOperation.WRITE, ResourceType.TOPIC, topicData.name)) return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, null);
        const topic = broker.partitions.topic(topicData.name);
        if (topic === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${excerpt(topicData.name)}' does not exist on this broker.`);
        if (topic.internal) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `clients may not produce to internal topic ${topic.name}`);
        // A tenant at its max.storage.bytes (tenant/tenants.ts): Kafka's quota error, retriable, with the limit named.
        const storageRefusal = broker.tenants.any ? broker.tenants.storageRefusal(topic.name, Date.now()) : null;
        if (storageRefusal !== null) return fail(ErrorCode.THROTTLING_QUOTA_EXCEEDED, storageRefusal);
        const partitionResponses = await Promise.all(
          topicData.partitionData.map(async (partitionData): Promise<PartitionResponse> => {
            const index = partitionData.index;
            if (!broker.partitions.hasPartition(topic, index)) return failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            const records = partitionData.records;
            let transactional = false;
            if (records === null || !Buffer.isBuffer(records) || records.length === 0) {
              return failed(index, ErrorCode.INVALID_RECORD, 'the partition has no record batch');
            }
            if (records.length > BatchField.attributes + 1) {
              const attributes = records.readInt16BE(BatchField.attributes);
              if ((attributes & Attribute.compressionMask) === Compression.zstd && context.apiVersion < ZSTD_FIRST_PRODUCE_VERSION) {
                return failed(index, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'zstd needs Produce v7 or later');
              }
              if ((attributes & Attribute.transactional) !== 0) {
                if (records.length < BatchField.producerEpoch + 2) return failed(index, ErrorCode.CORRUPT_MESSAGE, 'a batch shorter than its header');
                transactional = true;
              }
            }
            const append = () => broker.partitions.append(topic, index, records, acks, request.timeoutMs);
            let reply: Awaited<ReturnType<typeof append>>;
            if (transactional) {
              // Issued in the same turn as the verification's last check: a marker issued after it lands after this batch.
              const verified = await broker.transactions.verified(transactionalId!, readInt64(records, BatchField.producerId), records.readInt16BE(BatchField.producerEpoch), { topic: topic.name, partition: index }, append);
              if (!verified.ok) return failed(index, verified.errorCode, verified.message);
              reply = verified.result;
            } else {
              reply = await append();
            }
            if (reply.errorCode !== ErrorCode.NONE) {
              return { ...failed(index, reply.errorCode, reply.errorMessage, reply.recordErrors), logStartOffset: reply.logStartOffset };
            }
            if (broker.tenants.any) broker.tenants.produced(topic.name, records.length);
            broker.probe.produced(topic.name, records.length, countRecords(records));
            return {
              index,
              errorCode: ErrorCode.NONE,
              baseOffset: reply.baseOffset,
              logAppendTimeMs: reply.logAppendTimeMs,
              logStartOffset: reply.logStartOffset,
              recordErrors: [],
              errorMessage: null,
            };
          }),
        );
        return { name: topicData.name, partitionResponses };
      }),
    );
    if (acks === 0) {
      const anyError = topics.some((topic) => topic.partitionResponses!.some((partition) => partition.errorCode !== ErrorCode.NONE));
      if (anyError) {
        broker.logger.debug(`closing ${context.peer}: acks=0 produce failed`);
        return CLOSE_CONNECTION;
      }
      return NO_RESPONSE;
    }
    return { responses: topics, throttleTimeMs: 0 };
}
