// One topic (#/topics/:topic, tab in ?tab=): its partitions with leader, replicas, ISR, earliest
// and latest offsets and size (GET /api/v1/topics/:topic, refreshed while shown) and a form to add
// partitions (POST …/partitions); its configs (GET …/configs?all=true) with edit and reset to the
// default (PATCH …/configs); a link to its messages (#/topics/:topic/messages); and delete, after
// a confirmation dialog (DELETE).
//
// data-testids the tests drive:
//   topic-title                    the topic's name
//   topic-messages-link            the link to the messages view
//   topic-delete                   opens the confirmation (then confirm-ok / confirm-cancel, ui.tsx)
//   topic-error                    a failed load or delete, in words
//   tab-partitions, tab-configs    the tabs (ui.tsx Tabs)
//   partitions-table               the partitions (rows carry data-key=<partition>)
//   add-partitions-count           the new partition total
//   add-partitions-submit          adds them
//   add-partitions-error           Kafka's error when that failed
//   configs-table                  the configs (rows data-key=<key>); configs-table-filter its search box
//   config-edit-<key>              edits a key's value (opens the editor below)
//   config-edit-value              the editor's value
//   config-save, config-cancel     saves (PATCH set) or closes the editor
//   config-reset-<key>             puts an overridden key back to its default (PATCH delete)
//   config-error                   Kafka's error when a change failed

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, seg } from '../api.ts';
import { DataTable, type Column } from '../components/table.tsx';
import { Busy, Confirm, ErrorBox, Field, notify, Tabs, useAction } from '../components/ui.tsx';
import { formatBytes, formatNumber, formatRate } from '../format.ts';
import { useApi } from '../hooks.ts';
import { link, navigate, useQuery } from '../router.ts';
import type { PageProps } from './registry.ts';

/** How often the partitions are read again while shown (offsets, sizes, leaders move). */
const REFRESH_MS = 5_000;

interface PartitionRow {
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offline: readonly number[];
  readonly error: string | null;
  readonly earliestOffset: number | null;
  readonly latestOffset: number | null;
  readonly sizeBytes: number | null;
}

interface TopicDetail {
  readonly name: string;
  readonly topicId: string | null;
  readonly internal: boolean;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly sizeBytes: number | null;
  readonly messagesInPerSec: number | null;
  readonly partitions: readonly PartitionRow[];
}

interface ConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly source: string;
  readonly isDefault: boolean;
  readonly readOnly: boolean;
  readonly sensitive: boolean;
}

const TABS = [
  { id: 'partitions', label: 'Partitions' },
  { id: 'configs', label: 'Configs' },
] as const;

const nodes = (ids: readonly number[]) => ids.join(', ');

const partitionColumns: readonly Column<PartitionRow>[] = [
  { key: 'partition', label: 'Partition', align: 'right' },
  { key: 'leader', label: 'Leader', align: 'right', render: (row) => (row.leader < 0 ? <span class="bad">none</span> : String(row.leader)) },
  { key: 'replicas', label: 'Replicas', value: (row) => nodes(row.replicas) },
  {
    key: 'isr',
    label: 'ISR',
    value: (row) => nodes(row.isr),
    render: (row) => <span class={row.isr.length < row.replicas.length ? 'warn' : undefined}>{nodes(row.isr)}</span>,
  },
  { key: 'offline', label: 'Offline', value: (row) => nodes(row.offline), render: (row) => (row.offline.length === 0 ? '–' : <span class="bad">{nodes(row.offline)}</span>) },
  { key: 'earliestOffset', label: 'Earliest offset', align: 'right', render: (row) => formatNumber(row.earliestOffset) },
  { key: 'latestOffset', label: 'Latest offset', align: 'right', render: (row) => formatNumber(row.latestOffset) },
  {
    key: 'messages',
    label: 'Messages',
    align: 'right',
    value: (row) => (row.earliestOffset === null || row.latestOffset === null ? null : row.latestOffset - row.earliestOffset),
    render: (row) => (row.earliestOffset === null || row.latestOffset === null ? '–' : formatNumber(row.latestOffset - row.earliestOffset)),
  },
  { key: 'sizeBytes', label: 'Size', align: 'right', render: (row) => formatBytes(row.sizeBytes) },
  { key: 'error', label: 'Error', render: (row) => (row.error === null ? '' : <span class="bad">{row.error}</span>) },
];

export function TopicPage({ params }: PageProps) {
  const name = params.topic ?? '';
  const query = useQuery();
  const tab = TABS.some((candidate) => candidate.id === query.tab) ? query.tab! : 'partitions';
  const topic = useApi<TopicDetail>(`/api/v1/topics/${seg(name)}`, REFRESH_MS);
  const [confirming, setConfirming] = useState(false);
  const deletion = useAction();

  const remove = async () => {
    setConfirming(false);
    if (await deletion.run(() => api('DELETE', `/api/v1/topics/${seg(name)}`))) {
      notify(`topic ${name} deleted`);
      navigate('/topics');
    }
  };

  const detail = topic.data;
  return (
    <section>
      <p>
        <a href={link('/topics')}>‹ Topics</a>
      </p>
      <h1 data-testid="topic-title">{name}</h1>
      <div class="toolbar">
        <a href={link(`/topics/${seg(name)}/messages`)} data-testid="topic-messages-link">
          Messages
        </a>
        <button type="button" class="danger" onClick={() => setConfirming(true)} disabled={deletion.busy} data-testid="topic-delete">
          Delete topic
        </button>
        <Busy when={topic.loading && detail === undefined} />
      </div>
      <ErrorBox error={topic.error ?? deletion.error} testid="topic-error" />
      {confirming && (
        <Confirm title={`Delete topic ${name}?`} confirmLabel="Delete" danger onConfirm={() => void remove()} onCancel={() => setConfirming(false)}>
          <p>
            Every partition of <code>{name}</code> and all its records are deleted. This cannot be undone.
          </p>
        </Confirm>
      )}
      {detail !== undefined && (
        <div class="cards">
          <Stat label="Partitions" value={formatNumber(detail.partitionCount)} testid="stat-partitions" />
          <Stat label="Replication factor" value={formatNumber(detail.replicationFactor)} testid="stat-rf" />
          <Stat label="Size" value={formatBytes(detail.sizeBytes)} testid="stat-size" />
          <Stat label="Messages/s" value={formatRate(detail.messagesInPerSec)} testid="stat-rate" />
        </div>
      )}
      <Tabs tabs={TABS} current={tab} />
      {tab === 'partitions' && detail !== undefined && <PartitionsTab topic={name} detail={detail} onChanged={topic.reload} />}
      {tab === 'configs' && <ConfigsTab topic={name} />}
    </section>
  );
}

function Stat({ label, value, testid }: { label: string; value: string; testid: string }) {
  return (
    <div class="stat" data-testid={testid}>
      <div class="value">{value}</div>
      <div class="label">{label}</div>
    </div>
  );
}

function PartitionsTab({ topic, detail, onChanged }: { topic: string; detail: TopicDetail; onChanged: () => void }) {
  const [count, setCount] = useState('');
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const total = Number(count);
    if (await action.run(() => api('POST', `/api/v1/topics/${seg(topic)}/partitions`, { partitions: total }))) {
      notify(`${topic} now has ${total} partitions`);
      setCount('');
      onChanged();
    }
  };
  return (
    <>
      <DataTable columns={partitionColumns} rows={detail.partitions} rowKey={(row) => String(row.partition)} stateKey="p" pageSize={50} testid="partitions-table" />
      <form class="card" onSubmit={submit} aria-labelledby="add-partitions-title">
        <h2 id="add-partitions-title">Add partitions</h2>
        <div class="row">
          <Field label="New partition count" hint={`now ${detail.partitionCount}; partitions can be added, not removed`}>
            <input type="number" min={detail.partitionCount + 1} required value={count} onInput={(event) => setCount((event.target as HTMLInputElement).value)} data-testid="add-partitions-count" />
          </Field>
          <button type="submit" class="primary" disabled={action.busy} data-testid="add-partitions-submit">
            Add partitions
          </button>
        </div>
        <ErrorBox error={action.error} testid="add-partitions-error" />
      </form>
    </>
  );
}

function ConfigsTab({ topic }: { topic: string }) {
  const configs = useApi<{ configs: ConfigEntry[] }>(`/api/v1/topics/${seg(topic)}/configs?all=true`);
  const [editing, setEditing] = useState<{ name: string; value: string } | null>(null);
  const action = useAction();
  // The editor opens after the page loaded (autofocus would not apply): its value takes the focus.
  const editInput = useRef<HTMLInputElement>(null);
  const editingName = editing?.name;
  useEffect(() => {
    if (editingName !== undefined) editInput.current?.focus();
  }, [editingName]);

  const change = async (body: { set?: Record<string, string>; delete?: string[] }, done: string) => {
    if (await action.run(() => api('PATCH', `/api/v1/topics/${seg(topic)}/configs`, body))) {
      notify(done);
      setEditing(null);
      configs.reload();
    }
  };

  const columns: readonly Column<ConfigEntry>[] = [
    { key: 'name', label: 'Key', render: (row) => <code>{row.name}</code> },
    { key: 'value', label: 'Value', render: (row) => (row.sensitive ? <em>hidden</em> : <code>{row.value ?? '–'}</code>) },
    {
      key: 'source',
      label: 'Source',
      render: (row) => <span class={row.source === 'DYNAMIC_TOPIC_CONFIG' ? 'badge ok' : undefined}>{row.source === 'DYNAMIC_TOPIC_CONFIG' ? 'set on the topic' : row.source}</span>,
    },
    {
      key: 'actions',
      label: 'Actions',
      sortable: false,
      value: () => '',
      render: (row) =>
        row.readOnly ? (
          <span class="hint">read-only</span>
        ) : (
          <span class="toolbar">
            <button type="button" onClick={() => (action.clear(), setEditing({ name: row.name, value: row.value ?? '' }))} aria-label={`edit ${row.name}`} data-testid={`config-edit-${row.name}`}>
              Edit
            </button>
            {row.source === 'DYNAMIC_TOPIC_CONFIG' && (
              <button type="button" onClick={() => void change({ delete: [row.name] }, `${row.name} back to its default`)} aria-label={`reset ${row.name} to its default`} data-testid={`config-reset-${row.name}`}>
                Reset to default
              </button>
            )}
          </span>
        ),
    },
  ];

  return (
    <>
      {editing !== null && (
        <form
          class="card"
          onSubmit={(event) => {
            event.preventDefault();
            void change({ set: { [editing.name]: editing.value } }, `${editing.name} set to ${editing.value}`);
          }}
          aria-labelledby="config-edit-title"
        >
          <h2 id="config-edit-title">
            Edit <code>{editing.name}</code>
          </h2>
          <div class="row">
            <Field label={`Value of ${editing.name}`}>
              <input ref={editInput} value={editing.value} onInput={(event) => setEditing({ ...editing, value: (event.target as HTMLInputElement).value })} data-testid="config-edit-value" />
            </Field>
            <button type="submit" class="primary" disabled={action.busy} data-testid="config-save">
              Save
            </button>
            <button type="button" onClick={() => (action.clear(), setEditing(null))} data-testid="config-cancel">
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorBox error={action.error} testid="config-error" />
      <ErrorBox error={configs.error} testid="configs-error" />
      <Busy when={configs.loading && configs.data === undefined} />
      {configs.data !== undefined && (
        <DataTable
          columns={columns}
          rows={configs.data.configs}
          rowKey={(row) => row.name}
          stateKey="c"
          pageSize={50}
          filter
          testid="configs-table"
          defaultSort={{ key: 'name', dir: 'asc' }}
        />
      )}
    </>
  );
}
