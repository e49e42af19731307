// The aborted-transaction index (storage/txn-index.ts): Kafka's .txnindex bytes, its search
// over a fetch range, truncation, and a file that cannot be the segment's.

import t from 'tap';
import { InvariantViolation } from '../../src/storage/invariant.js';
import { ABORTED_TXN_BYTES, TxnIndex } from '../../src/storage/txn-index.js';

t.test('entries are Kafka\'s 34-byte AbortedTxn, and decode back', async (t) => {
  const index = new TxnIndex(100);
  index.append({ producerId: 7, firstOffset: 90, lastOffset: 105, lastStableOffset: 106 });
  index.append({ producerId: 2 ** 40, firstOffset: 110, lastOffset: 120, lastStableOffset: 95 });
  const bytes = index.encode();
  t.equal(bytes.length, 2 * ABORTED_TXN_BYTES);
  t.same([...bytes.subarray(0, ABORTED_TXN_BYTES)], [
    0, 0, // version
    0, 0, 0, 0, 0, 0, 0, 7, // producer id
    0, 0, 0, 0, 0, 0, 0, 90, // first offset
    0, 0, 0, 0, 0, 0, 0, 105, // last offset (the marker)
    0, 0, 0, 0, 0, 0, 0, 106, // last stable offset
  ]);
  t.equal(index.encode(1).length, ABORTED_TXN_BYTES, 'encode(from) gives the entries not yet in the file');
  const loaded = TxnIndex.decode(100, bytes, 200);
  t.same(loaded.all(), index.all());
  t.equal(loaded.persistedCount, 2);
});

t.test('collect finds the transactions overlapping a fetch range, and says when to stop', async (t) => {
  const index = new TxnIndex(0);
  index.append({ producerId: 1, firstOffset: 0, lastOffset: 10, lastStableOffset: 11 });
  index.append({ producerId: 2, firstOffset: 5, lastOffset: 20, lastStableOffset: 15 }); // producer 3's transaction, open from 15, held the LSO back
  index.append({ producerId: 3, firstOffset: 15, lastOffset: 30, lastStableOffset: 31 });
  const producers = (found: { aborted: { producerId: number }[] }) => found.aborted.map((entry) => entry.producerId);
  t.same(producers(index.collect(0, 5)), [1], 'a range before the second transaction');
  t.equal(index.collect(0, 5).complete, true, 'the first entry\'s stable offset passed the range');
  t.same(producers(index.collect(11, 16)), [2, 3], 'the marker of 1 is before the range');
  t.equal(index.collect(11, 16).complete, true);
  t.same(producers(index.collect(21, 40)), [3]);
  t.equal(index.collect(21, 40).complete, false, 'a later segment may hold markers of this range');
  t.same(producers(index.collect(31, 40)), [], 'every marker before the fetch offset');
});

t.test('truncation drops markers at or after the offset', async (t) => {
  const index = new TxnIndex(0);
  index.append({ producerId: 1, firstOffset: 0, lastOffset: 10, lastStableOffset: 11 });
  index.append({ producerId: 2, firstOffset: 12, lastOffset: 20, lastStableOffset: 21 });
  index.persistedCount = 2;
  index.truncateTo(20);
  t.equal(index.size, 1);
  t.equal(index.persistedCount, 1);
  index.truncateTo(11);
  t.equal(index.size, 1, 'a marker before the offset stays');
  index.append({ producerId: 3, firstOffset: 11, lastOffset: 12, lastStableOffset: 13 });
  t.equal(index.size, 2, 'appending after a truncation continues from what is left');
});

t.test('appends out of order or outside the segment are refused', async (t) => {
  const index = new TxnIndex(100);
  index.append({ producerId: 1, firstOffset: 100, lastOffset: 110, lastStableOffset: 111 });
  t.throws(() => index.append({ producerId: 1, firstOffset: 100, lastOffset: 110, lastStableOffset: 111 }), InvariantViolation, 'the same marker twice');
  t.throws(() => index.append({ producerId: 1, firstOffset: 100, lastOffset: 99, lastStableOffset: 111 }), InvariantViolation, 'a marker before the segment');
  t.throws(() => index.append({ producerId: 1, firstOffset: 130, lastOffset: 120, lastStableOffset: 121 }), InvariantViolation, 'a first offset after the marker');
  t.throws(() => index.append({ producerId: -1, firstOffset: 115, lastOffset: 120, lastStableOffset: 121 }), InvariantViolation, 'no producer');
});

t.test('a file that cannot be the segment\'s is refused whole', async (t) => {
  const good = new TxnIndex(100);
  good.append({ producerId: 1, firstOffset: 100, lastOffset: 110, lastStableOffset: 111 });
  good.append({ producerId: 2, firstOffset: 105, lastOffset: 120, lastStableOffset: 121 });
  const bytes = good.encode();
  t.equal(TxnIndex.decode(100, Buffer.alloc(0), 100).size, 0, 'an empty file is an empty index');
  const cases: [RegExp, Buffer, number, number][] = [
    [/not a whole number/, bytes.subarray(0, 40), 100, 200],
    [/marker offset 120 .* outside the segment \[100, 120\)/, bytes, 100, 120],
    [/marker offset 110 .* outside the segment \[111, 200\)/, bytes, 111, 200],
  ];
  const version = Buffer.from(bytes);
  version.writeInt16BE(1, 0);
  cases.push([/entry version 1 at byte 0/, version, 100, 200]);
  const swapped = Buffer.concat([bytes.subarray(ABORTED_TXN_BYTES), bytes.subarray(0, ABORTED_TXN_BYTES)]);
  cases.push([/marker offset 110 at byte 34 is not after 120/, swapped, 100, 200]);
  const huge = Buffer.from(bytes);
  huge.writeBigInt64BE(2n ** 62n, 2);
  cases.push([/outside the safe integer range/, huge, 100, 200]);
  const inverted = Buffer.from(bytes);
  inverted.writeBigInt64BE(115n, 10);
  cases.push([/not a transaction's range/, inverted, 100, 200]);
  for (const [message, file, baseOffset, nextOffset] of cases) t.throws(() => TxnIndex.decode(baseOffset, file, nextOffset), { name: 'CorruptTxnIndexError', message }, String(message));
});
