// BrokerMetrics without a broker (src/http/metrics.ts): what the probe counts comes out of the
// registry as Prometheus text that a real parser reads back; error codes are found at every level
// of a response; the topic and user series stop at their bounds ("(other)" takes the rest); a
// deleted topic's series go at the next scrape; the histogram's buckets are cumulative and end at
// the request count.

import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import t from 'tap';
import { BrokerMetrics, OTHER, type MetricsSources } from '../../src/http/metrics.js';
import { ErrorCode } from '../../src/protocol/errors.js';

function metricsWith(topics: Set<string>, bounds = { topicSeriesMax: 3, userSeriesMax: 2 }): BrokerMetrics {
  const metrics = new BrokerMetrics(bounds);
  metrics.attach({
    brokerId: 0,
    apiName: (apiKey: number) => ['Produce', 'Fetch'][apiKey] ?? String(apiKey),
    partitions: { status: async () => [], topic: (name: string) => (topics.has(name) ? {} : undefined), producePurgatory: { size: 0 }, fetchPurgatory: { size: 0 } },
    groups: { listGroups: () => ({ errorCode: 0, groups: [] }) },
    tenants: { any: false },
    cluster: null,
    shards: { all: () => [] },
    connections: () => new Map([['PLAINTEXT', 2]]),
  } as unknown as MetricsSources);
  return metrics;
}

function samples(families: readonly PrometheusFamily[], name: string): { labels: Readonly<Record<string, string>>; value: number }[] {
  return (families.find((family) => family.name === name)?.metrics ?? []).map((metric) => ({ labels: metric.labels ?? {}, value: Number(metric.value) }));
}

t.test('counted, bounded, pruned, parsed', async (t) => {
  const topics = new Set(['a', 'b', 'c', 'd', 'e']);
  const metrics = metricsWith(topics);
  for (const topic of ['a', 'b', 'c', 'd', 'e']) metrics.produced(topic, 100, 10);
  metrics.produced('a', 50, 5);
  metrics.fetched('e', 70);
  for (const user of ['alice', 'bob', 'carol', 'dave']) metrics.throttled(user, 1500);
  const started = performance.now();
  metrics.requestDone(0, started, {
    errorCode: ErrorCode.NONE,
    responses: [{ name: 'a', partitionResponses: [{ index: 0, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, records: { errorCode: 99 } }, { index: 1, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }] }],
  });
  metrics.requestDone(1, started, null);
  metrics.requestFailed(1, started);

  let families = parsePrometheusTextFormat(await metrics.scrape());
  const bytesIn = Object.fromEntries(samples(families, 'spate_topic_bytes_in_total').map((sample) => [sample.labels['topic'], sample.value]));
  t.same(bytesIn, { a: 150, b: 100, c: 100, [OTHER]: 200 }, `three topics have their own series, the rest count under ${OTHER}`);
  t.same(
    Object.fromEntries(samples(families, 'spate_topic_messages_in_total').map((sample) => [sample.labels['topic'], sample.value])),
    { a: 15, b: 10, c: 10, [OTHER]: 20 },
    'messages likewise',
  );
  t.equal(samples(families, 'spate_topic_bytes_out_total').find((sample) => sample.labels['topic'] === OTHER)?.value, 70, 'bytes out of a topic past the bound');
  t.same(
    Object.fromEntries(samples(families, 'spate_throttle_time_seconds_total').map((sample) => [sample.labels['user'], sample.value])),
    { alice: 1.5, bob: 1.5, [OTHER]: 3 },
    'two users have their own throttle series, in seconds',
  );
  t.same(samples(families, 'spate_request_errors_total'), [{ labels: { api: 'Produce', error: 'NOT_LEADER_OR_FOLLOWER' }, value: 2 }], 'partition-level error codes counted by name; records skipped');
  t.same(samples(families, 'spate_request_handler_failures_total'), [{ labels: { api: 'Fetch' }, value: 1 }], 'a handler failure');
  t.same(
    Object.fromEntries(samples(families, 'spate_requests_total').map((sample) => [sample.labels['api'], sample.value])),
    { Produce: 1, Fetch: 2 },
    'requests per API, failures included',
  );
  t.same(samples(families, 'spate_connections'), [{ labels: { listener: 'PLAINTEXT' }, value: 2 }], 'connections by listener');
  const text = await metrics.scrape();
  t.match(text, /spate_request_duration_seconds_bucket\{api="Fetch",le="\+Inf"\} 2\n/, 'the +Inf bucket holds every observation');
  t.match(text, /spate_request_duration_seconds_count\{api="Fetch"\} 2\n/, 'and equals the count');
  const buckets = [...text.matchAll(/spate_request_duration_seconds_bucket\{api="Fetch",le="[^"]+"\} (\d+)/g)].map((match) => Number(match[1]));
  t.ok(buckets.every((count, index) => index === 0 || count >= buckets[index - 1]!), `buckets are cumulative: ${buckets.join(' ')}`);

  topics.delete('b');
  await metrics.scrape(); // the scrape that notices the deletion
  families = parsePrometheusTextFormat(await metrics.scrape());
  t.notOk(samples(families, 'spate_topic_bytes_in_total').some((sample) => sample.labels['topic'] === 'b'), 'a deleted topic\'s series are gone');
  topics.add('f');
  metrics.produced('f', 1, 1);
  families = parsePrometheusTextFormat(await metrics.scrape());
  t.ok(samples(families, 'spate_topic_bytes_in_total').some((sample) => sample.labels['topic'] === 'f'), 'and its place goes to a new topic');
});
