// Messages of one partition, read from an offset or a time: a page of records for the admin API's
// GET /api/v1/topics/:topic/partitions/:partition/messages (the Admin UI's browser), bounded by a
// record count and a byte count (limits.adminApiMessagesMax, adminApiMessageBytesMax,
// adminApiMessageFetchesMax). Read committed, as a consumer with isolation.level=read_committed:
// records of aborted transactions and control batches are left out.
//
// The decoding is deliberately minimal: the broker's own batch decoder
// (protocol/record-validation.ts decodeBatchRecords, every codec through protocol/compression.ts),
// the aborted-transaction filter a Java consumer applies, nothing more. A batch that cannot be
// decoded is reported in `skipped`, not thrown. (A shared record decoder for the WebSocket side is
// being built separately; this can move onto it.)

import { ReadCommittedFilter } from '../protocol/read-committed.js';
import { limits } from '../config/limits.js';
import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { fetchApi } from '../protocol/generated/index.js';
import { ZERO_UUID } from '../protocol/message.js';
import { Attribute, BATCH_HEADER_BYTES, BatchField, readBatchHeader, splitBatches, type Record as KafkaRecord } from '../protocol/record-batch.js';
import { decodeBatchRecords } from '../protocol/record-validation.js';
import { EARLIEST, LATEST, listOffsets, partitionKey } from './offsets.js';

/** Fetch v13+ names topics by id. */
const LAST_FETCH_VERSION_BY_NAME = 12;
const READ_COMMITTED = 1;
const CODEC_NAMES = ['uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'];

export type MessagesFrom = { readonly offset: number } | { readonly timestamp: number } | { readonly earliest: true };

export interface ReadMessagesParams {
  readonly topic: string;
  readonly partition: number;
  readonly from: MessagesFrom;
  /** Records at most; capped at limits.adminApiMessagesMax. */
  readonly limit: number;
  readonly timeoutMs: number;
}

export interface MessagesPage {
  readonly topic: string;
  readonly partition: number;
  /** The offset the read started at (for a time: the first record at or after it). */
  readonly startOffset: number;
  readonly records: KafkaRecord[];
  /** Where the next page starts. */
  readonly nextOffset: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  /** Batches that could not be decoded: their first offset and why. */
  readonly skipped: { readonly offset: number; readonly reason: string }[];
}

/** A page of the partition's committed records from `from`, at most `limit` records and limits.adminApiMessageBytesMax bytes fetched. */
export async function readMessages(client: KafkaRequester, params: ReadMessagesParams): Promise<MessagesPage> {
  const { topic, partition } = params;
  const limit = Math.max(0, Math.min(params.limit, limits.adminApiMessagesMax));
  const subject = `partition ${partition} of topic "${topic}"`;
  let offset: number;
  if ('offset' in params.from) offset = params.from.offset;
  else {
    const timestamp = 'timestamp' in params.from ? params.from.timestamp : EARLIEST;
    const found = (await listOffsets(client, [{ topic, partition }], timestamp, params.timeoutMs, READ_COMMITTED)).get(partitionKey(topic, partition));
    if (found === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'ListOffsets answered without it', subject);
    if (found.errorCode !== ErrorCode.NONE) throw new BrokerError(found.errorCode, null, subject);
    offset = found.offset;
    if (offset < 0) {
      // No record at or after the time: the page starts at the end.
      const end = (await listOffsets(client, [{ topic, partition }], LATEST, params.timeoutMs, READ_COMMITTED)).get(partitionKey(topic, partition));
      if (end === undefined || end.errorCode !== ErrorCode.NONE) throw new BrokerError(end?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, null, subject);
      offset = end.offset;
    }
  }
  const startOffset = offset;
  const records: KafkaRecord[] = [];
  const skipped: { offset: number; reason: string }[] = [];
  let bytesLeft = limits.adminApiMessageBytesMax;
  let logStartOffset = -1;
  let highWatermark = -1;
  let lastStableOffset = -1;
  for (let fetches = 0; fetches < limits.adminApiMessageFetchesMax && records.length < limit && bytesLeft > 0; fetches++) {
    const { body } = await client.request(
      fetchApi,
      {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: bytesLeft,
        isolationLevel: READ_COMMITTED,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            topicId: ZERO_UUID,
            partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: bytesLeft }],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      },
      { maxVersion: LAST_FETCH_VERSION_BY_NAME, timeoutMs: params.timeoutMs },
    );
    if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, 'Fetch');
    const data = body.responses.find((t) => t.topic === topic)?.partitions.find((p) => p.partitionIndex === partition);
    if (data === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'Fetch answered without it', subject);
    if (data.errorCode !== ErrorCode.NONE) throw new BrokerError(data.errorCode, null, subject);
    ({ logStartOffset, highWatermark, lastStableOffset } = data);
    const bytes = data.records;
    if (bytes === null || !Buffer.isBuffer(bytes) || bytes.length === 0) break;
    bytesLeft -= bytes.length;
    const readCommitted = new ReadCommittedFilter(data.abortedTransactions ?? []);
    const batches = splitBatches(bytes);
    if (batches.length === 0) break; // the next batch is larger than the bytes left
    for (const batch of batches) {
      if (records.length >= limit) break;
      if (batch.length < BATCH_HEADER_BYTES || batch.readInt8(BatchField.magic) !== 2) {
        throw new BrokerError(ErrorCode.CORRUPT_MESSAGE, `a batch at offset ${offset} is not in record format v2`, subject);
      }
      const header = readBatchHeader(batch);
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      // Markers and records of aborted transactions: a read_committed consumer never sees them.
      if (!readCommitted.skips(batch, header.producerId, header.attributes, lastOffset) && lastOffset >= offset) {
        let decoded: KafkaRecord[] = [];
        try {
          decoded = decodeBatchRecords(batch, { inflatedBytesMax: limits.batchInflatedBytesMax, libraryHeldBytesMax: Infinity });
        } catch (error) {
          const codec = header.attributes & Attribute.compressionMask;
          skipped.push({ offset: header.baseOffset, reason: `cannot decode the ${CODEC_NAMES[codec] ?? `codec-${codec}`} batch: ${(error as Error).message}` });
        }
        let stopped = false;
        for (const record of decoded) {
          // A compressed batch may start before the position.
          if (record.offset < offset) continue;
          if (records.length >= limit) {
            stopped = true;
            break;
          }
          records.push(record);
          offset = record.offset + 1;
        }
        if (stopped) break;
      }
      offset = Math.max(offset, lastOffset + 1);
    }
    if (offset >= lastStableOffset && lastStableOffset >= 0) break;
  }
  return { topic, partition, startOffset, records, nextOffset: offset, logStartOffset, highWatermark, lastStableOffset, skipped };
}
