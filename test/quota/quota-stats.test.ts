// The pure parts of the newer quota types, with a clock of the test's: Kafka's TokenBucket and the
// strict and permissive controller mutation quotas over it (quota/controller-mutation-quota.ts),
// the request quota's throttle time bounded by one window (quota/throttle.ts), and the connection
// creation rates (network/connection-quotas.ts): an IP over its rate refused and taken back, the
// broker-wide rate answering a wait, and the IP sensors' bound.

import t from 'tap';
import { limits } from '../../src/config/limits.js';
import { ConnectionQuotas } from '../../src/network/connection-quotas.js';
import { BucketMutationQuota, bucketThrottleTimeMs, TokenBucket } from '../../src/quota/controller-mutation-quota.js';
import { ClientThrottles } from '../../src/quota/throttle.js';

t.test("Kafka's TokenBucket: its documented example (quota 5, 100 samples of 1 s: a burst of 560 leaves -60, 12 s to refill)", async (t) => {
  const bucket = new TokenBucket(0);
  const rate = 5;
  const burst = 100 * 1 * rate;
  t.equal(bucket.measure(rate, burst, 0), 500, 'a new bucket is full');
  bucket.record(560, rate, burst, 0);
  t.equal(bucket.measure(rate, burst, 0), -60);
  t.equal(bucketThrottleTimeMs(bucket.measure(rate, burst, 0), rate), 12_000, '-(-60) / 5 s');
  t.equal(bucket.measure(rate, burst, 12_000), 0, 'refilled to zero 12 s later');
  t.equal(bucket.measure(rate, burst, 1_000_000), 500, 'never above the burst');
});

t.test('strict and permissive controller mutation quotas', async (t) => {
  let now = 1000;
  const clock = () => now;
  const bucket = new TokenBucket(now);
  const strict = new BucketMutationQuota(bucket, 2, 22, true, clock);
  t.ok(strict.tryRecord(30), 'strict: a mutation larger than the bucket is made while it is not below zero');
  t.equal(strict.throttleTimeMs(), 0, 'and no throttle time yet (Kafka throttles only a refusal)');
  t.notOk(strict.tryRecord(1), 'the next is refused: the bucket is at -8');
  t.equal(strict.throttleTimeMs(), 4000, '8 tokens at 2/s');
  now += 1500;
  t.equal(strict.throttleTimeMs(), 2500, 'less the time since');
  now += 2500;
  t.ok(new BucketMutationQuota(bucket, 2, 22, true, clock).tryRecord(1), 'a new request once the bucket is back to zero: made');

  const permissive = new BucketMutationQuota(new TokenBucket(now), 2, 22, false, clock);
  t.ok(permissive.tryRecord(20), 'permissive: made');
  t.equal(permissive.throttleTimeMs(), 0, 'within the bucket: no throttle');
  t.ok(permissive.tryRecord(10), 'made although it goes over');
  t.equal(permissive.throttleTimeMs(), 4000, 'and throttled for the refill of the 8 over');
});

t.test('request_percentage: the throttle time is bounded by one window, not the whole span', async (t) => {
  const throttles = new ClientThrottles(11, 1);
  const quota = { limit: 10, entity: { clientId: 'c' } };
  // 10 s of one whole thread at once: 100 %·s per second for 10 s, against 10 %.
  const throttleMs = throttles.recordAndGetThrottleTimeMs('request', '', 'c', quota, 1000, 0);
  t.equal(throttleMs, 1000, "Kafka's boundedThrottleTime: at most quota.window.size.seconds");
  t.equal(throttles.recordAndGetThrottleTimeMs('produce', '', 'c', quota, 1000, 0), 11_000, 'the byte-rate sensors keep the whole span as their bound');
  throttles.recordNoThrottle('request', '', 'c', quota, 5, 0);
  t.equal(throttles.size, 2, 'one sensor per type and entity');
});

t.test('connection creation rates: an IP over its rate is refused and taken back; the broker-wide rate answers a wait', async (t) => {
  const rates = new Map([['10.0.0.1', 2]]);
  const quotas = new ConnectionQuotas(
    { maxConnections: 1000, maxConnectionsPerIp: 1000, perIpOverrides: new Map(), maxConnectionCreationRate: 4 },
    { windowNum: 2, windowSizeSeconds: 1, connectionRateFor: (ip) => rates.get(ip) ?? null },
  );
  const verdicts: string[] = [];
  for (let i = 0; i < 4; i++) {
    const verdict = quotas.accept('::ffff:10.0.0.1', 0);
    verdicts.push(verdict.accepted ? 'accepted' : `refused after ${verdict.closeDelayMs} ms`);
  }
  t.same(verdicts, ['accepted', 'accepted', 'refused after 500 ms', 'refused after 500 ms'], 'a rate of 2/s over at least a 1 s window: the third refused, its close delayed by its throttle time');
  t.ok(quotas.accept('10.0.0.2', 0).accepted, 'another address, without a rate: accepted');
  t.equal(quotas.ipRateSensors, 1, 'a sensor only for an address with a rate');
  // Half a second later the rate is measured over 1.5 s (Kafka pads to at least one whole window):
  // 3 connections are 2/s, within the rate; counted, the two refused would make 5, 3.3/s.
  t.ok(quotas.accept('10.0.0.1', 500).accepted, 'the refused ones were taken back from the rate: 10.0.0.1 may connect again half a second later');
  t.ok(quotas.accept('10.0.0.1', 2500).accepted, 'once the samples are obsolete, 10.0.0.1 connects again');

  const waits: number[] = [];
  for (let i = 0; i < 6; i++) waits.push(quotas.recordConnectionCreation(5000));
  t.same(waits, [0, 0, 0, 0, 250, 500], 'max.connection.creation.rate 4/s: the fifth and sixth wait (bounded by a window)');
});

t.test('connection creation rates: at most limits.connectionRateSensorsMax IP sensors', async (t) => {
  const quotas = new ConnectionQuotas({ maxConnections: 1e9, maxConnectionsPerIp: 1e9, perIpOverrides: new Map() }, { windowNum: 2, windowSizeSeconds: 1, connectionRateFor: () => 1000 });
  for (let i = 0; i < limits.connectionRateSensorsMax + 50; i++) quotas.accept(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 0);
  t.equal(quotas.ipRateSensors, limits.connectionRateSensorsMax, `${limits.connectionRateSensorsMax} sensors kept, the least recently used dropped`);
});
