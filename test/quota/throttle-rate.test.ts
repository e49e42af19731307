// The byte-rate quota sensors (quota/throttle.ts) against Kafka's Rate / SampledStat and
// QuotaUtils.throttleTime: the window size padded to (samples - 1) windows, obsolete samples
// purged, the throttle time round((rate - limit) / limit * windowSize) capped at samples × window,
// sensors keyed by the quota entity that applies, and their bounds.

import t from 'tap';
import { ClientThrottles, quotaUserOf, throttleTimeMs, WindowedRate } from '../../src/quota/throttle.js';

t.test('Kafka\'s Rate: the window counts at least (samples - 1) windows, and obsolete samples count nothing', async (t) => {
  const rate = new WindowedRate(11, 1000);
  t.equal(rate.windowSizeMs(0), 10_000, 'a new sensor: 10 windows of padding');
  rate.record(5000, 0);
  t.equal(rate.measure(0), 500, '5000 bytes over the padded 10 s');
  t.equal(rate.measure(4000), 500, 'still 10 s: 4 elapsed windows padded to 10');
  t.equal(rate.windowSizeMs(12_500), 10_000, 'the sample from t=0 is obsolete at 11 s: purged, it starts again');
  t.equal(rate.measure(12_500), 0, 'an obsolete sample counts nothing');
});

t.test('a steady rate is measured as it is, over sliding windows', async (t) => {
  const rate = new WindowedRate(11, 1000);
  for (let now = 0; now <= 30_000; now += 100) rate.record(1000, now); // 10 000 bytes a second
  const measured = rate.measure(30_000);
  t.ok(Math.abs(measured - 10_000) / 10_000 < 0.1, `10 000 B/s measured as ${measured.toFixed(0)}`);
  t.ok(rate.windowSizeMs(30_000) >= 10_000 && rate.windowSizeMs(30_000) <= 11_000, 'measured over between 10 and 11 windows');
});

t.test('Kafka\'s throttle time: (rate - limit) / limit × window, rounded, capped', async (t) => {
  t.equal(throttleTimeMs(1000, 1000, 10_000, 11_000), 0, 'at the limit: no throttle (the quota is an upper bound, value <= bound)');
  t.equal(throttleTimeMs(2000, 1000, 10_000, 11_000), 10_000);
  t.equal(throttleTimeMs(1500, 1000, 10_500, 11_000), 5250);
  t.equal(throttleTimeMs(1000.4, 1000, 10_000, 11_000), 4, 'rounded as Math.round');
  t.equal(throttleTimeMs(20_000, 1000, 10_000, 11_000), 11_000, 'capped at samples × window');
});

t.test('the sensors: recorded per quota entity that applies, throttled as Kafka computes', async (t) => {
  const throttles = new ClientThrottles(11, 1);
  t.equal(throttles.maxThrottleTimeMs, 11_000);
  const clientQuota = { limit: 1000, entity: { clientId: 'c' } };
  t.equal(throttles.recordAndGetThrottleTimeMs('produce', 'alice', 'c', clientQuota, 5000, 0), 0, '500 B/s over the padded window: within 1000');
  t.equal(throttles.recordAndGetThrottleTimeMs('produce', 'bob', 'c', clientQuota, 10_000, 0), 5000, 'a client-id quota: one sensor for every user of the client id (15 000 bytes over 10 s is 1500 B/s → 5000 ms)');
  t.equal(throttles.size, 1);
  t.equal(throttles.recordAndGetThrottleTimeMs('fetch', 'bob', 'c', clientQuota, 10_000, 0), 0, 'fetch has sensors of its own');
  const userQuota = { limit: 1000, entity: { user: null } };
  t.equal(throttles.recordAndGetThrottleTimeMs('produce', 'alice', 'x', userQuota, 8000, 0), 0);
  t.equal(throttles.recordAndGetThrottleTimeMs('produce', 'alice', 'y', userQuota, 4000, 0), 2000, 'a default-user quota: the client ids of one user share a rate');
  t.equal(throttles.recordAndGetThrottleTimeMs('produce', 'carol', 'y', userQuota, 4000, 0), 0, 'another user has its own');
});

t.test('the sensors are bounded in count and expire when idle', async (t) => {
  const throttles = new ClientThrottles(11, 1, { sensorsMax: 3, idleMs: 60_000 });
  const quota = { limit: 1000, entity: { user: null, clientId: null } };
  for (let i = 0; i < 10; i++) throttles.recordAndGetThrottleTimeMs('produce', 'u', `c${i}`, quota, 1, i);
  t.equal(throttles.size, 3, 'at most sensorsMax: the least recently used go first');
  throttles.recordAndGetThrottleTimeMs('produce', 'u', 'late', quota, 1, 200_000);
  t.equal(throttles.size, 1, 'sensors idle longer than idleMs are dropped');
});

t.test('the quota user of a principal', async (t) => {
  t.equal(quotaUserOf('User:alice'), 'alice');
  t.equal(quotaUserOf('User:ANONYMOUS'), 'ANONYMOUS');
});

t.test('unrecord takes back what a throttled fetch recorded, as Kafka\'s unrecordQuotaSensor', async (t) => {
  const throttles = new ClientThrottles(11, 1);
  const quota = { limit: 1000, entity: { clientId: 'c' } };
  t.equal(throttles.recordAndGetThrottleTimeMs('fetch', 'u', 'c', quota, 9000, 0), 0);
  t.equal(throttles.recordAndGetThrottleTimeMs('fetch', 'u', 'c', quota, 11_000, 0), 10_000, '20 000 bytes over 10 s: 2000 B/s');
  throttles.unrecord('fetch', 'u', 'c', quota, 11_000, 0);
  t.equal(throttles.recordAndGetThrottleTimeMs('fetch', 'u', 'c', quota, 1000, 0), 0, 'back to 9000 bytes, +1000: at the limit');
});
