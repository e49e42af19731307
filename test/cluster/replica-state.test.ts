// The leader's bookkeeping of its followers (src/cluster/replica-state.ts): the high
// watermark is the smallest log end over the ISR, followers lagging for
// replica.lag.time.max.ms are named for removal, and caught-up outsiders for re-admission.

import t from 'tap';
import { LeaderReplicaState } from '../../src/cluster/replica-state.js';

t.test('the high watermark is the smallest log end over the ISR, never going back', async (t) => {
  const state = new LeaderReplicaState(1, [1, 2, 3], [1, 2, 3], 0, 1000);
  t.equal(state.highWatermark(10, 0), 0, 'followers that have not fetched hold it');
  state.recordFetch(2, 10, 10, 1001);
  t.equal(state.highWatermark(10, 0), 0, 'one follower still has not fetched');
  state.recordFetch(3, 4, 10, 1001);
  t.equal(state.highWatermark(10, 0), 4, 'the slowest ISR member bounds it');
  state.setIsr([1, 2]);
  t.equal(state.highWatermark(10, 4), 10, 'outside the ISR, a follower no longer holds it back');
  t.equal(state.highWatermark(3, 10), 10, 'never back');
  t.equal(new LeaderReplicaState(1, [1], [1], 0, 0).highWatermark(7, 0), 7, 'a leader alone in its ISR commits its log end');
});

t.test('a follower is caught up when it fetches what the leader had at its previous fetch', async (t) => {
  const state = new LeaderReplicaState(1, [1, 2], [1, 2], 0, 1000);
  state.recordFetch(2, 0, 5, 2000); // behind the leader's current end
  t.equal(state.follower(2)!.lastCaughtUpTimeMs, 1000, 'behind: still caught up as of when the leader took over');
  state.recordFetch(2, 5, 9, 3000); // reached what the leader had at the previous fetch (5)
  t.equal(state.follower(2)!.lastCaughtUpTimeMs, 2000, 'caught up as of the previous fetch');
  state.recordFetch(2, 9, 9, 4000);
  t.equal(state.follower(2)!.lastCaughtUpTimeMs, 4000, 'at the log end: caught up now');
  t.same(state.laggingMembers(4000 + 30_000, 30_000), [], 'exactly at the limit is not lagging');
  t.same(state.laggingMembers(4001 + 30_000, 30_000), [2], 'past it, the follower leaves the ISR');
  t.notOk(state.recordFetch(7, 0, 9, 5000), 'a broker that is no replica is refused');
});

t.test('an outsider rejoins once it holds the high watermark and this epoch\'s start', async (t) => {
  const state = new LeaderReplicaState(1, [1, 2, 3], [1, 2], 20, 0);
  state.recordFetch(3, 15, 30, 1);
  t.same(state.caughtUpOutsiders(10), [], 'below the epoch start');
  state.recordFetch(3, 25, 30, 2);
  t.same(state.caughtUpOutsiders(26), [], 'below the high watermark');
  t.same(state.caughtUpOutsiders(25), [3], 'at both: rejoins');
  t.same(state.caughtUpOutsiders(0).includes(2), false, 'ISR members are not outsiders');
});
