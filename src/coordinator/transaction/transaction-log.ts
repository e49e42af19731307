// The records of __transaction_state, in Kafka's own formats (TransactionLogKey and
// TransactionLogValue) so that Kafka's tools can read them. The key is int16 version 0 and
// the transactional id. The value is an int16 version, then the producer id and epoch, the
// transaction timeout, the state's id, the partitions of the transaction grouped by topic,
// and the times of the last update and of the transaction's start. Version 0 is classic;
// version 1 (KIP-890) is flexible: compact strings and arrays, and tagged fields for the
// previous and next producer ids and the client's transaction version. Kafka writes version
// 1 once the cluster's transaction.version is at least 1, and version 0 before. A null
// value (tombstone) means the transactional id expired; the caller sees it before decoding,
// as it sees any record's value. Bytes in, values out.
//
// These bytes are read back from disk when a partition of the topic loads, so anything
// malformed is a ProtocolError, which the loader logs and skips. Values the broker asks to
// encode that Kafka could not write, or that this file would refuse to read, are the
// broker's bug and throw a RangeError.

import { ProtocolError } from '../../protocol/errors.js';
import { Reader } from '../../protocol/reader.js';
import { STRING_BYTES_MAX } from '../../protocol/string-limits.js';
import { Writer } from '../../protocol/writer.js';

const KEY_VERSION = 0;
/** The highest value version Kafka defines; higher ones are refused, as Kafka's readTxnRecordValue refuses them. */
const VALUE_VERSION_MAX = 1;
/** The first flexible version of the value. */
const VALUE_FLEXIBLE_VERSION = 1;

/** Tags of the value's tagged fields (version 1+), and the sizes of their payloads. */
const Tag = { previousProducerId: 0, nextProducerId: 1, clientTransactionVersion: 2 } as const;
const INT64_BYTES = 8;
const INT16_BYTES = 2;

/** Kafka's RecordBatch.NO_PRODUCER_ID: the default of the two tagged producer ids. */
export const NO_PRODUCER_ID = -1;
/** The default client transaction version (TV_0, transactions as before KIP-890). */
export const DEFAULT_CLIENT_TRANSACTION_VERSION = 0;

/** Kafka's transaction states by the id the value stores (TransactionState.fromId). */
export const TransactionState = {
  empty: 0,
  ongoing: 1,
  prepareCommit: 2,
  prepareAbort: 3,
  completeCommit: 4,
  completeAbort: 5,
  dead: 6,
  prepareEpochFence: 7,
} as const;

export type TransactionStateId = (typeof TransactionState)[keyof typeof TransactionState];

/** Kafka's names of the states, indexed by id: what ListTransactions and DescribeTransactions answer. */
const STATE_NAMES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence'] as const;

export function isTransactionStateId(id: number): id is TransactionStateId {
  return Number.isInteger(id) && id >= 0 && id < STATE_NAMES.length;
}

/** Kafka's name of a state ("Empty", "Ongoing", "PrepareCommit", …). */
export function transactionStateName(state: TransactionStateId): string {
  const name = STATE_NAMES[state];
  if (name === undefined) throw new RangeError(`unknown transaction state id ${state}`);
  return name;
}

export interface TxnTopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface TransactionLogValue {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly transactionTimeoutMs: number;
  readonly state: TransactionStateId;
  /** The partitions of the transaction, one entry per topic. Always empty in the Empty state. */
  readonly topicPartitions: readonly TxnTopicPartitions[];
  readonly lastUpdateTimestampMs: number;
  readonly startTimestampMs: number;
  /** The producer id of the last committed transaction (KIP-890); version 1 only, NO_PRODUCER_ID otherwise. */
  readonly previousProducerId: number;
  /** The producer id last handed to the producer (KIP-890); version 1 only, NO_PRODUCER_ID otherwise. */
  readonly nextProducerId: number;
  /** The transaction version the client uses (KIP-890); version 1 only, 0 otherwise. */
  readonly clientTransactionVersion: number;
}

export function encodeTransactionKey(transactionalId: string): Buffer {
  const writer = new Writer(64);
  writer.int16(KEY_VERSION);
  writer.string(transactionalId);
  return Buffer.from(writer.toBuffer());
}

/**
 * The transactional id of a key. Kafka's loader warns about a key of an unknown version and
 * skips its record ("a left over from an aborted upgrade"); here that is a ProtocolError,
 * which the loader skips the same way.
 */
export function decodeTransactionKey(bytes: Buffer): string {
  const reader = new Reader(bytes);
  const version = reader.int16();
  if (version !== KEY_VERSION) throw new ProtocolError(`unknown __transaction_state key version ${version}`);
  return reader.string();
}

/**
 * A value as Kafka writes it: version 0 until the cluster enables flexible records, then
 * version 1. In version 1 a tagged field is written only when it differs from its default,
 * as Kafka's generated code does. Version 0 has no room for the tagged fields. The previous
 * and next producer ids are left out of it: they are hints Kafka's valueToBytes does not
 * store even in version 1, so a producer id rotation under version 0 (which sets the
 * previous id) must still be writable. A client transaction version other than 0 is refused,
 * as Kafka's codec refuses it (UnsupportedVersionException): dropping it would reload the
 * transaction as one of a client that does not bump its epoch per transaction.
 */
export function encodeTransactionValue(value: TransactionLogValue, version: 0 | 1 = 0): Buffer {
  if (!isTransactionStateId(value.state)) throw new RangeError(`unknown transaction state id ${value.state}`);
  const flexible = version >= VALUE_FLEXIBLE_VERSION;
  if (!flexible && value.clientTransactionVersion !== DEFAULT_CLIENT_TRANSACTION_VERSION) {
    throw new RangeError(`value version ${version} cannot carry clientTransactionVersion ${value.clientTransactionVersion}`);
  }
  // Kafka stores no partitions for an Empty transaction, as a null array, and refuses a
  // value that has some: a transaction that ended or never began owns none.
  const empty = value.state === TransactionState.empty;
  if (empty && value.topicPartitions.length > 0) {
    throw new RangeError(`a transaction in state Empty has no partitions, given ${value.topicPartitions.length} topics`);
  }
  const writer = new Writer(128);
  writer.int16(version);
  writer.int64(value.producerId);
  writer.int16(value.producerEpoch);
  writer.int32(value.transactionTimeoutMs);
  writer.int8(value.state);
  if (flexible) writeFlexiblePartitions(writer, empty ? null : value.topicPartitions);
  else writeClassicPartitions(writer, empty ? null : value.topicPartitions);
  writer.int64(value.lastUpdateTimestampMs);
  writer.int64(value.startTimestampMs);
  if (flexible) writeTaggedFields(writer, value);
  return Buffer.from(writer.toBuffer());
}

function writeClassicPartitions(writer: Writer, topics: readonly TxnTopicPartitions[] | null): void {
  if (topics === null) {
    writer.arrayLength(-1);
    return;
  }
  writer.arrayLength(topics.length);
  for (const entry of topics) {
    writer.string(entry.topic);
    writer.arrayLength(entry.partitions.length);
    for (const partition of entry.partitions) writer.int32(partition);
  }
}

function writeFlexiblePartitions(writer: Writer, topics: readonly TxnTopicPartitions[] | null): void {
  if (topics === null) {
    writer.compactArrayLength(-1);
    return;
  }
  writer.compactArrayLength(topics.length);
  for (const entry of topics) {
    // Writer.compactString does not bound the length; the reader refuses a longer string, so
    // writing one would store a record no broker can load.
    const topicBytes = Buffer.byteLength(entry.topic, 'utf8');
    if (topicBytes > STRING_BYTES_MAX) throw new RangeError(`topic name of ${topicBytes} bytes exceeds ${STRING_BYTES_MAX}`);
    writer.compactString(entry.topic);
    writer.compactArrayLength(entry.partitions.length);
    for (const partition of entry.partitions) writer.int32(partition);
    writer.uvarint(0); // the element's tagged fields: none
  }
}

function writeTaggedFields(writer: Writer, value: TransactionLogValue): void {
  const writePrevious = value.previousProducerId !== NO_PRODUCER_ID;
  const writeNext = value.nextProducerId !== NO_PRODUCER_ID;
  const writeClientVersion = value.clientTransactionVersion !== DEFAULT_CLIENT_TRANSACTION_VERSION;
  writer.uvarint(Number(writePrevious) + Number(writeNext) + Number(writeClientVersion));
  // In ascending tag order, as Kafka writes them.
  if (writePrevious) {
    writer.uvarint(Tag.previousProducerId);
    writer.uvarint(INT64_BYTES);
    writer.int64(value.previousProducerId);
  }
  if (writeNext) {
    writer.uvarint(Tag.nextProducerId);
    writer.uvarint(INT64_BYTES);
    writer.int64(value.nextProducerId);
  }
  if (writeClientVersion) {
    writer.uvarint(Tag.clientTransactionVersion);
    writer.uvarint(INT16_BYTES);
    writer.int16(value.clientTransactionVersion);
  }
}

/**
 * A value of version 0 or 1. Higher versions are refused, as Kafka's readTxnRecordValue
 * refuses them (KIP-915 asks that new fields be tagged fields of version 1, which this reads
 * and skips when it does not know them). As in Kafka, the partitions of an Empty transaction
 * are ignored, and bytes after the value are not looked at.
 */
export function decodeTransactionValue(bytes: Buffer): TransactionLogValue {
  const reader = new Reader(bytes);
  const version = reader.int16();
  if (version < 0 || version > VALUE_VERSION_MAX) throw new ProtocolError(`unknown __transaction_state value version ${version}`);
  const flexible = version >= VALUE_FLEXIBLE_VERSION;
  const producerId = reader.int64();
  const producerEpoch = reader.int16();
  const transactionTimeoutMs = reader.int32();
  const state = reader.int8();
  if (!isTransactionStateId(state)) throw new ProtocolError(`unknown transaction state id ${state}`);
  const topics = flexible ? readFlexiblePartitions(reader) : readClassicPartitions(reader);
  // Kafka adds no partition to an Empty transaction whatever the array holds, and would fail
  // on a null array in any other state, which it never writes.
  if (topics === null && state !== TransactionState.empty) {
    throw new ProtocolError(`null partitions in state ${transactionStateName(state)}`);
  }
  const lastUpdateTimestampMs = reader.int64();
  const startTimestampMs = reader.int64();
  let previousProducerId = NO_PRODUCER_ID;
  let nextProducerId = NO_PRODUCER_ID;
  let clientTransactionVersion = DEFAULT_CLIENT_TRANSACTION_VERSION;
  if (flexible) {
    const count = taggedFieldCount(reader);
    for (let index = 0; index < count; index++) {
      const tag = reader.uvarint();
      const size = reader.uvarint();
      if (tag === Tag.previousProducerId) previousProducerId = readSized(tag, size, INT64_BYTES, () => reader.int64());
      else if (tag === Tag.nextProducerId) nextProducerId = readSized(tag, size, INT64_BYTES, () => reader.int64());
      else if (tag === Tag.clientTransactionVersion) clientTransactionVersion = readSized(tag, size, INT16_BYTES, () => reader.int16());
      else reader.skip(size);
    }
  }
  return {
    producerId,
    producerEpoch,
    transactionTimeoutMs,
    state,
    topicPartitions: state === TransactionState.empty || topics === null ? [] : topics,
    lastUpdateTimestampMs,
    startTimestampMs,
    previousProducerId,
    nextProducerId,
    clientTransactionVersion,
  };
}

function readClassicPartitions(reader: Reader): TxnTopicPartitions[] | null {
  const count = reader.arrayLength();
  if (count === -1) return null;
  if (count < 0) throw new ProtocolError(`partitions array of ${count} elements`);
  const topics: TxnTopicPartitions[] = [];
  for (let index = 0; index < count; index++) {
    const topic = reader.string();
    const partitionCount = reader.arrayLength();
    if (partitionCount < 0) throw new ProtocolError(`partition ids of topic ${topic}: array of ${partitionCount} elements in a non-nullable field`);
    const partitions: number[] = [];
    for (let partition = 0; partition < partitionCount; partition++) partitions.push(reader.int32());
    topics.push({ topic, partitions });
  }
  return topics;
}

function readFlexiblePartitions(reader: Reader): TxnTopicPartitions[] | null {
  const count = reader.compactArrayLength();
  if (count === -1) return null;
  const topics: TxnTopicPartitions[] = [];
  for (let index = 0; index < count; index++) {
    const topic = reader.compactString();
    const partitionCount = reader.compactArrayLength();
    if (partitionCount < 0) throw new ProtocolError(`partition ids of topic ${topic}: null in a non-nullable field`);
    const partitions: number[] = [];
    for (let partition = 0; partition < partitionCount; partition++) partitions.push(reader.int32());
    // The element's tagged fields: none is known in version 1, so all are skipped.
    const tagged = taggedFieldCount(reader);
    for (let field = 0; field < tagged; field++) {
      reader.uvarint();
      reader.skip(reader.uvarint());
    }
    topics.push({ topic, partitions });
  }
  return topics;
}

/** A tagged-field count, bounded by the bytes left (a field is at least a tag and a size byte). */
function taggedFieldCount(reader: Reader): number {
  const count = reader.uvarint();
  if (count * 2 > reader.remaining) throw new ProtocolError(`${count} tagged fields in ${reader.remaining} remaining bytes`);
  return count;
}

/** A known tagged field, whose payload must be exactly the size its type has. */
function readSized(tag: number, size: number, expected: number, read: () => number): number {
  if (size !== expected) throw new ProtocolError(`tagged field ${tag} of ${size} bytes, expected ${expected}`);
  return read();
}
