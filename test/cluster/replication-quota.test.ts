// Replication throttles (KIP-73) as pure rules: the sliding-window rate (Kafka's SampledStat
// with SimpleRate), the throttled-replicas lists read for one broker, and when a quota is
// exceeded. A clock is passed in, so nothing here waits.

import t from 'tap';
import { LONG_MAX } from '../../src/config/definitions.js';
import { validateTopicConfigs } from '../../src/config/broker-config.js';
import { LEADER_THROTTLED_REPLICAS, parseThrottledReplicas, ReplicationQuota, SampledRate } from '../../src/cluster/replication-quota.js';

t.test('the rate is measured over the time recorded, at least one window, never a whole window at once', async (t) => {
  const rate = new SampledRate(11, 1000);
  t.equal(rate.bytesPerSecond(0), 0, 'nothing recorded: 0');
  rate.record(1000, 0);
  t.equal(rate.bytesPerSecond(0), 1000, 'first bytes: over one window');
  t.equal(rate.bytesPerSecond(500), 1000, 'within the first window: still over one window');
  rate.record(3000, 1500);
  t.equal(rate.bytesPerSecond(2000), 2000, '4000 bytes over 2 s');
  t.equal(rate.bytesPerSecond(4000), 1000, '4000 bytes over 4 s');
});

t.test('samples older than window.num windows are forgotten: the window slides', async (t) => {
  const rate = new SampledRate(3, 1000);
  rate.record(3000, 0);
  rate.record(600, 1000);
  rate.record(600, 2000);
  t.equal(rate.bytesPerSecond(2500), 4200 / 2.5, 'all three samples kept');
  // At 3000 the first sample (begun at 0) is 3 windows old: gone.
  t.equal(rate.bytesPerSecond(3000), 1200 / 2, 'the first sample forgotten');
  rate.record(600, 3000);
  rate.record(0, 4000);
  t.equal(rate.bytesPerSecond(4500), 1200 / 2.5, 'at most window.num samples');
  t.equal(rate.bytesPerSecond(100_000), 0, 'long idle: nothing kept');
});

t.test('a rate refuses a window of nothing', async (t) => {
  t.throws(() => new SampledRate(0, 1000));
  t.throws(() => new SampledRate(1, 0));
});

t.test('throttled-replicas lists are read for one broker, as Kafka\'s TopicConfigHandler reads them', async (t) => {
  t.equal(parseThrottledReplicas('*', 1), 'all');
  t.equal(parseThrottledReplicas(' * ', 7), 'all', 'spaces around * are allowed');
  t.same([...(parseThrottledReplicas('0:1,1:2,2:1', 1) as Set<number>)], [0, 2], 'the partitions listed with broker 1');
  t.same([...(parseThrottledReplicas('0:1, 1:2 ,3:2', 2) as Set<number>)], [1, 3], 'entries are trimmed');
  t.same([...(parseThrottledReplicas('0:1', 3) as Set<number>)], [], 'a broker not named throttles nothing');
  t.same([...(parseThrottledReplicas('', 1) as Set<number>)], [], 'empty: nothing');
  t.same([...(parseThrottledReplicas(undefined, 1) as Set<number>)], [], 'unset: nothing');
});

t.test('the topic configs accept Kafka\'s forms only (ThrottledReplicaListValidator)', async (t) => {
  const check = (value: string) => validateTopicConfigs(new Map([[LEADER_THROTTLED_REPLICAS, value]]));
  for (const good of ['', '*', '0:1', '0:1,1:2', '0:1, 1:2']) t.equal(check(good), undefined, `"${good}" accepted`);
  for (const bad of ['all', '0', '0:', ':1', '*,0:1', '0:1;1:2', '-1:1', 'a:b']) t.not(check(bad), undefined, `"${bad}" refused`);
});

t.test('a quota is exceeded only above its bound, only when bounded, and only for listed partitions', async (t) => {
  let nowMs = 0;
  let bound = 1000;
  const quota = new ReplicationQuota({ brokerId: 2, replicasKey: LEADER_THROTTLED_REPLICAS, rateBytesPerSecond: () => bound, windowCount: 11, windowMs: 1000, now: () => nowMs });
  const configs = { [LEADER_THROTTLED_REPLICAS]: '0:2,1:3' };
  t.ok(quota.isThrottled(configs, 0), 'partition 0 listed for broker 2');
  t.notOk(quota.isThrottled(configs, 1), 'partition 1 listed for broker 3 only');
  t.notOk(quota.isThrottled({}, 0), 'a topic without the key: nothing throttled');
  t.ok(quota.isThrottled({ [LEADER_THROTTLED_REPLICAS]: '*' }, 5), '*: every partition');
  quota.record(1000);
  t.notOk(quota.isExceeded(), 'exactly at the bound: not exceeded (Kafka\'s upper bound is inclusive)');
  quota.record(1);
  t.ok(quota.isExceeded(), 'above the bound: exceeded');
  nowMs = 2000;
  t.notOk(quota.isExceeded(), 'time passing brings the rate under');
  bound = LONG_MAX;
  quota.record(1e12);
  t.notOk(quota.isExceeded(), 'the default rate (Long.MAX_VALUE) never throttles');
  bound = 0;
  t.ok(quota.isExceeded(), 'a dynamic change of the rate applies at the next check');
});
