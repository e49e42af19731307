// GroupLagHistory (src/http/group-lag-history.ts) without a broker: stand-in group coordinator and
// partition statuses, samples taken by hand. The ring (oldest first, overwritten past its points),
// series absent at a sample (null), the bounds on groups and partition series (a group marked
// incomplete), stale series dropped, topics filtered, and no timer left after close().

import t from 'tap';
import type { GroupCoordinator } from '../../src/coordinator/group-coordinator.js';
import { GroupLagHistory } from '../../src/http/group-lag-history.js';
import type { Logger } from '../../src/logger.js';
import type { PartitionStatus } from '../../src/shard/messages.js';

/** committed[group][topic/partition] = offset; highWatermarks[topic/partition]. */
function world(): { committed: Map<string, Map<string, number>>; highWatermarks: Map<string, number>; history: (bounds?: Partial<{ points: number; groupsMax: number; partitionSeriesMax: number }>) => GroupLagHistory } {
  const committed = new Map<string, Map<string, number>>();
  const highWatermarks = new Map<string, number>();
  const groups = {
    listGroups: () => ({ errorCode: 0, groups: [...committed.keys()].map((groupId) => ({ groupId, protocolType: 'consumer', state: 'Empty' })) }),
    fetchOffsets: (groupId: string) => ({
      errorCode: 0,
      offsets: [...(committed.get(groupId) ?? new Map<string, number>())].map(([key, offset]) => {
        const [topic, partition] = key.split('/');
        return { topic: topic!, partition: Number(partition), offset, errorCode: 0, leaderEpoch: -1, metadata: '' };
      }),
    }),
  } as unknown as GroupCoordinator;
  const partitions = {
    status: async (): Promise<readonly PartitionStatus[]> =>
      [...highWatermarks].map(([key, highWatermark]) => {
        const [topic, partition] = key.split('/');
        return { topic: topic!, partition: Number(partition), highWatermark, role: 'leader', replicated: false } as unknown as PartitionStatus;
      }),
  };
  const logger = { warn: () => undefined } as unknown as Logger;
  return {
    committed,
    highWatermarks,
    history: (bounds = {}) => new GroupLagHistory({ groups, partitions, logger }, { intervalMs: 60_000, points: 4, groupsMax: 10, partitionSeriesMax: 100, ...bounds }),
  };
}

t.test('the ring: oldest first, overwritten past its points, null where a partition had no offset', async (t) => {
  const { committed, highWatermarks, history: make } = world();
  const history = make();
  highWatermarks.set('a/0', 10);
  highWatermarks.set('a/1', 10);
  committed.set('g', new Map([['a/0', 4]]));
  await history.sampleOnce();
  committed.get('g')!.set('a/1', 9);
  await history.sampleOnce();
  let answer = history.history('g', null)!;
  t.same(
    answer.partitions.map((series) => [series.topic, series.partition, series.lag]),
    [
      ['a', 0, [6, 6]],
      ['a', 1, [null, 1]],
    ],
  );
  t.equal(answer.times.length, 2);
  for (const lag of [5, 4, 3]) {
    committed.get('g')!.set('a/0', 10 - lag);
    await history.sampleOnce();
  }
  answer = history.history('g', null)!;
  t.same(answer.partitions[0]!.lag, [6, 5, 4, 3], 'four points kept, the first gone');
  t.ok(answer.times.every((time, index) => index === 0 || time >= answer.times[index - 1]!), 'times oldest first');
  t.same(history.history('g', new Set(['b']))!.partitions, [], 'a topic not visible is left out');
  t.equal(history.history('nobody', null), null);
  t.same(history.topicsOf('g'), ['a']);
});

t.test('bounds: groups, partition series (the group incomplete), and stale series dropped', async (t) => {
  const { committed, highWatermarks, history: make } = world();
  const history = make({ groupsMax: 2, partitionSeriesMax: 3 });
  for (let partition = 0; partition < 4; partition++) highWatermarks.set(`a/${partition}`, 5);
  committed.set('g1', new Map([['a/0', 0], ['a/1', 0]]));
  committed.set('g2', new Map([['a/2', 0], ['a/3', 0]]));
  committed.set('g3', new Map([['a/0', 0]]));
  await history.sampleOnce();
  t.equal(history.history('g1', null)!.complete, true);
  t.equal(history.history('g2', null)!.partitions.length, 1, 'the third series fits, the fourth does not');
  t.equal(history.history('g2', null)!.complete, false, 'the group says so');
  t.equal(history.history('g3', null), null, 'a group past groupsMax has no history');
  committed.delete('g1');
  for (let sample = 0; sample < 4; sample++) await history.sampleOnce();
  t.equal(history.history('g1', null), null, 'a group absent for a whole history is dropped');
  t.equal(history.history('g2', null)!.partitions.length, 2, 'its series freed room for the rest of g2');
  t.equal(history.history('g2', null)!.complete, false, 'still incomplete while the ring holds samples without that series');
  for (let sample = 0; sample < 3; sample++) await history.sampleOnce();
  t.equal(history.history('g2', null)!.complete, true, 'complete once they left it');
  t.equal(history.history('g3', null)!.partitions.length, 1, 'and g3 has its place');
});

t.test('start() samples on a timer, close() leaves none', async (t) => {
  const { committed, highWatermarks, history: make } = world();
  highWatermarks.set('a/0', 3);
  committed.set('g', new Map([['a/0', 1]]));
  const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  const before = timers();
  const history = make();
  history.start();
  t.equal(timers(), before + 1, 'one timer while it runs');
  await history.sampleOnce(); // the first sample, under way since start()
  await history.close();
  t.equal(history.history('g', null)!.partitions[0]!.lag.at(-1), 2, 'start() took a first sample at once');
  t.equal(timers(), before, 'no timer left after close()');
  await history.sampleOnce();
  t.equal(history.history('g', null)!.times.length, 1, 'no sample after close()');
});
