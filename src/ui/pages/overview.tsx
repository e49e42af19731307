// The overview (#/overview): the cluster's brokers (controller, rack, partitions, leaders), its
// under-replicated and offline partitions (GET /api/v1/cluster/health: the topics the user may
// describe), and live charts of this broker's bytes and messages in and out, requests and their
// latency over the last hour (GET /api/v1/metrics/history, kept in the broker at a fixed
// resolution; fetched again every resolution). Broker-wide charts need DESCRIBE on the cluster: a
// user without it sees why instead.
//
// data-testid: overview-summary, stat-brokers, stat-partitions, stat-urp, stat-offline,
// brokers-table, urp-table, offline-table, charts, chart-bytes, chart-messages, chart-requests,
// chart-latency, history-error, health-error.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { TimeChart } from '../components/chart.tsx';
import { DataTable, type Column } from '../components/table.tsx';
import { Busy, ErrorBox } from '../components/ui.tsx';
import { ApiError } from '../api.ts';
import { formatNumber, formatTime } from '../format.ts';
import { useApi } from '../hooks.ts';
import { link } from '../router.ts';
import type { PageProps } from './registry.ts';

export interface BrokerLoad {
  readonly brokerId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  readonly controller: boolean;
  readonly partitions: number;
  readonly leaders: number;
  readonly notPreferredLeaders: number;
}

export interface PartitionHealth {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number;
  readonly replicas: number[];
  readonly isr: number[];
  readonly offlineReplicas: number[];
}

export interface ClusterHealth {
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly brokers: BrokerLoad[];
  readonly topics: number;
  readonly partitions: number;
  readonly underReplicated: PartitionHealth[];
  readonly offline: PartitionHealth[];
  readonly notPreferredLeader: number;
}

interface BrokerHistory {
  readonly brokerId: number;
  readonly resolutionMs: number;
  readonly pointsMax: number;
  readonly timesMs: number[];
  readonly bytesInPerSec: number[];
  readonly bytesOutPerSec: number[];
  readonly messagesInPerSec: number[];
  readonly messagesOutPerSec: number[];
  readonly requestsPerSec: number[];
  readonly latencyMeanMs: (number | null)[];
  readonly latencyP99Ms: (number | null)[];
}

/** How often the health is asked again, ms. */
const HEALTH_REFRESH_MS = 10_000;
/** Until the history says its resolution. */
const DEFAULT_RESOLUTION_MS = 10_000;

const BYTE_SCALES = [
  { unit: 'GiB/s', factor: 1024 ** 3 },
  { unit: 'MiB/s', factor: 1024 ** 2 },
  { unit: 'KiB/s', factor: 1024 },
];

/** Bytes per second in the largest unit the series' peak reaches, so the axis reads "12 MiB/s", not "12582912 B/s". */
function scaleBytes(series: readonly (readonly number[])[]): { unit: string; scale: (values: readonly number[]) => number[] } {
  const peak = Math.max(0, ...series.flat());
  const chosen = BYTE_SCALES.find((scale) => peak >= scale.factor) ?? { unit: 'B/s', factor: 1 };
  return { unit: chosen.unit, scale: (values) => values.map((value) => value / chosen.factor) };
}

const replicaList = (ids: readonly number[]): string => (ids.length === 0 ? '–' : ids.join(', '));

const partitionColumns: Column<PartitionHealth>[] = [
  { key: 'topic', label: 'Topic', render: (row) => <a href={link(`/topics/${encodeURIComponent(row.topic)}`)}>{row.topic}</a> },
  { key: 'partition', label: 'Partition', align: 'right' },
  { key: 'leader', label: 'Leader', align: 'right', render: (row) => (row.leader < 0 ? <span class="bad">none</span> : row.leader) },
  { key: 'replicas', label: 'Replicas', value: (row) => replicaList(row.replicas) },
  { key: 'isr', label: 'In sync', value: (row) => replicaList(row.isr) },
  { key: 'offlineReplicas', label: 'Offline replicas', value: (row) => replicaList(row.offlineReplicas) },
];

const brokerColumns: Column<BrokerLoad>[] = [
  { key: 'brokerId', label: 'Broker', align: 'right' },
  { key: 'address', label: 'Address', value: (row) => `${row.host}:${row.port}` },
  { key: 'rack', label: 'Rack', value: (row) => row.rack ?? '–' },
  { key: 'controller', label: 'Controller', value: (row) => (row.controller ? 'yes' : ''), render: (row) => (row.controller ? <span class="badge ok">controller</span> : '') },
  { key: 'partitions', label: 'Partitions', align: 'right' },
  { key: 'leaders', label: 'Leaders', align: 'right' },
  { key: 'notPreferredLeaders', label: 'Led, not preferred', align: 'right' },
];

function Stat({ label, value, testid, tone }: { label: string; value: string | number; testid: string; tone?: 'bad' | 'ok' }) {
  return (
    <div class="stat" data-testid={testid}>
      <div class={`value${tone === undefined ? '' : ` ${tone}`}`}>{value}</div>
      <div class="label">{label}</div>
    </div>
  );
}

function Charts() {
  // Fetched again every resolution, once the broker said what it is.
  const [resolutionMs, setResolutionMs] = useState(DEFAULT_RESOLUTION_MS);
  const history = useApi<BrokerHistory>('/api/v1/metrics/history', resolutionMs);
  const data = history.data;
  const error = history.error;
  useEffect(() => {
    if (data !== undefined && data.resolutionMs !== resolutionMs) setResolutionMs(data.resolutionMs);
  }, [data?.resolutionMs]);
  const bytes = useMemo(() => (data === undefined ? null : scaleBytes([data.bytesInPerSec, data.bytesOutPerSec])), [data]);
  if (data === undefined) {
    if (error instanceof ApiError && error.status === 403) {
      return (
        <p class="hint" data-testid="history-error">
          The broker-wide charts need DESCRIBE on the cluster ({error.error}). A topic's own traffic is on its page.
        </p>
      );
    }
    return error === undefined ? <Busy when /> : <ErrorBox error={error} testid="history-error" />;
  }
  const minutes = Math.round((data.resolutionMs * data.pointsMax) / 60_000);
  // The whole window the broker keeps, however few points it has yet: a chart of the last hour.
  const latestMs = data.timesMs.at(-1) ?? Date.now();
  const rangeMs = [latestMs - data.resolutionMs * data.pointsMax, latestMs] as const;
  return (
    <section data-testid="charts" aria-labelledby="charts-title">
      <h2 id="charts-title">
        Broker {data.brokerId}, the last {minutes >= 1 ? `${minutes} minutes` : `${Math.round((data.resolutionMs * data.pointsMax) / 1000)} seconds`}
      </h2>
      <p class="hint">
        One point every {formatNumber(data.resolutionMs / 1000, 1)} s ({data.timesMs.length} of {data.pointsMax}); the latest at {formatTime(data.timesMs.at(-1) ?? null)}. Clients' produce and fetch, not replication.
      </p>
      <ErrorBox error={history.error} testid="history-error" />
      <div class="grid-2">
        <TimeChart title="Bytes in and out" unit={bytes!.unit} rangeMs={rangeMs} times={data.timesMs} testid="chart-bytes" series={[{ label: 'in', values: bytes!.scale(data.bytesInPerSec) }, { label: 'out', values: bytes!.scale(data.bytesOutPerSec) }]} />
        <TimeChart title="Messages in and out" unit="msg/s" rangeMs={rangeMs} times={data.timesMs} testid="chart-messages" series={[{ label: 'in', values: data.messagesInPerSec }, { label: 'out', values: data.messagesOutPerSec }]} />
        <TimeChart title="Requests (all but Fetch, JoinGroup, SyncGroup)" unit="req/s" rangeMs={rangeMs} times={data.timesMs} testid="chart-requests" series={[{ label: 'requests', values: data.requestsPerSec }]} />
        <TimeChart title="Request latency" unit="ms" rangeMs={rangeMs} times={data.timesMs} testid="chart-latency" series={[{ label: 'mean', values: data.latencyMeanMs }, { label: 'p99', values: data.latencyP99Ms }]} />
      </div>
    </section>
  );
}

export function OverviewPage(_props: PageProps) {
  const health = useApi<ClusterHealth>('/api/v1/cluster/health', HEALTH_REFRESH_MS);
  const data = health.data;
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <ErrorBox error={health.error} testid="health-error" />
      {data === undefined ? (
        <Busy when={health.loading} />
      ) : (
        <>
          <p class="hint">
            Cluster <code>{data.clusterId ?? '–'}</code>, controller {data.controllerId < 0 ? 'none' : `broker ${data.controllerId}`}. Partitions of the {data.topics} topics you may describe.
          </p>
          <div class="cards" data-testid="overview-summary">
            <Stat label="Brokers" value={data.brokers.length} testid="stat-brokers" />
            <Stat label="Topics" value={data.topics} testid="stat-topics" />
            <Stat label="Partitions" value={data.partitions} testid="stat-partitions" />
            <Stat label="Under-replicated" value={data.underReplicated.length} testid="stat-urp" tone={data.underReplicated.length > 0 ? 'bad' : 'ok'} />
            <Stat label="Offline" value={data.offline.length} testid="stat-offline" tone={data.offline.length > 0 ? 'bad' : 'ok'} />
            <Stat label="Led by a replica not preferred" value={data.notPreferredLeader} testid="stat-not-preferred" />
          </div>
          <h2>Brokers</h2>
          <DataTable columns={brokerColumns} rows={data.brokers} rowKey={(row) => String(row.brokerId)} stateKey="b" testid="brokers-table" defaultSort={{ key: 'brokerId', dir: 'asc' }} />
          <h2>Under-replicated partitions</h2>
          <DataTable columns={partitionColumns} rows={data.underReplicated} rowKey={(row) => `${row.topic}-${row.partition}`} stateKey="u" filter testid="urp-table" empty="None: every partition's replicas are in sync." />
          <h2>Offline partitions</h2>
          <DataTable columns={partitionColumns} rows={data.offline} rowKey={(row) => `${row.topic}-${row.partition}`} stateKey="o" filter testid="offline-table" empty="None: every partition has a live leader." />
        </>
      )}
      <Charts />
    </section>
  );
}
