// Cluster operations (#/cluster): the reassignments in progress with a progress bar each (the
// bytes the replicas being added hold against the leader's, 100 % once in sync; GET
// /api/v1/reassignments, fetched again every few seconds), cancelling one (with confirmation),
// starting one (a partition and its new replicas), and preferred leader election for every
// partition, a topic's, or chosen ones, with each partition's result. What the user may not do
// (DESCRIBE to list, ALTER to change, on the cluster) is Kafka's error, in words.
//
// data-testid: reassignments-table, reassignments-error, progress-<topic>-<partition>, copied-<topic>-<partition>,
// cancel-<topic>-<partition>, reassign-form, reassign-topic, reassign-partition, reassign-replicas,
// reassign-submit, reassign-error, election-form, elect-scope, elect-topic, elect-partitions,
// elect-submit, election-error, election-results, not-preferred.

import { useState } from 'preact/hooks';
import { DataTable, type Column } from '../components/table.tsx';
import { Busy, Confirm, ErrorBox, Field, ProgressBar, notify, useAction } from '../components/ui.tsx';
import { api, seg } from '../api.ts';
import { formatBytes } from '../format.ts';
import { useApi } from '../hooks.ts';
import { link } from '../router.ts';
import type { ClusterHealth } from './overview.tsx';
import type { PageProps } from './registry.ts';

interface AddingReplica {
  readonly brokerId: number;
  readonly bytes: number | null;
  readonly inSync: boolean;
  readonly percent: number | null;
}

interface Reassignment {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: number[];
  readonly addingReplicas: number[];
  readonly removingReplicas: number[];
  readonly targetReplicas: number[];
  readonly leader: number;
  readonly isr: number[];
  readonly leaderBytes: number | null;
  readonly adding: AddingReplica[];
  readonly percent: number | null;
}

interface ElectionOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly result: string;
  readonly message: string | null;
}

/** How often the reassignments are asked again while shown, ms. */
const REASSIGNMENTS_REFRESH_MS = 3_000;

const ids = (list: readonly number[]): string => (list.length === 0 ? '–' : list.join(', '));
const testKey = (topic: string, partition: number): string => `${topic}-${partition}`;

/** "1, 2,3" → [1, 2, 3]; null when a part is not a whole number. */
function parseIds(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter((part) => part !== '');
  if (parts.length === 0 || parts.some((part) => !/^\d+$/.test(part))) return null;
  return parts.map(Number);
}

/** What each replica being added holds against the leader ("broker 2: 1.2 MiB of 2.9 MiB"). */
function copiedText(row: Reassignment): string {
  return row.adding
    .map((replica) => `broker ${replica.brokerId}: ${replica.inSync ? 'in sync' : `${formatBytes(replica.bytes)} of ${formatBytes(row.leaderBytes)}`}`)
    .join('; ');
}

function Reassignments() {
  const listed = useApi<{ reassignments: Reassignment[] }>('/api/v1/reassignments', REASSIGNMENTS_REFRESH_MS);
  const [cancelling, setCancelling] = useState<Reassignment | null>(null);
  const action = useAction();
  const cancel = async (row: Reassignment) => {
    setCancelling(null);
    const done = await action.run(() => api('DELETE', `/api/v1/reassignments/${seg(row.topic)}/${seg(row.partition)}`));
    if (done) notify(`the reassignment of ${row.topic}-${row.partition} was cancelled`);
    listed.reload();
  };
  const columns: Column<Reassignment>[] = [
    { key: 'topic', label: 'Topic', render: (row) => <a href={link(`/topics/${encodeURIComponent(row.topic)}`)}>{row.topic}</a> },
    { key: 'partition', label: 'Partition', align: 'right' },
    { key: 'replicas', label: 'Replicas', value: (row) => ids(row.replicas) },
    { key: 'targetReplicas', label: 'Target', value: (row) => ids(row.targetReplicas) },
    { key: 'addingReplicas', label: 'Adding', value: (row) => ids(row.addingReplicas) },
    { key: 'removingReplicas', label: 'Removing', value: (row) => ids(row.removingReplicas) },
    { key: 'leader', label: 'Leader', align: 'right' },
    {
      key: 'percent',
      label: 'Progress',
      value: (row) => row.percent,
      render: (row) => (
        <div>
          <ProgressBar value={row.percent ?? 0} max={100} label={row.percent === null ? 'unknown' : `${row.percent} %`} testid={`progress-${testKey(row.topic, row.partition)}`} />
          <div class="hint" data-testid={`copied-${testKey(row.topic, row.partition)}`}>
            {copiedText(row)}
          </div>
        </div>
      ),
    },
    {
      key: 'actions',
      label: 'Actions',
      sortable: false,
      render: (row) => (
        <button type="button" class="danger" disabled={action.busy} onClick={() => setCancelling(row)} aria-label={`cancel the reassignment of ${row.topic}-${row.partition}`} data-testid={`cancel-${testKey(row.topic, row.partition)}`}>
          Cancel
        </button>
      ),
    },
  ];
  return (
    <section aria-labelledby="reassignments-title">
      <h2 id="reassignments-title">Reassignments in progress</h2>
      <p class="hint">Each replica being added is measured by the bytes it holds against its leader's; a reassignment completes once every one is in sync. Refreshed every {REASSIGNMENTS_REFRESH_MS / 1000} s.</p>
      <ErrorBox error={listed.error} testid="reassignments-error" />
      <ErrorBox error={action.error} testid="cancel-error" />
      {listed.data === undefined ? (
        <Busy when={listed.loading} />
      ) : (
        <DataTable columns={columns} rows={listed.data.reassignments} rowKey={(row) => testKey(row.topic, row.partition)} stateKey="r" filter testid="reassignments-table" empty="No reassignment is in progress." />
      )}
      {cancelling !== null && (
        <Confirm title="Cancel the reassignment?" confirmLabel="Cancel the reassignment" danger onConfirm={() => void cancel(cancelling)} onCancel={() => setCancelling(null)}>
          <p>
            {cancelling.topic}-{cancelling.partition} goes back to replicas {ids(cancelling.replicas.filter((id) => !cancelling.addingReplicas.includes(id)))}; what the new replicas copied is removed.
          </p>
        </Confirm>
      )}
      <StartReassignment onStarted={listed.reload} />
    </section>
  );
}

function StartReassignment({ onStarted }: { onStarted: () => void }) {
  const [topic, setTopic] = useState('');
  const [partition, setPartition] = useState('0');
  const [replicas, setReplicas] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const parsed = parseIds(replicas);
    if (topic.trim() === '' || !/^\d+$/.test(partition) || parsed === null) {
      setInvalid('Give a topic, a partition number and the new replicas as broker ids ("2, 3, 4").');
      return;
    }
    setInvalid(null);
    const done = await action.run(() => api('POST', '/api/v1/reassignments', { partitions: [{ topic: topic.trim(), partition: Number(partition), replicas: parsed }] }));
    if (done) {
      notify(`the reassignment of ${topic.trim()}-${partition} to ${parsed.join(', ')} started`);
      onStarted();
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="reassign-title" data-testid="reassign-form">
      <h3 id="reassign-title">Start a reassignment</h3>
      <div class="row">
        <Field label="Topic">
          <input value={topic} onInput={(event) => setTopic((event.target as HTMLInputElement).value)} required data-testid="reassign-topic" />
        </Field>
        <Field label="Partition">
          <input type="number" min={0} value={partition} onInput={(event) => setPartition((event.target as HTMLInputElement).value)} required data-testid="reassign-partition" />
        </Field>
        <Field label="New replicas" hint="broker ids, the preferred leader first">
          <input value={replicas} placeholder="2, 3, 4" onInput={(event) => setReplicas((event.target as HTMLInputElement).value)} required data-testid="reassign-replicas" />
        </Field>
        <button type="submit" class="primary" disabled={action.busy} data-testid="reassign-submit">
          Start
        </button>
      </div>
      {invalid !== null && (
        <div class="error" role="alert" data-testid="reassign-error">
          {invalid}
        </div>
      )}
      <ErrorBox error={action.error} testid="reassign-error" />
    </form>
  );
}

type Scope = 'all' | 'topic' | 'partitions';

function Election() {
  const health = useApi<ClusterHealth>('/api/v1/cluster/health', REASSIGNMENTS_REFRESH_MS * 3);
  const [scope, setScope] = useState<Scope>('all');
  const [topic, setTopic] = useState('');
  const [partitions, setPartitions] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [results, setResults] = useState<ElectionOutcome[] | null>(null);
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    let body: { type: 'preferred'; partitions?: { topic: string; partitions?: number[] }[] } = { type: 'preferred' };
    if (scope !== 'all') {
      if (topic.trim() === '') {
        setInvalid('Give the topic.');
        return;
      }
      if (scope === 'topic') body = { ...body, partitions: [{ topic: topic.trim() }] };
      else {
        const parsed = parseIds(partitions);
        if (parsed === null) {
          setInvalid('Give the partitions as numbers ("0, 2").');
          return;
        }
        body = { ...body, partitions: [{ topic: topic.trim(), partitions: parsed }] };
      }
    }
    setInvalid(null);
    setResults(null);
    await action.run(async () => {
      const answer = await api<{ results: ElectionOutcome[] }>('POST', '/api/v1/elections', body);
      setResults(answer.results);
      const elected = answer.results.filter((outcome) => outcome.result === 'NONE').length;
      notify(`${elected} leader${elected === 1 ? '' : 's'} moved to the preferred replica`);
    });
    health.reload();
  };
  const resultColumns: Column<ElectionOutcome>[] = [
    { key: 'topic', label: 'Topic' },
    { key: 'partition', label: 'Partition', align: 'right' },
    { key: 'result', label: 'Result', render: (row) => <span class={row.result === 'NONE' || row.result === 'ELECTION_NOT_NEEDED' ? 'ok' : 'bad'}>{row.result === 'NONE' ? 'elected' : row.result}</span> },
    { key: 'message', label: 'Detail', value: (row) => (row.result === 'ELECTION_NOT_NEEDED' ? 'already led by its preferred replica' : (row.message ?? '')) },
  ];
  return (
    <section aria-labelledby="election-title">
      <h2 id="election-title">Preferred leader election</h2>
      <p class="hint">
        Moves each partition's leadership to its preferred replica (the first of its replicas) where that replica is alive and in sync.{' '}
        {health.data !== undefined && (
          <span data-testid="not-preferred">
            Now {health.data.notPreferredLeader} partition{health.data.notPreferredLeader === 1 ? ' is' : 's are'} led by another replica.
          </span>
        )}
      </p>
      <form class="card" onSubmit={submit} aria-label="Preferred leader election" data-testid="election-form">
        <div class="row">
          <Field label="Partitions">
            <select value={scope} onChange={(event) => setScope((event.target as HTMLSelectElement).value as Scope)} data-testid="elect-scope">
              <option value="all">every partition</option>
              <option value="topic">every partition of a topic</option>
              <option value="partitions">chosen partitions of a topic</option>
            </select>
          </Field>
          {scope !== 'all' && (
            <Field label="Topic">
              <input value={topic} onInput={(event) => setTopic((event.target as HTMLInputElement).value)} data-testid="elect-topic" />
            </Field>
          )}
          {scope === 'partitions' && (
            <Field label="Partition numbers">
              <input value={partitions} placeholder="0, 2" onInput={(event) => setPartitions((event.target as HTMLInputElement).value)} data-testid="elect-partitions" />
            </Field>
          )}
          <button type="submit" class="primary" disabled={action.busy} data-testid="elect-submit">
            Elect preferred leaders
          </button>
        </div>
        {invalid !== null && (
          <div class="error" role="alert" data-testid="election-error">
            {invalid}
          </div>
        )}
        <ErrorBox error={action.error} testid="election-error" />
      </form>
      {results !== null && (
        <DataTable columns={resultColumns} rows={results} rowKey={(row) => testKey(row.topic, row.partition)} stateKey="e" testid="election-results" empty="No partition needed an election." caption="Election results" />
      )}
    </section>
  );
}

export function ClusterOpsPage(_props: PageProps) {
  return (
    <section aria-labelledby="cluster-title">
      <h1 id="cluster-title">Cluster operations</h1>
      <Reassignments />
      <Election />
    </section>
  );
}
