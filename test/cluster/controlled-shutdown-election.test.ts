// Kafka's ControlledShutdownLeaderElection as election.ts decides it: the first replica in
// assignment order that is alive, in the ISR and not shutting down; the ISR loses the brokers
// shutting down; no such replica, no change (the partition stays with its leader).

import t from 'tap';
import { electControlledShutdownLeader, type LeaderAndIsr } from '../../src/cluster/controller/election.js';

const state = (leader: number, isr: number[]): LeaderAndIsr => ({ leader, leaderEpoch: 4, isr, controllerEpoch: 1, partitionEpoch: 7, leaderRecoveryState: 0 });
const alive = (ids: number[]) => (id: number): boolean => ids.includes(id);

t.test('the first live in-sync replica in assignment order that is not shutting down leads', async (t) => {
  t.same(electControlledShutdownLeader([1, 2, 3], state(1, [1, 2, 3]), alive([1, 2, 3]), (id) => id === 1), { leader: 2, isr: [2, 3] });
  t.same(electControlledShutdownLeader([1, 3, 2], state(1, [1, 2, 3]), alive([1, 2, 3]), (id) => id === 1), { leader: 3, isr: [2, 3] }, 'assignment order, not ISR order');
  t.same(electControlledShutdownLeader([1, 2, 3], state(1, [1, 3]), alive([1, 2, 3]), (id) => id === 1), { leader: 3, isr: [3] }, 'a replica outside the ISR is skipped');
  t.same(electControlledShutdownLeader([1, 2, 3], state(1, [1, 2, 3]), alive([1, 3]), (id) => id === 1), { leader: 3, isr: [2, 3] }, 'a dead replica is skipped (its ISR place is for the failure path to clear)');
  t.same(electControlledShutdownLeader([1, 2, 3], state(1, [1, 2, 3]), alive([1, 2, 3]), (id) => id === 1 || id === 2), { leader: 3, isr: [3] }, 'every broker shutting down leaves the ISR and is skipped');
});

t.test('no eligible replica: no change', async (t) => {
  t.equal(electControlledShutdownLeader([1, 2], state(1, [1]), alive([1, 2]), (id) => id === 1), null, 'the broker is the only ISR member');
  t.equal(electControlledShutdownLeader([1, 2], state(1, [1, 2]), alive([1]), (id) => id === 1), null, 'the other ISR member is dead');
  t.equal(electControlledShutdownLeader([1, 2], state(1, [1, 2]), alive([1, 2]), (id) => id === 1 || id === 2), null, 'the other ISR member is shutting down too');
});
