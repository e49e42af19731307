// The records of __transaction_state (coordinator/transaction/transaction-log.ts): keys and
// values are Kafka's TransactionLogKey v0 and TransactionLogValue v0/v1, byte for byte. The
// expected bytes below are laid out field by field from Kafka's JSON schemas, with Buffer
// methods and never the Writer, so the codec is checked against the format rather than
// against itself. Whatever bytes a load reads back, decoding either succeeds or throws a
// ProtocolError, which the loader skips.

import t from 'tap';
import { ProtocolError } from '../../src/protocol/errors.js';
import {
  decodeTransactionKey,
  decodeTransactionValue,
  encodeTransactionKey,
  encodeTransactionValue,
  NO_PRODUCER_ID,
  TransactionState,
  transactionStateName,
  type TransactionLogValue,
} from '../../src/coordinator/transaction/transaction-log.js';

// Field builders for the expected bytes, independent of the codec.
function int8(value: number): Buffer {
  const bytes = Buffer.alloc(1);
  bytes.writeInt8(value);
  return bytes;
}
function int16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeInt16BE(value);
  return bytes;
}
function int32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
}
function int64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(value));
  return bytes;
}
/** Classic string: int16 length, UTF-8. */
function classicString(text: string): Buffer {
  const utf8 = Buffer.from(text, 'utf8');
  return Buffer.concat([int16(utf8.length), utf8]);
}
/** One byte of unsigned varint: every varint in these layouts is below 128. */
function varint1(value: number): Buffer {
  if (value < 0 || value > 127) throw new Error(`varint1: ${value} takes more than one byte`);
  return Buffer.from([value]);
}
/** Compact string: unsigned varint of length + 1, UTF-8 (short strings only here). */
function compactString(text: string): Buffer {
  const utf8 = Buffer.from(text, 'utf8');
  return Buffer.concat([varint1(utf8.length + 1), utf8]);
}

const DEFAULTS = { previousProducerId: -1, nextProducerId: -1, clientTransactionVersion: 0 } as const;

/** What a call throws, or undefined. */
function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The prefix lengths of `bytes` whose decoding does not throw a ProtocolError (the answer should be none). */
function truncationsNotRefused(bytes: Buffer, decode: (bytes: Buffer) => unknown): string[] {
  const wrong: string[] = [];
  for (let length = 0; length < bytes.length; length++) {
    const error = thrown(() => decode(Buffer.from(bytes.subarray(0, length))));
    if (!(error instanceof ProtocolError)) wrong.push(`${length}: ${error === undefined ? 'decoded' : String(error)}`);
  }
  return wrong;
}

const ongoing: TransactionLogValue = {
  producerId: 4242,
  producerEpoch: 7,
  transactionTimeoutMs: 60_000,
  state: TransactionState.ongoing,
  topicPartitions: [
    { topic: 'orders', partitions: [0, 2] },
    { topic: 'payments', partitions: [1] },
  ],
  lastUpdateTimestampMs: 1_700_000_000_123,
  startTimestampMs: 1_700_000_000_000,
  ...DEFAULTS,
};

const ongoingV0Bytes = Buffer.concat([
  int16(0), // value version
  int64(4242), // ProducerId
  int16(7), // ProducerEpoch
  int32(60_000), // TransactionTimeoutMs
  int8(1), // TransactionStatus: Ongoing
  int32(2), // TransactionPartitions: 2 topics
  classicString('orders'),
  int32(2), int32(0), int32(2), // PartitionIds
  classicString('payments'),
  int32(1), int32(1),
  int64(1_700_000_000_123), // TransactionLastUpdateTimestampMs
  int64(1_700_000_000_000), // TransactionStartTimestampMs
]);

const prepareCommit: TransactionLogValue = {
  producerId: 4243,
  producerEpoch: 0,
  transactionTimeoutMs: 30_000,
  state: TransactionState.prepareCommit,
  topicPartitions: [{ topic: 'orders', partitions: [0, 1] }],
  lastUpdateTimestampMs: 1_700_000_001_000,
  startTimestampMs: 1_700_000_000_500,
  previousProducerId: 4242,
  nextProducerId: NO_PRODUCER_ID,
  clientTransactionVersion: 2,
};

const prepareCommitV1Bytes = Buffer.concat([
  int16(1), // value version
  int64(4243),
  int16(0),
  int32(30_000),
  int8(2), // PrepareCommit
  varint1(1 + 1), // compact array of 1 topic
  compactString('orders'),
  varint1(2 + 1), int32(0), int32(1), // compact PartitionIds
  varint1(0), // the element's tagged fields: none
  int64(1_700_000_001_000),
  int64(1_700_000_000_500),
  varint1(2), // two tagged fields: NextProducerId is at its default (-1) and left out
  varint1(0), varint1(8), int64(4242), // tag 0 PreviousProducerId
  varint1(2), varint1(2), int16(2), // tag 2 ClientTransactionVersion
]);

t.test('a key is int16 version 0 and the transactional id as a classic string', async (t) => {
  const expected = Buffer.concat([int16(0), classicString('txn-1')]);
  t.same([...encodeTransactionKey('txn-1')], [...expected]);
  t.equal(decodeTransactionKey(expected), 'txn-1');
});

t.test('a version 0 value with two topics has Kafka\'s layout', async (t) => {
  t.same([...encodeTransactionValue(ongoing)], [...ongoingV0Bytes], 'version 0 is the default');
  t.same([...encodeTransactionValue(ongoing, 0)], [...ongoingV0Bytes]);
  t.same(decodeTransactionValue(ongoingV0Bytes), ongoing);
});

t.test('an Empty value stores its partitions as a null array, as Kafka does', async (t) => {
  const empty: TransactionLogValue = {
    producerId: 9,
    producerEpoch: 3,
    transactionTimeoutMs: 60_000,
    state: TransactionState.empty,
    topicPartitions: [],
    lastUpdateTimestampMs: 1_700_000_002_000,
    startTimestampMs: -1,
    ...DEFAULTS,
  };
  const v0 = Buffer.concat([int16(0), int64(9), int16(3), int32(60_000), int8(0), int32(-1), int64(1_700_000_002_000), int64(-1)]);
  t.same([...encodeTransactionValue(empty)], [...v0]);
  t.same(decodeTransactionValue(v0), empty);
  // Flexible: a null compact array is length 0, and the value ends with an empty tagged section.
  const v1 = Buffer.concat([int16(1), int64(9), int16(3), int32(60_000), int8(0), varint1(0), int64(1_700_000_002_000), int64(-1), varint1(0)]);
  t.same([...encodeTransactionValue(empty, 1)], [...v1]);
  t.same(decodeTransactionValue(v1), empty);
  // Kafka adds no partition to an Empty transaction whatever the array holds; neither does this.
  const withPartitions = Buffer.concat([int16(0), int64(9), int16(3), int32(60_000), int8(0), int32(1), classicString('orders'), int32(1), int32(0), int64(1_700_000_002_000), int64(-1)]);
  t.same(decodeTransactionValue(withPartitions), empty, 'partitions of an Empty value are ignored');
  t.throws(() => encodeTransactionValue({ ...empty, topicPartitions: [{ topic: 'orders', partitions: [0] }] }), RangeError, 'an Empty transaction with partitions is a broker bug');
});

t.test('a version 1 value is flexible, with tagged fields written only when not their default', async (t) => {
  t.same([...encodeTransactionValue(prepareCommit, 1)], [...prepareCommitV1Bytes]);
  t.same(decodeTransactionValue(prepareCommitV1Bytes), prepareCommit);
  const allTagged: TransactionLogValue = { ...prepareCommit, nextProducerId: 5000 };
  const allTaggedBytes = Buffer.concat([
    prepareCommitV1Bytes.subarray(0, prepareCommitV1Bytes.length - 1 - 10 - 4),
    varint1(3),
    varint1(0), varint1(8), int64(4242),
    varint1(1), varint1(8), int64(5000), // tag 1 NextProducerId
    varint1(2), varint1(2), int16(2),
  ]);
  t.same([...encodeTransactionValue(allTagged, 1)], [...allTaggedBytes]);
  t.same(decodeTransactionValue(allTaggedBytes), allTagged);
  const noneTagged: TransactionLogValue = { ...prepareCommit, ...DEFAULTS };
  const noneTaggedBytes = Buffer.concat([prepareCommitV1Bytes.subarray(0, prepareCommitV1Bytes.length - 1 - 10 - 4), varint1(0)]);
  t.same([...encodeTransactionValue(noneTagged, 1)], [...noneTaggedBytes]);
  t.same(decodeTransactionValue(noneTaggedBytes), noneTagged);
});

t.test('version 0 leaves the producer ids out, refuses a client transaction version, and decodes defaults', async (t) => {
  const rotated: TransactionLogValue = { ...ongoing, state: TransactionState.empty, topicPartitions: [], previousProducerId: 4241, nextProducerId: 4243 };
  const bytes = encodeTransactionValue(rotated, 0);
  t.same([...bytes], [...encodeTransactionValue({ ...rotated, ...DEFAULTS }, 0)], 'the previous and next producer ids are not stored');
  t.same(decodeTransactionValue(bytes), { ...rotated, ...DEFAULTS });
  t.throws(() => encodeTransactionValue(prepareCommit, 0), { name: 'RangeError', message: /version 0 cannot carry clientTransactionVersion 2/ });
  t.throws(() => encodeTransactionValue({ ...ongoing, clientTransactionVersion: 1 }, 0), RangeError);
  t.same(decodeTransactionValue(encodeTransactionValue({ ...prepareCommit, ...DEFAULTS }, 0)), { ...prepareCommit, ...DEFAULTS });
});

t.test('unknown tagged fields are skipped, in the value and in each topic', async (t) => {
  const bytes = Buffer.concat([
    int16(1), int64(4243), int16(0), int32(30_000), int8(2),
    varint1(1 + 1),
    compactString('orders'),
    varint1(2 + 1), int32(0), int32(1),
    varint1(1), varint1(100), varint1(3), Buffer.from('foo'), // the topic's unknown tag 100
    int64(1_700_000_001_000),
    int64(1_700_000_000_500),
    varint1(4),
    varint1(0), varint1(8), int64(4242),
    varint1(2), varint1(2), int16(2),
    varint1(5), varint1(4), int32(4000), // unknown tag 5
    varint1(9), varint1(0), // unknown tag 9, empty
  ]);
  t.same(decodeTransactionValue(bytes), prepareCommit);
});

t.test('round trips', async (t) => {
  const ids = ['a', 'tx-été-事务-🚀', 'a'.repeat(0x7fff), `${'€'.repeat(10_922)}a`, ''];
  for (const id of ids) {
    const key = encodeTransactionKey(id);
    t.equal(key.length, 4 + Buffer.byteLength(id, 'utf8'));
    t.equal(decodeTransactionKey(key), id, `id of ${Buffer.byteLength(id, 'utf8')} bytes`);
  }
  t.throws(() => encodeTransactionKey('a'.repeat(0x8000)), RangeError, 'an id over 32,767 bytes cannot be written');
  t.throws(() => encodeTransactionKey(`${'€'.repeat(10_922)}ab`), RangeError, 'the limit is in bytes, not characters');

  const values: TransactionLogValue[] = [
    ongoing,
    { ...ongoing, state: TransactionState.prepareAbort, topicPartitions: [{ topic: 'données-事务', partitions: [] }] },
    { ...ongoing, state: TransactionState.completeCommit, producerId: 2 ** 53 - 1, producerEpoch: 32_767, topicPartitions: [{ topic: 't', partitions: Array.from({ length: 300 }, (_, index) => index) }] },
    { ...ongoing, state: TransactionState.completeAbort, topicPartitions: [] },
    { ...ongoing, state: TransactionState.dead, topicPartitions: [], lastUpdateTimestampMs: -1, startTimestampMs: -1 },
    { ...ongoing, state: TransactionState.prepareEpochFence, producerEpoch: -1 },
  ];
  for (const value of values) {
    for (const version of [0, 1] as const) {
      t.same(decodeTransactionValue(encodeTransactionValue(value, version)), value, `${transactionStateName(value.state)} v${version}`);
    }
    const tagged = { ...value, previousProducerId: 17, nextProducerId: 2 ** 40, clientTransactionVersion: 2 };
    t.same(decodeTransactionValue(encodeTransactionValue(tagged, 1)), tagged, `${transactionStateName(value.state)} v1 with tagged fields`);
  }
});

t.test('states have Kafka\'s ids and names', async (t) => {
  t.same(
    Object.values(TransactionState).map((id) => [id, transactionStateName(id)]),
    [[0, 'Empty'], [1, 'Ongoing'], [2, 'PrepareCommit'], [3, 'PrepareAbort'], [4, 'CompleteCommit'], [5, 'CompleteAbort'], [6, 'Dead'], [7, 'PrepareEpochFence']],
  );
  t.throws(() => encodeTransactionValue({ ...ongoing, state: 8 as never }), RangeError, 'an unknown state is not written');
});

t.test('every truncation of a key or value is a ProtocolError', async (t) => {
  t.same(truncationsNotRefused(encodeTransactionKey('tx-été'), decodeTransactionKey), []);
  t.same(truncationsNotRefused(ongoingV0Bytes, decodeTransactionValue), [], 'version 0');
  t.same(truncationsNotRefused(prepareCommitV1Bytes, decodeTransactionValue), [], 'version 1');
  t.same(truncationsNotRefused(encodeTransactionValue({ ...ongoing, state: TransactionState.empty, topicPartitions: [] }), decodeTransactionValue), [], 'Empty');
});

t.test('any single byte changed decodes or is a ProtocolError, never another error', async (t) => {
  const wrong: string[] = [];
  const goldens: [string, Buffer, (bytes: Buffer) => unknown][] = [
    ['key', encodeTransactionKey('tx-été'), decodeTransactionKey],
    ['v0', ongoingV0Bytes, decodeTransactionValue],
    ['v1', prepareCommitV1Bytes, decodeTransactionValue],
  ];
  for (const [name, golden, decode] of goldens) {
    for (let at = 0; at < golden.length; at++) {
      for (const byte of [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]) {
        const mutated = Buffer.from(golden);
        mutated[at] = byte;
        const error = thrown(() => decode(mutated));
        if (error !== undefined && !(error instanceof ProtocolError)) wrong.push(`${name} byte ${at} = ${byte}: ${String(error)}`);
      }
    }
  }
  t.same(wrong, []);
});

t.test('malformed keys and values are ProtocolErrors', async (t) => {
  const refused = (bytes: Buffer, decode: (bytes: Buffer) => unknown, message: RegExp, what: string) => {
    const error = thrown(() => decode(bytes));
    t.ok(error instanceof ProtocolError, `${what}: a ProtocolError`);
    t.match((error as Error | undefined)?.message, message, what);
  };
  const key = (version: number, rest: Buffer) => Buffer.concat([int16(version), rest]);
  refused(key(1, classicString('txn')), decodeTransactionKey, /unknown __transaction_state key version 1/, 'key version 1');
  refused(key(-1, classicString('txn')), decodeTransactionKey, /key version -1/, 'key version -1');
  refused(key(0x7fff, Buffer.alloc(0)), decodeTransactionKey, /key version 32767/, 'key version 32767');
  refused(key(0, int16(-1)), decodeTransactionKey, /null string/, 'a null transactional id');
  // 32,767 bytes that are not UTF-8 decode to three bytes each: too long for a Kafka string.
  refused(key(0, Buffer.concat([int16(0x7fff), Buffer.alloc(0x7fff, 0xff)])), decodeTransactionKey, /32767/, 'an id that is not UTF-8');

  const patched = (bytes: Buffer, at: number, write: (copy: Buffer) => void) => {
    const copy = Buffer.from(bytes);
    write(copy.subarray(at));
    return copy;
  };
  const STATE_AT = 2 + 8 + 2 + 4;
  const PARTITIONS_AT = STATE_AT + 1;
  refused(patched(ongoingV0Bytes, 0, (b) => b.writeInt16BE(2)), decodeTransactionValue, /unknown __transaction_state value version 2/, 'value version 2');
  refused(patched(ongoingV0Bytes, 0, (b) => b.writeInt16BE(-1)), decodeTransactionValue, /value version -1/, 'value version -1');
  refused(patched(ongoingV0Bytes, STATE_AT, (b) => b.writeInt8(8)), decodeTransactionValue, /unknown transaction state id 8/, 'state 8');
  refused(patched(ongoingV0Bytes, STATE_AT, (b) => b.writeInt8(-1)), decodeTransactionValue, /unknown transaction state id -1/, 'state -1');
  refused(patched(prepareCommitV1Bytes, STATE_AT, (b) => b.writeInt8(100)), decodeTransactionValue, /state id 100/, 'state 100 in version 1');
  refused(patched(ongoingV0Bytes, PARTITIONS_AT, (b) => b.writeInt32BE(-2)), decodeTransactionValue, /array of -2 elements/, 'a partitions count of -2');
  refused(patched(ongoingV0Bytes, PARTITIONS_AT, (b) => b.writeInt32BE(-0x80000000)), decodeTransactionValue, /array of -2147483648/, 'a partitions count of -2^31');
  refused(patched(ongoingV0Bytes, PARTITIONS_AT, (b) => b.writeInt32BE(0x7fffffff)), decodeTransactionValue, /2147483647 elements/, 'a partitions count past the bytes');
  refused(patched(ongoingV0Bytes, PARTITIONS_AT, (b) => b.writeInt32BE(-1)), decodeTransactionValue, /null partitions in state Ongoing/, 'null partitions outside Empty');
  const idsAt = PARTITIONS_AT + 4 + 2 + 'orders'.length;
  refused(patched(ongoingV0Bytes, idsAt, (b) => b.writeInt32BE(-1)), decodeTransactionValue, /non-nullable/, 'null partition ids');
  refused(patched(ongoingV0Bytes, idsAt, (b) => b.writeInt32BE(-7)), decodeTransactionValue, /array of -7 elements/, 'partition ids count of -7');
  refused(patched(ongoingV0Bytes, PARTITIONS_AT + 4, (b) => b.writeInt16BE(-1)), decodeTransactionValue, /null string/, 'a null topic');

  const v1 = prepareCommitV1Bytes;
  refused(patched(v1, PARTITIONS_AT + 1 + 7, (b) => b.writeUInt8(0)), decodeTransactionValue, /non-nullable/, 'null compact partition ids');
  refused(patched(v1, PARTITIONS_AT + 1, (b) => b.writeUInt8(0)), decodeTransactionValue, /null compact string/, 'a null compact topic');
  refused(patched(v1, PARTITIONS_AT, (b) => b.writeUInt8(0x7f)), decodeTransactionValue, /126 elements/, 'a compact count past the bytes');
  const taggedAt = v1.length - 15;
  refused(patched(v1, taggedAt, (b) => b.writeUInt8(0x7f)), decodeTransactionValue, /127 tagged fields/, 'a tagged count past the bytes');
  refused(patched(v1, taggedAt + 2, (b) => b.writeUInt8(4)), decodeTransactionValue, /tagged field 0 of 4 bytes, expected 8/, 'a known tag of the wrong size');
  refused(patched(v1, v1.length - 3, (b) => b.writeUInt8(3)), decodeTransactionValue, /tagged field 2 of 3 bytes, expected 2/, 'ClientTransactionVersion of the wrong size');
  refused(Buffer.concat([v1.subarray(0, taggedAt), Buffer.from([1, 9, 0xff, 0xff, 0xff, 0xff, 0xff])]), decodeTransactionValue, /varint longer than 5 bytes/, 'a size varint too long');
});
