// #/groups/:group: one consumer group — its state and protocol, members with their client id, host
// and assignment, each partition's committed offset, log end offset and lag (GET
// /api/v1/groups/:group, what `spate groups describe` prints), a chart of its lag over the last
// hour (GET …/lag-history), offsets reset to the earliest, the latest, an offset or a time with a
// dry-run preview first (POST …/offsets/reset with dryRun, then without), and delete with a
// confirmation.
//
// data-testids: group-state, group-protocol, group-member-count, total-lag, members-table,
// member-row-<clientId>, assignment-<memberId>, partitions-table, offset-<topic>-<partition>,
// log-end-<topic>-<partition>, lag-<topic>-<partition>, lag-chart, reset-to, reset-topic,
// reset-offset, reset-time, reset-preview, reset-preview-table, preview-new-<topic>-<partition>,
// reset-apply, reset-result, reset-error, group-delete (then confirm-ok / confirm-cancel),
// group-error.

import { useState } from 'preact/hooks';
import { api, seg } from '../api.ts';
import { TimeChart } from '../components/chart.tsx';
import { DataTable, type Column } from '../components/table.tsx';
import { Busy, Confirm, ErrorBox, Field, notify, useAction } from '../components/ui.tsx';
import { formatNumber } from '../format.ts';
import { useApi } from '../hooks.ts';
import { navigate } from '../router.ts';
import { stateClass } from './groups.tsx';
import type { PageProps } from './registry.ts';

interface Member {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly host: string;
  readonly subscription: string[] | null;
  readonly assignment: { topic: string; partitions: number[] }[] | null;
}

interface PartitionRow {
  readonly topic: string;
  readonly partition: number;
  readonly currentOffset: number | null;
  readonly logEndOffset: number | null;
  readonly lag: number | null;
  readonly consumerId: string | null;
  readonly host: string | null;
  readonly clientId: string | null;
}

interface GroupDescription {
  readonly group: string;
  readonly state: string;
  readonly protocolType: string;
  readonly protocol: string;
  readonly coordinator: { nodeId: number; host: string; port: number };
  readonly members: Member[];
  readonly partitions: PartitionRow[];
}

interface LagHistory {
  readonly intervalMs: number;
  readonly times: number[];
  readonly totalLag: (number | null)[];
  readonly partitions: { topic: string; partition: number; lag: (number | null)[] }[];
  readonly complete: boolean;
}

interface ResetAnswer {
  readonly executed: boolean;
  readonly state: string;
  readonly members: number;
  readonly partitions: { topic: string; partition: number; currentOffset: number | null; newOffset: number; error: string | null }[];
  readonly notes: string[];
}

type ResetTo = 'earliest' | 'latest' | 'offset' | 'timestamp';

const REFRESH_MS = 5_000;
/** The chart is read again at the history's own interval, but not more often than this. */
const CHART_REFRESH_MIN_MS = 2_000;
/** Partitions drawn beside the total (the chart's palette has four colours). */
const CHART_PARTITIONS_MAX = 3;

export function GroupPage({ params }: PageProps) {
  const groupId = params.group!;
  const path = `/api/v1/groups/${seg(groupId)}`;
  const { data, error, loading, reload } = useApi<GroupDescription>(path, REFRESH_MS);
  const [deleting, setDeleting] = useState(false);
  const deletion = useAction();

  const remove = async () => {
    setDeleting(false);
    if (await deletion.run(() => api('DELETE', path))) {
      notify(`group ${groupId} deleted`);
      navigate('/groups');
    }
  };

  const totalLag = data?.partitions.reduce<number | null>((sum, row) => (row.lag === null ? sum : (sum ?? 0) + row.lag), null) ?? null;
  return (
    <section>
      <h1>Consumer group {groupId}</h1>
      <ErrorBox error={error} testid="group-error" />
      <Busy when={loading && data === undefined} />
      {data !== undefined && (
        <>
          <div class="cards">
            <div class="stat">
              <div class="value">
                <span class={`badge ${stateClass(data.state)}`} data-testid="group-state">
                  {data.state}
                </span>
              </div>
              <div class="label">State</div>
            </div>
            <div class="stat">
              <div class="value" data-testid="group-protocol">
                {data.protocol === '' ? '–' : data.protocol}
              </div>
              <div class="label">Assignor ({data.protocolType === '' ? 'no type' : data.protocolType})</div>
            </div>
            <div class="stat">
              <div class="value" data-testid="group-member-count">
                {data.members.length}
              </div>
              <div class="label">Members</div>
            </div>
            <div class="stat">
              <div class="value" data-testid="total-lag">
                {formatNumber(totalLag)}
              </div>
              <div class="label">Total lag</div>
            </div>
            <div class="stat">
              <div class="value">{data.coordinator.nodeId}</div>
              <div class="label">Coordinator</div>
            </div>
          </div>
          <h2>Members</h2>
          <MembersTable members={data.members} />
          <h2>Partitions</h2>
          <PartitionsTable rows={data.partitions} />
        </>
      )}
      <LagChart groupId={groupId} />
      {data !== undefined && <ResetOffsets groupId={groupId} group={data} onApplied={reload} />}
      <h2>Delete</h2>
      <p class="hint">A group with active members cannot be deleted (NON_EMPTY_GROUP): stop its consumers first.</p>
      <ErrorBox error={deletion.error} testid="delete-error" />
      <button type="button" class="danger" disabled={deletion.busy} onClick={() => setDeleting(true)} data-testid="group-delete">
        Delete group…
      </button>
      {deleting && (
        <Confirm title={`Delete group ${groupId}?`} confirmLabel="Delete" danger onConfirm={() => void remove()} onCancel={() => setDeleting(false)}>
          Its committed offsets are deleted: a consumer joining it later starts at its auto.offset.reset.
        </Confirm>
      )}
    </section>
  );
}

function MembersTable({ members }: { members: Member[] }) {
  const columns: Column<Member>[] = [
    { key: 'clientId', label: 'Client id', render: (row) => <span data-testid={`member-row-${row.clientId}`}>{row.clientId}</span> },
    { key: 'host', label: 'Host' },
    { key: 'memberId', label: 'Member id', render: (row) => <span class="mono">{row.memberId}</span> },
    { key: 'groupInstanceId', label: 'Instance id', value: (row) => row.groupInstanceId ?? '' },
    {
      key: 'assignment',
      label: 'Assignment',
      value: (row) => assignmentText(row.assignment),
      render: (row) => (
        <span class="mono" data-testid={`assignment-${row.memberId}`}>
          {assignmentText(row.assignment)}
        </span>
      ),
    },
  ];
  return <DataTable columns={columns} rows={members} rowKey={(row) => row.memberId} stateKey="m" defaultSort={{ key: 'clientId', dir: 'asc' }} empty="No active members." testid="members-table" />;
}

/** `orders: 0, 1; payments: 2` (unknown when the assignment is not a consumer protocol's). */
export function assignmentText(assignment: Member['assignment']): string {
  if (assignment === null) return '(not a consumer assignment)';
  if (assignment.length === 0) return '(none)';
  return assignment.map(({ topic, partitions }) => `${topic}: ${partitions.join(', ')}`).join('; ');
}

function PartitionsTable({ rows }: { rows: PartitionRow[] }) {
  const id = (row: PartitionRow) => `${row.topic}-${row.partition}`;
  const columns: Column<PartitionRow>[] = [
    { key: 'topic', label: 'Topic' },
    { key: 'partition', label: 'Partition', align: 'right' },
    { key: 'currentOffset', label: 'Committed offset', align: 'right', render: (row) => <span data-testid={`offset-${id(row)}`}>{formatNumber(row.currentOffset)}</span> },
    { key: 'logEndOffset', label: 'Log end offset', align: 'right', render: (row) => <span data-testid={`log-end-${id(row)}`}>{formatNumber(row.logEndOffset)}</span> },
    { key: 'lag', label: 'Lag', align: 'right', render: (row) => <span data-testid={`lag-${id(row)}`}>{formatNumber(row.lag)}</span> },
    { key: 'clientId', label: 'Consumer', value: (row) => (row.clientId === null ? '' : `${row.clientId} (${row.host ?? '?'})`) },
  ];
  return <DataTable columns={columns} rows={rows} rowKey={id} stateKey="p" defaultSort={{ key: 'topic', dir: 'asc' }} empty="No committed offsets or assignments." testid="partitions-table" />;
}

function LagChart({ groupId }: { groupId: string }) {
  const [refreshMs, setRefreshMs] = useState(10_000);
  const { data, error } = useApi<LagHistory>(`/api/v1/groups/${seg(groupId)}/lag-history`, refreshMs);
  if (data !== undefined && Math.max(CHART_REFRESH_MIN_MS, data.intervalMs) !== refreshMs) setRefreshMs(Math.max(CHART_REFRESH_MIN_MS, data.intervalMs));
  // The partitions with the most lag now, beside the total.
  const latest = (lag: (number | null)[]) => lag[lag.length - 1] ?? -1;
  const top = [...(data?.partitions ?? [])].sort((a, b) => latest(b.lag) - latest(a.lag)).slice(0, data !== undefined && data.partitions.length > 1 ? CHART_PARTITIONS_MAX : 0);
  return (
    <>
      <h2>Lag over time</h2>
      <ErrorBox error={error} testid="lag-chart-error" />
      {data !== undefined && (
        <>
          <TimeChart
            title={`Lag in records, one sample every ${formatInterval(data.intervalMs)}${data.complete ? '' : ' (some partitions not kept)'}`}
            times={data.times}
            series={[{ label: 'total', values: data.totalLag }, ...top.map((series) => ({ label: `${series.topic}-${series.partition}`, values: series.lag }))]}
            testid="lag-chart"
          />
          {data.times.length === 0 && <p class="hint">No samples yet: the broker samples every group's lag every {formatInterval(data.intervalMs)}.</p>}
        </>
      )}
    </>
  );
}

type ResetRow = ResetAnswer['partitions'][number];
const previewColumns: Column<ResetRow>[] = [
  { key: 'topic', label: 'Topic' },
  { key: 'partition', label: 'Partition', align: 'right' },
  { key: 'currentOffset', label: 'Current offset', align: 'right', render: (row) => formatNumber(row.currentOffset) },
  { key: 'newOffset', label: 'New offset', align: 'right', render: (row) => <span data-testid={`preview-new-${row.topic}-${row.partition}`}>{row.newOffset}</span> },
  { key: 'error', label: 'Error', value: (row) => row.error ?? '' },
];

function formatInterval(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function ResetOffsets({ groupId, group, onApplied }: { groupId: string; group: GroupDescription; onApplied: () => void }) {
  const [to, setTo] = useState<ResetTo>('earliest');
  const [topic, setTopic] = useState('');
  const [offset, setOffset] = useState('0');
  const [time, setTime] = useState('');
  const [preview, setPreview] = useState<ResetAnswer | null>(null);
  const [applied, setApplied] = useState<ResetAnswer | null>(null);
  const action = useAction();
  const topics = [...new Set(group.partitions.map((row) => row.topic))].sort();

  const body = (dryRun: boolean) => {
    const request: Record<string, unknown> = { to, dryRun };
    if (topic !== '') request.topics = [topic];
    if (to === 'offset') request.offset = Number(offset);
    if (to === 'timestamp') request.timestamp = new Date(time).getTime();
    return request;
  };
  const invalid = (to === 'offset' && !/^\d+$/.test(offset)) || (to === 'timestamp' && Number.isNaN(new Date(time).getTime()));
  const change = (apply: () => void) => {
    apply();
    setPreview(null);
    setApplied(null);
  };
  const run = async (dryRun: boolean) => {
    const box: { answer?: ResetAnswer } = {};
    const ok = await action.run(async () => {
      box.answer = await api<ResetAnswer>('POST', `/api/v1/groups/${seg(groupId)}/offsets/reset`, body(dryRun));
    });
    const answer = box.answer;
    if (!ok || answer === undefined) return;
    if (dryRun) {
      setPreview(answer);
      setApplied(null);
    } else {
      setApplied(answer);
      setPreview(null);
      notify(`offsets of ${groupId} reset`);
      onApplied();
    }
  };
  const shown = applied ?? preview;
  const active = group.members.length > 0;
  return (
    <>
      <h2>Reset offsets</h2>
      <p class="hint">Only a group without active members can be reset: stop its consumers first. Preview the new offsets, then apply them.</p>
      <form
        class="row"
        onSubmit={(event) => {
          event.preventDefault();
          void run(true);
        }}
      >
        <Field label="To">
          <select value={to} onChange={(event) => change(() => setTo((event.target as HTMLSelectElement).value as ResetTo))} data-testid="reset-to">
            <option value="earliest">earliest</option>
            <option value="latest">latest</option>
            <option value="offset">an offset</option>
            <option value="timestamp">a time</option>
          </select>
        </Field>
        <Field label="Topic">
          <select value={topic} onChange={(event) => change(() => setTopic((event.target as HTMLSelectElement).value))} data-testid="reset-topic">
            <option value="">every committed topic</option>
            {topics.map((name) => (
              <option value={name}>{name}</option>
            ))}
          </select>
        </Field>
        {to === 'offset' && (
          <Field label="Offset">
            <input type="number" min={0} value={offset} onInput={(event) => change(() => setOffset((event.target as HTMLInputElement).value))} data-testid="reset-offset" />
          </Field>
        )}
        {to === 'timestamp' && (
          <Field label="Time (local)" hint="the first record at or after it">
            <input type="datetime-local" step={1} value={time} onInput={(event) => change(() => setTime((event.target as HTMLInputElement).value))} data-testid="reset-time" />
          </Field>
        )}
        <div class="actions">
          <button type="submit" disabled={action.busy || invalid} data-testid="reset-preview">
            Preview (dry run)
          </button>
          <button type="button" class="primary" disabled={action.busy || invalid || preview === null} onClick={() => void run(false)} data-testid="reset-apply" title={preview === null ? 'preview first' : undefined}>
            Apply
          </button>
        </div>
      </form>
      {active && <p class="warn">The group has {group.members.length} active member(s): applying will be refused.</p>}
      <ErrorBox error={action.error} testid="reset-error" />
      {shown !== null && (
        <div data-testid={applied !== null ? 'reset-result' : 'reset-preview-result'}>
          <p>{applied !== null ? 'Applied:' : 'Preview (nothing changed yet):'}</p>
          <DataTable
            columns={previewColumns}
            rows={shown.partitions}
            rowKey={(row) => `${row.topic}-${row.partition}`}
            stateKey="r"
            defaultSort={{ key: 'topic', dir: 'asc' }}
            empty="No partitions to reset."
            testid="reset-preview-table"
            caption={applied !== null ? 'Offsets reset' : 'New offsets if applied'}
          />
          {shown.notes.map((note) => (
            <p class="hint">{note}</p>
          ))}
        </div>
      )}
    </>
  );
}
