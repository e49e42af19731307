// Transactions in a partition's producer state (storage/producer-state.ts): a producer's
// first transactional batch opens its transaction, its marker closes it, the oldest open
// one is the first unstable offset, and neither the bound on producers nor their expiry
// may forget a producer whose transaction is open.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { limits } from '../../src/config/limits.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ProducerStateManager, snapshotFileName, type ProducerBatch } from '../../src/storage/producer-state.js';
import { temporaryDirectory as directory } from '../helpers/broker-process.js';

const txn = (producerId: number, baseSequence: number, records = 1, producerEpoch = 0): ProducerBatch => ({ producerId, producerEpoch, baseSequence, lastOffsetDelta: records - 1, transactional: true });

t.test('a transactional batch opens a transaction that only its marker ends', async (t) => {
  const state = new ProducerStateManager(directory(t));
  t.equal(state.firstUnstableOffset(), -1, 'nothing open');
  t.same(state.check(txn(7, 0, 3)), { kind: 'append' });
  state.update(txn(7, 0, 3), 10, 12, 1000);
  t.equal(state.firstUnstableOffset(), 10);
  state.update(txn(7, 3), 13, 13, 1001);
  t.equal(state.firstUnstableOffset(), 10, 'a later batch of the same transaction does not move it');
  const plain = { producerId: 7, producerEpoch: 0, baseSequence: 4, lastOffsetDelta: 0 };
  const refused = state.check(plain);
  t.equal(refused.kind === 'error' && refused.errorCode, ErrorCode.INVALID_TXN_STATE, 'a batch that is not transactional cannot join an open transaction');
  t.same(state.checkMarker({ producerId: 7, producerEpoch: 0, coordinatorEpoch: 0, commit: true }), { kind: 'append' });
  t.equal(state.lastStableOffsetAfter(7, 14), 15, 'no other transaction: the LSO moves past the marker');
  t.same(state.completeTxn({ producerId: 7, producerEpoch: 0, coordinatorEpoch: 0, commit: true }, 14, 1002), { producerId: 7, firstOffset: 10, lastOffset: 14, aborted: false });
  t.equal(state.firstUnstableOffset(), -1);
  t.same(state.check(plain), { kind: 'append' }, 'after the marker the producer may write outside a transaction');
});

t.test('interleaved transactions: the oldest open one holds the LSO', async (t) => {
  const state = new ProducerStateManager(directory(t));
  state.update(txn(1, 0), 0, 0, 1);
  state.update(txn(2, 0, 5), 1, 5, 1);
  state.update(txn(1, 1), 6, 6, 1);
  t.equal(state.firstUnstableOffset(), 0);
  t.equal(state.lastStableOffsetAfter(2, 7), 0, 'producer 1 is still open from offset 0');
  t.same(state.completeTxn({ producerId: 2, producerEpoch: 0, coordinatorEpoch: 3, commit: false }, 7, 2), { producerId: 2, firstOffset: 1, lastOffset: 7, aborted: true });
  t.equal(state.firstUnstableOffset(), 0);
  t.equal(state.lastStableOffsetAfter(1, 8), 9);
  state.completeTxn({ producerId: 1, producerEpoch: 0, coordinatorEpoch: 3, commit: true }, 8, 3);
  t.equal(state.firstUnstableOffset(), -1);
  t.equal(state.entry(2)!.coordinatorEpoch, 3);
});

t.test('markers: fenced epochs and coordinators are refused; a marker with nothing open still completes', async (t) => {
  const state = new ProducerStateManager(directory(t));
  t.same(state.checkMarker({ producerId: 9, producerEpoch: 0, coordinatorEpoch: 0, commit: false }), { kind: 'append' }, 'a producer never seen here');
  t.same(state.completeTxn({ producerId: 9, producerEpoch: 2, coordinatorEpoch: 4, commit: false }, 20, 1), { producerId: 9, firstOffset: 20, lastOffset: 20, aborted: true }, 'an empty transaction spans its marker alone');
  const older = state.checkMarker({ producerId: 9, producerEpoch: 1, coordinatorEpoch: 4, commit: true });
  t.equal(older.kind === 'error' && older.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  const fenced = state.checkMarker({ producerId: 9, producerEpoch: 2, coordinatorEpoch: 3, commit: true });
  t.equal(fenced.kind === 'error' && fenced.errorCode, ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  t.same(state.checkMarker({ producerId: 9, producerEpoch: 3, coordinatorEpoch: 5, commit: true }), { kind: 'append' });
  state.update(txn(9, 0, 1, 3), 21, 21, 2);
  state.completeTxn({ producerId: 9, producerEpoch: 4, coordinatorEpoch: 5, commit: false }, 22, 3);
  t.equal(state.entry(9)!.epoch, 4, 'a marker with a newer epoch (the coordinator fenced the producer) moves the epoch');
  t.same(state.entry(9)!.batches, [], 'and forgets the older epoch\'s batches');
});

t.test('neither the bound nor expiry forgets a producer with an open transaction', async (t) => {
  const state = new ProducerStateManager(directory(t));
  state.update(txn(1, 0), 0, 0, 0);
  for (let index = 0; index < limits.producersPerPartitionMax + 10; index++) {
    state.update({ producerId: 100 + index, producerEpoch: 0, baseSequence: 0, lastOffsetDelta: 0 }, 1 + index, 1 + index, 0);
  }
  t.ok(state.size <= limits.producersPerPartitionMax, `${state.size} held`);
  t.equal(state.entry(1)!.currentTxnFirstOffset, 0, 'the oldest producer, in a transaction, is kept');
  t.equal(state.entry(100), undefined, 'the oldest without one is forgotten instead');
  state.expire(10_000_000, 1000);
  t.equal(state.size, 1, 'expiry leaves only the open transaction');
  t.equal(state.firstUnstableOffset(), 0);
});

t.test('snapshots keep open transactions; a version 1 snapshot has none', async (t) => {
  const dir = directory(t);
  const state = new ProducerStateManager(dir);
  state.update(txn(3, 0), 5, 5, 1);
  state.update(txn(2, 0), 4 + 3, 7, 1);
  state.completeTxn({ producerId: 2, producerEpoch: 0, coordinatorEpoch: 1, commit: true }, 8, 1);
  state.update(txn(2, 1), 9, 9, 1);
  state.writeSnapshot(10);
  const loaded = new ProducerStateManager(dir);
  t.equal(loaded.loadLatestSnapshot(10, 0), 10);
  t.equal(loaded.firstUnstableOffset(), 5);
  t.equal(loaded.lastStableOffsetAfter(3, 11), 9, 'producer 2\'s transaction from 9 is open too');
  t.equal(loaded.entry(2)!.coordinatorEpoch, 1);
  writeFileSync(join(dir, snapshotFileName(12)), JSON.stringify({ version: 1, offset: 12, producers: [{ producerId: 5, epoch: 0, lastTimestamp: 1, batches: [] }] }));
  const old = new ProducerStateManager(dir);
  t.equal(old.loadLatestSnapshot(12, 0), 12);
  t.equal(old.entry(5)!.currentTxnFirstOffset, -1);
  t.equal(old.firstUnstableOffset(), -1);
});
