// Transaction markers: the control batches a transaction's end leaves in every partition it
// wrote (KIP-98). Kafka's layout: a v2 batch whose attributes say transactional and control,
// carrying the producer's id and epoch, no sequence, and one record whose key is
// (int16 version 0, int16 type: ABORT 0, COMMIT 1) and whose value is (int16 version 0,
// int32 coordinator epoch). Consumers skip control batches; read_committed ones use the
// ABORT markers, through the aborted-transactions list of a fetch, to drop aborted data.
// Markers are written by the broker, never produced by clients (checkProducedBatch refuses
// them), so parsing one only ever sees what a broker wrote: this one, or a leader it
// replicates from, which is why a malformed marker is an error rather than a skip.

import { Attribute, BATCH_HEADER_BYTES, BatchField, decodeRecords, encodeRecordBatch, NO_SEQUENCE, readInt64, type Record } from './record-batch.js';

/** Control record types (Kafka's ControlRecordType); only the two a transaction writes are known here. */
export const ControlType = { abort: 0, commit: 1 } as const;

const CONTROL_KEY_VERSION = 0;
const END_TXN_MARKER_VERSION = 0;
/** int16 version + int16 type. */
const CONTROL_KEY_BYTES = 4;
/** int16 version + int32 coordinator epoch. */
const END_TXN_MARKER_BYTES = 6;

export interface EndTxnMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The epoch of the transaction coordinator that decided the outcome (a fenced coordinator's markers are refused). */
  readonly coordinatorEpoch: number;
  readonly commit: boolean;
}

export interface MarkerBatchInput extends EndTxnMarker {
  readonly baseOffset?: number;
  readonly timestamp: number;
  readonly partitionLeaderEpoch?: number;
}

/** The control batch of one end-transaction marker, uncompressed, with its CRC. */
export function encodeMarkerBatch(input: MarkerBatchInput): Buffer {
  const key = Buffer.alloc(CONTROL_KEY_BYTES);
  key.writeInt16BE(CONTROL_KEY_VERSION, 0);
  key.writeInt16BE(input.commit ? ControlType.commit : ControlType.abort, 2);
  const value = Buffer.alloc(END_TXN_MARKER_BYTES);
  value.writeInt16BE(END_TXN_MARKER_VERSION, 0);
  value.writeInt32BE(input.coordinatorEpoch, 2);
  return encodeRecordBatch({
    records: [{ key, value, timestamp: input.timestamp }],
    baseOffset: input.baseOffset ?? 0,
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    baseSequence: NO_SEQUENCE,
    transactional: true,
    control: true,
    partitionLeaderEpoch: input.partitionLeaderEpoch ?? -1,
  });
}

/** Why a control batch could not be read as an end-transaction marker. */
export class InvalidMarkerError extends Error {
  override readonly name = 'InvalidMarkerError';
}

/**
 * The end-transaction marker a control batch carries, or null for a control batch of another
 * type (Kafka has others, such as KRaft's; consumers and this broker ignore them). Throws
 * InvalidMarkerError when the batch is not a well-formed marker: a control batch that is not
 * transactional, holds other than one record, or has a key or value too short or with a
 * negative version. Versions above 0 are read as version 0, as Kafka does.
 */
export function readMarkerBatch(batch: Buffer): EndTxnMarker | null {
  if (batch.length < BATCH_HEADER_BYTES) throw new InvalidMarkerError(`a batch of ${batch.length} bytes`);
  const attributes = batch.readInt16BE(BatchField.attributes);
  if ((attributes & Attribute.control) === 0) throw new InvalidMarkerError('not a control batch');
  if ((attributes & Attribute.compressionMask) !== 0) throw new InvalidMarkerError('a compressed control batch');
  const count = batch.readInt32BE(BatchField.recordsCount);
  if (count !== 1) throw new InvalidMarkerError(`a control batch of ${count} records`);
  let records: Record[];
  try {
    records = decodeRecords(batch);
  } catch (error) {
    throw new InvalidMarkerError(`a control record that cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { key, value } = records[0]!;
  if (key === null || key.length < CONTROL_KEY_BYTES) throw new InvalidMarkerError('a control record key shorter than 4 bytes');
  if (key.readInt16BE(0) < 0) throw new InvalidMarkerError(`control record key version ${key.readInt16BE(0)}`);
  const type = key.readInt16BE(2);
  if (type !== ControlType.abort && type !== ControlType.commit) return null;
  if ((attributes & Attribute.transactional) === 0) throw new InvalidMarkerError('an end-transaction marker in a batch that is not transactional');
  if (value === null || value.length < END_TXN_MARKER_BYTES) throw new InvalidMarkerError('an end-transaction marker value shorter than 6 bytes');
  if (value.readInt16BE(0) < 0) throw new InvalidMarkerError(`end-transaction marker version ${value.readInt16BE(0)}`);
  return {
    producerId: readInt64(batch, BatchField.producerId),
    producerEpoch: batch.readInt16BE(BatchField.producerEpoch),
    coordinatorEpoch: value.readInt32BE(2),
    commit: type === ControlType.commit,
  };
}

/**
 * The end-transaction marker of a stored control batch, or null when it holds none: another
 * control type, or one that cannot be read (a log keeps it; it changes no transaction).
 */
export function storedMarker(batch: Buffer): EndTxnMarker | null {
  try {
    return readMarkerBatch(batch);
  } catch (error) {
    if (error instanceof InvalidMarkerError) return null;
    throw error;
  }
}
