// The reassignment decisions of src/cluster/controller/reassignment.ts as pure functions:
// the full replica set and what is added and removed (Kafka's ReplicaAssignment.reassignTo),
// cancellation back to the original replicas, Kafka's validation of a target, completion, and
// the leader and ISR a completed reassignment leaves.

import t from 'tap';
import {
  completedLeaderAndIsr,
  isReassignmentComplete,
  originReplicas,
  reassignTo,
  targetReplicas,
  validateTarget,
  withoutReplicas,
} from '../../src/cluster/controller/reassignment.js';
import type { LeaderAndIsr } from '../../src/cluster/controller/election.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const state = (leader: number, isr: number[]): LeaderAndIsr => ({ leader, isr, leaderEpoch: 3, controllerEpoch: 1, partitionEpoch: 5, leaderRecoveryState: 0 });
const alive = (ids: number[]) => (id: number): boolean => ids.includes(id);

t.test('reassignTo: target first, then the original replicas not in it', async (t) => {
  const moving = reassignTo({ replicas: [1, 2, 3], adding: [], removing: [] }, [2, 3, 4]);
  t.same(moving, { replicas: [2, 3, 4, 1], adding: [4], removing: [1] });
  // Kafka's originReplicas is the full set less the replicas being added: the original brokers, in the full set's order.
  t.same([originReplicas(moving), targetReplicas(moving)], [[2, 3, 1], [2, 3, 4]]);
  t.same(reassignTo(moving, [3, 5]), { replicas: [3, 5, 2, 1], adding: [5], removing: [2, 1] }, 'a new target during a reassignment starts from the original replicas');
  t.same(reassignTo(moving, originReplicas(moving)), { replicas: [2, 3, 1], adding: [], removing: [] }, 'cancelling: back to the original replicas (in the full set\'s order, as Kafka), nothing added or removed');
  t.same(reassignTo({ replicas: [1, 2, 3], adding: [], removing: [] }, [1, 2]), { replicas: [1, 2, 3], adding: [], removing: [3] }, 'shrinking only removes');
});

t.test('validateTarget: Kafka checks', async (t) => {
  const current = { replicas: [1, 2, 3], adding: [], removing: [] };
  const live = alive([1, 2, 3, 4]);
  t.equal(validateTarget(current, [], live, [1, 2, 3, 4])?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'empty');
  t.equal(validateTarget(current, [1, 1], live, [1, 2, 3, 4])?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'duplicate');
  t.equal(validateTarget(current, [1, -1], live, [1, 2, 3, 4])?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'negative');
  t.equal(validateTarget(current, [1, 5], live, [1, 2, 3, 4])?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'a broker to add that is not alive');
  t.equal(validateTarget(current, [2, 3, 4], live, [1, 2, 3, 4]), null, 'valid');
  t.equal(validateTarget({ replicas: [1, 2, 5], adding: [], removing: [] }, [1, 5], live, [1, 2, 3, 4]), null, 'a dead broker already a replica may stay');
  const many = Array.from({ length: 1_000_000 }, (_, index) => index + 1);
  // A check quadratic in the list (10^12 steps here) would not end within the test's timeout.
  const refused = validateTarget(current, many, live, [1, 2, 3, 4]);
  t.equal(refused?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'a million brokers: refused (not alive)');
  t.ok((refused?.errorMessage ?? '').length < 400, 'its message names a few of them only');
});

t.test('completion and the state it leaves', async (t) => {
  const moving = { replicas: [2, 3, 4, 1], adding: [4], removing: [1] };
  t.notOk(isReassignmentComplete(moving, state(1, [1, 2, 3])), 'broker 4 not yet in the ISR');
  t.ok(isReassignmentComplete(moving, state(1, [1, 2, 3, 4])), 'every target replica in the ISR');
  t.notOk(isReassignmentComplete(moving, undefined), 'no state: not complete');
  t.same(completedLeaderAndIsr([2, 3, 4], state(1, [1, 2, 3, 4]), alive([1, 2, 3, 4])), { leader: 2, isr: [2, 3, 4] }, 'a leader being removed hands over to the first target replica in the ISR');
  t.same(completedLeaderAndIsr([2, 3, 4], state(3, [1, 2, 3, 4]), alive([1, 2, 3, 4])), { leader: 3, isr: [2, 3, 4] }, 'a leader among the targets keeps leading');
  t.same(completedLeaderAndIsr([2, 3, 4], state(1, [1, 2, 3, 4]), alive([1, 3, 4])), { leader: 3, isr: [2, 3, 4] }, 'a dead target replica is skipped');
  t.equal(completedLeaderAndIsr([2], state(1, [1, 2]), alive([1])), null, 'no target replica can lead: the reassignment waits');
  t.same(withoutReplicas([1, 2, 3], state(1, [1, 2, 3, 5]), [5], alive([1, 2, 3, 5])), { leader: 1, isr: [1, 2, 3] }, 'an unneeded replica leaves the ISR');
  t.equal(withoutReplicas([1, 2, 3], state(1, [1, 2, 3]), [5], alive([1, 2, 3])), null, 'one not in the ISR changes nothing');
  t.same(withoutReplicas([1, 2, 3], state(5, [5, 2]), [5], alive([1, 2, 3, 5])), { leader: 2, isr: [2] }, 'an unneeded leader hands over');
});
