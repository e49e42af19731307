// The broker's Prometheus metrics (issue 16), with prom-client, served at /metrics. Two kinds:
//
// - Counted on the request path (BrokerProbe, handlers/broker-probe.ts): requests, their
//   latency and error codes per API, bytes and messages per topic, throttle time per user. Each
//   label set's numbers live in a plain object kept per API key (an array) and per topic and user
//   (maps), so a request costs a lookup and a few additions. They reach prom-client only at
//   scrape time, as collectors registered in its registry (`family`): prom-client's own labelled
//   children hash their labels into a string at every increment, which measured 1.5 µs per
//   produce request (bench/metrics-probe.ts; src/http/README.md).
// - Read at scrape time (scrape()): connections, partitions and leaders, partitions under their
//   min.insync.replicas, the replica manager's ISR shrinks and expands, the cluster's partition
//   health and the active controller, each partition's log size and offsets (one asynchronous
//   PartitionManager.status() per scrape), the produce and fetch purgatories' sizes, each thread's
//   event-loop utilisation (main and the shard workers, since the previous scrape), consumer group lag (the group coordinator's
//   committed offsets against the high watermark), per-tenant and per-user accounting.
//
// Label cardinality is bounded by limits.ts (metricsTopicSeriesMax, metricsPartitionSeriesMax,
// metricsGroupLagSeriesMax, metricsUserSeriesMax); what is left out is counted in
// spate_metrics_series_omitted. The names and their meaning are in src/http/README.md.

import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Counter, Gauge, Registry, collectDefaultMetrics, type LabelValues, type Metric } from 'prom-client';
import { limits } from '../config/limits.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { GroupCoordinator } from '../coordinator/group-coordinator.js';
import { groupLags, ledHere, ledHighWatermarks } from '../coordinator/group-lag.js';
import type { BrokerProbe } from '../handlers/broker-probe.js';
import type { PartitionManager } from '../partition/partition-manager.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import type { ShardSet } from '../shard/shard-set.js';
import type { Tenants } from '../tenant/tenants.js';

/** Latency buckets in seconds: from half a millisecond (a Metadata on loopback) to the longest fetch wait (30 s). */
export const DURATION_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** The label a topic or user past its series bound is counted under. */
export const OTHER = '(other)';
/** How deep the error-code walk goes into a response (Kafka's responses nest at most 4 levels). */
const ERROR_WALK_DEPTH_MAX = 6;

/** What the scrape reads, given once the broker's parts exist. */
export interface MetricsSources {
  readonly brokerId: number;
  /** An API key's name (the schema's: Produce, Fetch, …), for the api label. */
  apiName(apiKey: number): string;
  readonly partitions: PartitionManager;
  readonly groups: GroupCoordinator;
  readonly tenants: Tenants;
  readonly cluster: ClusterNode | null;
  /** The shard workers, for their event-loop utilisation. */
  readonly shards: Pick<ShardSet, 'all'>;
  /** Open Kafka connections by listener name. */
  connections(): ReadonlyMap<string, number>;
}

interface ApiSeries {
  readonly name: string;
  requests: number;
  failures: number;
  /** Observations per bucket of DURATION_BUCKETS_SECONDS, the last for +Inf (not cumulative: summed at scrape). */
  readonly buckets: Float64Array;
  durationSumSeconds: number;
  /** Responses' error codes other than NONE, by code. */
  readonly errors: Map<number, number>;
}

export interface TopicSeries {
  bytesIn: number;
  messagesIn: number;
  bytesOut: number;
  messagesOut: number;
}

/** One sample of a family, as prom-client's registry renders it. */
interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

/**
 * A family whose samples are read from our own numbers at scrape time, registered in prom-client's
 * registry like its own metrics (the registry asks `get()` and renders the text format).
 */
function family(registry: Registry, name: string, help: string, type: 'counter' | 'histogram', samples: () => Sample[]): void {
  const metric = { name, help, type, get: async () => ({ name, help, type, values: samples(), aggregator: 'sum' }) };
  registry.registerMetric(metric as unknown as Metric);
}

/** The cardinality bounds of the request-path series (limits.ts by default; tests give small ones). */
export interface MetricsBounds {
  readonly topicSeriesMax: number;
  readonly userSeriesMax: number;
}

export class BrokerMetrics implements BrokerProbe {
  readonly registry = new Registry();
  private sources: MetricsSources | null = null;

  private readonly failedAuthentications = new Counter({ name: 'spate_failed_authentications_total', help: 'Failed SASL logins and refused TLS handshakes or client certificates, by listener and protocol (sasl, ssl).', labelNames: ['listener', 'protocol'] as const, registers: [this.registry] });
  private readonly connections = new Gauge({ name: 'spate_connections', help: 'Open Kafka client connections, by listener.', labelNames: ['listener'] as const, registers: [this.registry] });
  private readonly partitionsGauge = new Gauge({ name: 'spate_partitions', help: 'Partitions (replicas) this broker holds.', registers: [this.registry] });
  private readonly leaders = new Gauge({ name: 'spate_partition_leaders', help: 'Partitions this broker leads.', registers: [this.registry] });
  private readonly underReplicated = new Gauge({ name: 'spate_under_replicated_partitions', help: 'Partitions this broker leads whose ISR is smaller than their replicas (0 on an embedded broker).', registers: [this.registry] });
  private readonly underMinIsr = new Gauge({ name: 'spate_under_min_isr_partitions', help: 'Partitions this broker leads whose ISR is smaller than their topic\'s min.insync.replicas: acks=all produces to them are refused (Kafka\'s UnderMinIsrPartitionCount).', registers: [this.registry] });
  private readonly offline = new Gauge({ name: 'spate_offline_partitions', help: 'Partitions of the cluster without a live leader, as this broker\'s metadata shows them (0 on an embedded broker).', registers: [this.registry] });
  private readonly activeController = new Gauge({ name: 'spate_active_controller', help: '1 on the broker that is the active controller (an embedded broker is its own), else 0.', registers: [this.registry] });
  private readonly logSize = new Gauge({ name: 'spate_log_size_bytes', help: 'Bytes of a partition\'s log segments on this broker.', labelNames: ['topic', 'partition'] as const, registers: [this.registry] });
  private readonly logEndOffset = new Gauge({ name: 'spate_log_end_offset', help: 'A partition\'s log end offset on this broker.', labelNames: ['topic', 'partition'] as const, registers: [this.registry] });
  private readonly highWatermark = new Gauge({ name: 'spate_high_watermark', help: 'A partition\'s high watermark on this broker.', labelNames: ['topic', 'partition'] as const, registers: [this.registry] });
  private readonly groupLag = new Gauge({
    name: 'spate_consumer_group_lag',
    help: 'Records between a group\'s committed offset and the partition\'s high watermark, for the groups this broker coordinates and the partitions it leads.',
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [this.registry],
  });
  private readonly purgatorySize = new Gauge({
    name: 'spate_purgatory_size',
    help: 'Delayed operations waiting now (Kafka\'s PurgatorySize): Produce, acks=all produces waiting for the in-sync replicas; Fetch, fetches parked until min_bytes or max_wait_ms.',
    labelNames: ['delayed_operation'] as const,
    registers: [this.registry],
  });
  private readonly eventLoopUtilization = new Gauge({
    name: 'spate_event_loop_utilization',
    help: 'Share of the time a thread\'s event loop was busy (0 to 1) since the previous scrape (the first: since the thread started), by thread (main, shard-N).',
    labelNames: ['thread'] as const,
    registers: [this.registry],
  });
  private readonly omitted = new Gauge({ name: 'spate_metrics_series_omitted', help: 'Series left out of the last scrape by the bounds of config/limits.ts, by metric.', labelNames: ['metric'] as const, registers: [this.registry] });
  private readonly tenantRequests = new Counter({ name: 'spate_tenant_requests_total', help: 'Requests of a tenant\'s users (tenant/accounting.ts), by tenant and user.', labelNames: ['tenant', 'user'] as const, registers: [this.registry] });
  private readonly tenantBytesIn = new Counter({ name: 'spate_tenant_bytes_in_total', help: 'Produce request bytes of a tenant\'s users, by tenant and user.', labelNames: ['tenant', 'user'] as const, registers: [this.registry] });
  private readonly tenantBytesOut = new Counter({ name: 'spate_tenant_bytes_out_total', help: 'Fetched record bytes of a tenant\'s users, by tenant and user.', labelNames: ['tenant', 'user'] as const, registers: [this.registry] });
  private readonly tenantThrottle = new Counter({ name: 'spate_tenant_throttle_time_seconds_total', help: 'Throttle time of a tenant\'s users, by tenant and user.', labelNames: ['tenant', 'user'] as const, registers: [this.registry] });

  private readonly apis: (ApiSeries | undefined)[] = [];
  /** Each thread's event-loop utilisation at the previous scrape (main, or the shard's id), so the gauge covers the time between scrapes. */
  private readonly eventLoopsBefore = new Map<'main' | number, EventLoopUtilization>();
  /** Per topic; past the bound, new topics share the "(other)" series (found by a second lookup). */
  private readonly topics = new Map<string, TopicSeries>();
  /** Per quota user; past the bound, new users share the "(other)" total (found by a second lookup). */
  private readonly throttleSecondsByUser = new Map<string, { seconds: number }>();
  /** The user label of each throttle total. */
  private readonly userLabels = new Map<{ seconds: number }, string>();

  constructor(private readonly bounds: MetricsBounds = { topicSeriesMax: limits.metricsTopicSeriesMax, userSeriesMax: limits.metricsUserSeriesMax }) {
    // The process's own: CPU, memory, event-loop lag, GC (prom-client's standard names).
    collectDefaultMetrics({ register: this.registry });
    const apis = (): ApiSeries[] => this.apis.filter((series): series is ApiSeries => series !== undefined);
    const topics = (): [string, TopicSeries][] => [...this.topics];
    family(this.registry, 'spate_requests_total', 'Kafka requests answered, by API.', 'counter', () => apis().map((series) => ({ labels: { api: series.name }, value: series.requests })));
    family(this.registry, 'spate_request_duration_seconds', 'Time from a Kafka request read to its response encoded (waits in the purgatories included), by API.', 'histogram', () => apis().flatMap(histogramSamples));
    family(this.registry, 'spate_request_errors_total', 'Error codes other than NONE in Kafka responses (top-level, per topic and per partition), by API and Kafka error name.', 'counter', () =>
      apis().flatMap((series) => [...series.errors].map(([code, count]) => ({ labels: { api: series.name, error: errorName(code) }, value: count }))),
    );
    family(this.registry, 'spate_request_handler_failures_total', 'Requests whose handler threw (a broker bug; the connection is closed), by API.', 'counter', () =>
      apis().filter((series) => series.failures > 0).map((series) => ({ labels: { api: series.name }, value: series.failures })),
    );
    family(this.registry, 'spate_topic_bytes_in_total', "Record batch bytes appended by clients' Produce requests, by topic.", 'counter', () => topics().map(([topic, series]) => ({ labels: { topic }, value: series.bytesIn })));
    family(this.registry, 'spate_topic_messages_in_total', "Records appended by clients' Produce requests (the batch headers' record counts), by topic.", 'counter', () => topics().map(([topic, series]) => ({ labels: { topic }, value: series.messagesIn })));
    family(this.registry, 'spate_topic_messages_out_total', "Records consumers moved past, by topic: from each connection's successive fetch offsets per partition (records go out by sendfile, unread), up to the high watermark the earlier answer gave.", 'counter', () => topics().map(([topic, series]) => ({ labels: { topic }, value: series.messagesOut })));
    family(this.registry, 'spate_topic_bytes_out_total', 'Record bytes sent to consumers in Fetch responses (not to follower replicas), by topic.', 'counter', () => topics().map(([topic, series]) => ({ labels: { topic }, value: series.bytesOut })));
    // The replica manager's own numbers (cluster/replica-manager.ts), 0 on an embedded broker.
    family(this.registry, 'spate_isr_shrinks_total', 'ISR shrinks of partitions this broker leads (Kafka\'s IsrShrinksPerSec): followers out of sync for replica.lag.time.max.ms, or removed by the controller when their broker died.', 'counter', () => [
      { labels: {}, value: this.sources?.cluster?.replicas.isrShrinks ?? 0 },
    ]);
    family(this.registry, 'spate_isr_expands_total', 'ISR expansions of partitions this broker leads (Kafka\'s IsrExpandsPerSec): followers that caught up with the high watermark.', 'counter', () => [
      { labels: {}, value: this.sources?.cluster?.replicas.isrExpands ?? 0 },
    ]);
    family(this.registry, 'spate_throttle_time_seconds_total', 'Throttle time given to clients (KIP-219, producer_byte_rate and consumer_byte_rate quotas), by quota user.', 'counter', () =>
      [...this.userLabels].map(([total, user]) => ({ labels: { user }, value: total.seconds })),
    );
  }

  /** The broker's parts the scrape reads; before this, a scrape has only the counters. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  // ---- BrokerProbe: the request path ----

  requestDone(apiKey: number, startedMs: number, response: object | null): void {
    const series = this.api(apiKey);
    series.requests++;
    observe(series, (performance.now() - startedMs) / 1000);
    if (response !== null) walkErrors(series, response, 0);
  }

  requestFailed(apiKey: number, startedMs: number): void {
    const series = this.api(apiKey);
    series.requests++;
    series.failures++;
    observe(series, (performance.now() - startedMs) / 1000);
  }

  produced(topic: string, bytes: number, records: number): void {
    const series = this.topic(topic);
    series.bytesIn += bytes;
    series.messagesIn += records;
  }

  consumed(topic: string, records: number): void {
    this.topic(topic).messagesOut += records;
  }

  fetched(topic: string, bytes: number): void {
    this.topic(topic).bytesOut += bytes;
  }

  throttled(user: string, ms: number): void {
    let total = this.throttleSecondsByUser.get(user);
    if (total === undefined) {
      const full = this.userLabels.size - (this.throttleSecondsByUser.has(OTHER) ? 1 : 0) >= this.bounds.userSeriesMax;
      total = full ? this.throttleSecondsByUser.get(OTHER) : undefined;
      if (total === undefined) {
        total = { seconds: 0 };
        this.userLabels.set(total, full ? OTHER : user);
        this.throttleSecondsByUser.set(full ? OTHER : user, total);
      }
    }
    total.seconds += ms / 1000;
  }

  /** A failed SASL login (protocol 'sasl') or a refused TLS handshake or certificate ('ssl') on a listener. */
  authenticationFailed(listener: string, protocol: 'sasl' | 'ssl'): void {
    this.failedAuthentications.labels(listener, protocol).inc();
  }

  private api(apiKey: number): ApiSeries {
    let series = this.apis[apiKey];
    if (series === undefined) {
      const name = this.sources?.apiName(apiKey) ?? String(apiKey);
      series = { name, requests: 0, failures: 0, buckets: new Float64Array(DURATION_BUCKETS_SECONDS.length + 1), durationSumSeconds: 0, errors: new Map() };
      // Named once the registry's names are known (attach, before any listener accepts).
      if (this.sources !== null) this.apis[apiKey] = series;
    }
    return series;
  }

  private topic(topic: string): TopicSeries {
    let series = this.topics.get(topic);
    if (series === undefined) {
      const full = this.topics.size - (this.topics.has(OTHER) ? 1 : 0) >= this.bounds.topicSeriesMax;
      series = full ? this.topics.get(OTHER) : undefined;
      if (series === undefined) {
        series = { bytesIn: 0, messagesIn: 0, bytesOut: 0, messagesOut: 0 };
        this.topics.set(full ? OTHER : topic, series);
      }
    }
    return series;
  }

  // ---- read by the metrics history (metrics-history.ts) ----

  /**
   * Requests answered so far and their latency histogram (counts per bucket of
   * DURATION_BUCKETS_SECONDS, the last +Inf; not cumulative), summed over every API but those in
   * `excluded`, into `into` (zeroed first).
   */
  requestTotals(excluded: ReadonlySet<number>, into: { requests: number; durationSumSeconds: number; readonly buckets: Float64Array }): void {
    into.requests = 0;
    into.durationSumSeconds = 0;
    into.buckets.fill(0);
    for (let apiKey = 0; apiKey < this.apis.length; apiKey++) {
      const series = this.apis[apiKey];
      if (series === undefined || excluded.has(apiKey)) continue;
      into.requests += series.requests;
      into.durationSumSeconds += series.durationSumSeconds;
      for (let bucket = 0; bucket < series.buckets.length; bucket++) into.buckets[bucket]! += series.buckets[bucket]!;
    }
  }

  /** Each topic's counters so far (the "(other)" series past metricsTopicSeriesMax included). */
  topicTotals(): IterableIterator<[string, Readonly<TopicSeries>]> {
    return this.topics.entries();
  }

  // ---- the scrape ----

  /** The metrics in Prometheus' text format, the scrape-time gauges read now. */
  async scrape(): Promise<string> {
    if (this.sources !== null) await this.collect(this.sources);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private async collect(sources: MetricsSources): Promise<void> {
    this.connections.reset();
    for (const [listener, count] of sources.connections()) this.connections.set({ listener }, count);

    const statuses = await sources.partitions.status();
    const omitted = new Map<string, number>();
    this.logSize.reset();
    this.logEndOffset.reset();
    this.highWatermark.reset();
    let leaders = 0;
    let underMinIsr = 0;
    let series = 0;
    for (const status of statuses) {
      const led = ledHere(status);
      if (led) leaders++;
      const topic = led ? sources.partitions.topic(status.topic) : undefined;
      if (topic !== undefined && sources.partitions.underMinIsr(topic, status.partition)) underMinIsr++;
      if (series >= limits.metricsPartitionSeriesMax) continue;
      series++;
      const labels: LabelValues<'topic' | 'partition'> = { topic: status.topic, partition: status.partition };
      this.logSize.set(labels, status.sizeBytes);
      this.logEndOffset.set(labels, status.logEndOffset);
      this.highWatermark.set(labels, status.highWatermark);
    }
    if (statuses.length > series) for (const name of ['spate_log_size_bytes', 'spate_log_end_offset', 'spate_high_watermark']) omitted.set(name, statuses.length - series);
    this.partitionsGauge.set(statuses.length);
    this.leaders.set(leaders);
    this.underMinIsr.set(underMinIsr);

    const cluster = sources.cluster;
    if (cluster === null) {
      this.underReplicated.set(0);
      this.offline.set(0);
      this.activeController.set(1);
    } else {
      let underReplicated = 0;
      let offline = 0;
      for (const topic of cluster.cache.topics()) {
        for (let partition = 0; partition < topic.partitionDirs.length; partition++) {
          const view = cluster.cache.partition(topic.name, partition);
          if (view.leaderId < 0 || !cluster.cache.isLive(view.leaderId)) offline++;
          else if (view.leaderId === sources.brokerId && view.isr.length < view.replicas.length) underReplicated++;
        }
      }
      this.underReplicated.set(underReplicated);
      this.offline.set(offline);
      this.activeController.set(cluster.controllerId === sources.brokerId ? 1 : 0);
    }

    this.purgatorySize.set({ delayed_operation: 'Produce' }, sources.partitions.producePurgatory.size);
    this.purgatorySize.set({ delayed_operation: 'Fetch' }, sources.partitions.fetchPurgatory.size);
    this.collectEventLoops(sources.shards);
    this.collectLag(sources.groups, ledHighWatermarks(statuses), omitted);
    this.collectTenants(sources.tenants);
    this.pruneDeletedTopics(sources.partitions);
    this.omitted.reset();
    for (const [metric, count] of omitted) this.omitted.set({ metric }, count);
  }

  /** The main thread's and each running shard worker's event-loop utilisation since the previous scrape. */
  private collectEventLoops(shards: Pick<ShardSet, 'all'>): void {
    this.eventLoopUtilization.reset();
    const since = (thread: 'main' | number, now: EventLoopUtilization): number => {
      const before = this.eventLoopsBefore.get(thread);
      this.eventLoopsBefore.set(thread, now);
      return before === undefined ? now.utilization : performance.eventLoopUtilization(now, before).utilization;
    };
    this.eventLoopUtilization.set({ thread: 'main' }, since('main', performance.eventLoopUtilization()));
    for (const shard of shards.all()) {
      if (!shard.running) continue;
      this.eventLoopUtilization.set({ thread: `shard-${shard.shardId}` }, since(shard.shardId, shard.eventLoopUtilization()));
    }
  }

  /** Lag per group and partition: the coordinator's committed offset against the high watermark of a partition this broker leads (coordinator/group-lag.ts, which the lag history shares). */
  private collectLag(groups: GroupCoordinator, highWatermarks: ReadonlyMap<string, number>, omitted: Map<string, number>): void {
    this.groupLag.reset();
    let series = 0;
    let left = 0;
    for (const { groupId, topic, partition, lag } of groupLags(groups, highWatermarks)) {
      if (series >= limits.metricsGroupLagSeriesMax) {
        left++;
        continue;
      }
      series++;
      this.groupLag.set({ group: groupId, topic, partition }, lag);
    }
    if (left > 0) omitted.set('spate_consumer_group_lag', left);
  }

  /** The tenants' accounting (tenant/accounting.ts), per user, as counters set to the accounting's totals. */
  private collectTenants(tenants: Tenants): void {
    this.tenantRequests.reset();
    this.tenantBytesIn.reset();
    this.tenantBytesOut.reset();
    this.tenantThrottle.reset();
    if (!tenants.any) return;
    for (const tenant of tenants.list()) {
      for (const user of tenant.users) {
        const counters = tenants.accounting.ofUser(user);
        const labels = { tenant: tenant.name, user };
        this.tenantRequests.inc(labels, counters.requests);
        this.tenantBytesIn.inc(labels, counters.bytesIn);
        this.tenantBytesOut.inc(labels, counters.bytesOut);
        this.tenantThrottle.inc(labels, counters.throttleTimeMs / 1000);
      }
    }
  }

  /** A deleted topic's counters go, so that topic churn does not fill the series bound. */
  private pruneDeletedTopics(partitions: PartitionManager): void {
    for (const name of this.topics.keys()) {
      if (name === OTHER || partitions.topic(name) !== undefined) continue;
      this.topics.delete(name);
    }
  }
}

/** One latency observation: its bucket (a linear search of 15 bounds) and the sum. */
function observe(series: ApiSeries, seconds: number): void {
  let bucket = 0;
  while (bucket < DURATION_BUCKETS_SECONDS.length && seconds > DURATION_BUCKETS_SECONDS[bucket]!) bucket++;
  series.buckets[bucket]!++;
  series.durationSumSeconds += seconds;
}

/** An API's latency histogram as Prometheus' samples: cumulative buckets, then sum and count. */
function histogramSamples(series: ApiSeries): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  for (let bucket = 0; bucket <= DURATION_BUCKETS_SECONDS.length; bucket++) {
    cumulative += series.buckets[bucket]!;
    const le = bucket < DURATION_BUCKETS_SECONDS.length ? String(DURATION_BUCKETS_SECONDS[bucket]) : '+Inf';
    samples.push({ labels: { api: series.name, le }, value: cumulative, metricName: 'spate_request_duration_seconds_bucket' });
  }
  samples.push({ labels: { api: series.name }, value: series.durationSumSeconds, metricName: 'spate_request_duration_seconds_sum' });
  samples.push({ labels: { api: series.name }, value: cumulative, metricName: 'spate_request_duration_seconds_count' });
  return samples;
}

/** Counts every errorCode field other than NONE in a response, at any depth (records and other buffers are skipped). */
function walkErrors(series: ApiSeries, value: object, depth: number): void {
  if (depth > ERROR_WALK_DEPTH_MAX) return;
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'object' && item !== null) walkErrors(series, item as object, depth + 1);
    return;
  }
  if (Buffer.isBuffer(value)) return;
  const fields = value as Record<string, unknown>;
  for (const key in fields) {
    const field = fields[key];
    if (key === 'errorCode') {
      if (typeof field === 'number' && field !== ErrorCode.NONE) series.errors.set(field, (series.errors.get(field) ?? 0) + 1);
    } else if (typeof field === 'object' && field !== null && key !== 'records') {
      walkErrors(series, field, depth + 1);
    }
  }
}
