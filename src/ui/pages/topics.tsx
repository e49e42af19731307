// The topics list (#/topics): every topic the user may describe with its partitions, replication
// factor, size and messages per second (GET /api/v1/topics, refreshed while shown), searchable,
// sortable and paginated (the table's state in the URL); and the "Create topic" form, whose config
// rows offer Kafka's topic keys with this broker's defaults (GET /api/v1/topic-configs).
//
// data-testids the tests drive:
//   create-topic            the button that opens the form
//   topic-name              the new topic's name
//   topic-partitions        partitions (empty: the broker's num.partitions)
//   topic-rf                replication factor (empty: the broker's default.replication.factor)
//   config-add              adds a config row
//   config-key-<i>          row i's key (a <select> of Kafka's topic keys)
//   config-value-<i>        row i's value (its placeholder the key's default)
//   config-remove-<i>       removes row i
//   create-submit           creates the topic (then the topic's page opens)
//   create-cancel           closes the form
//   create-error            Kafka's error when the create failed ("TOPIC_ALREADY_EXISTS: …")
//   topics-table            the list (rows carry data-key=<topic name>); topics-table-filter its search box
//   show-internal           includes internal topics

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, seg } from '../api.ts';
import { DataTable, type Column } from '../components/table.tsx';
import { Busy, ErrorBox, Field, notify, useAction } from '../components/ui.tsx';
import { formatBytes, formatNumber, formatRate } from '../format.ts';
import { useApi } from '../hooks.ts';
import { link, navigate, setQuery, useQuery } from '../router.ts';

/** How often the list is read again while shown (its sizes and rates move). */
const REFRESH_MS = 5_000;

export interface TopicRow {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly internal: boolean;
  readonly sizeBytes: number | null;
  readonly messagesInPerSec: number | null;
}

/** A topic key as GET /api/v1/topic-configs gives it. */
export interface TopicConfigKey {
  readonly name: string;
  readonly default: string | null;
  readonly source: string;
  readonly brokerKey: string | null;
  readonly type: string;
  readonly validValues?: readonly string[];
  readonly sensitive: boolean;
  readonly doc: string;
}

export interface TopicConfigKeys {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: readonly TopicConfigKey[];
}

const columns: readonly Column<TopicRow>[] = [
  {
    key: 'name',
    label: 'Topic',
    render: (row) => (
      <a href={link(`/topics/${seg(row.name)}`)} data-testid={`topic-link-${row.name}`}>
        {row.name}
      </a>
    ),
  },
  { key: 'partitions', label: 'Partitions', align: 'right' },
  { key: 'replicationFactor', label: 'RF', align: 'right' },
  { key: 'sizeBytes', label: 'Size', align: 'right', render: (row) => formatBytes(row.sizeBytes) },
  { key: 'messagesInPerSec', label: 'Messages/s', align: 'right', render: (row) => formatRate(row.messagesInPerSec) },
];

export function TopicsPage() {
  const query = useQuery();
  const internal = query.internal === '1';
  const topics = useApi<{ topics: TopicRow[] }>(`/api/v1/topics${internal ? '?internal=true' : ''}`, REFRESH_MS);
  const [creating, setCreating] = useState(false);
  const rows = topics.data?.topics ?? [];
  const totalBytes = rows.reduce((sum, row) => sum + (row.sizeBytes ?? 0), 0);
  return (
    <section>
      <h1>Topics</h1>
      <div class="toolbar">
        <button type="button" class="primary" onClick={() => setCreating(true)} disabled={creating} data-testid="create-topic">
          Create topic
        </button>
        <label>
          <input type="checkbox" checked={internal} onChange={(event) => setQuery({ internal: (event.target as HTMLInputElement).checked ? '1' : null })} data-testid="show-internal" /> Show internal
          topics
        </label>
        <span class="hint">
          {formatNumber(rows.length)} topics, {formatBytes(totalBytes)}
        </span>
        <Busy when={topics.loading && topics.data === undefined} />
      </div>
      {creating && (
        <CreateTopicForm
          onCancel={() => setCreating(false)}
          onCreated={(name) => {
            setCreating(false);
            topics.reload();
            navigate(`/topics/${seg(name)}`);
          }}
        />
      )}
      <ErrorBox error={topics.error} testid="topics-error" />
      <DataTable columns={columns} rows={rows} rowKey={(row) => row.name} filter testid="topics-table" defaultSort={{ key: 'name', dir: 'asc' }} empty="No topics you may describe." />
    </section>
  );
}

interface ConfigRow {
  readonly id: number;
  readonly name: string;
  readonly value: string;
}

function CreateTopicForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (name: string) => void }) {
  const keys = useApi<TopicConfigKeys>('/api/v1/topic-configs');
  const action = useAction();
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('');
  const [replicationFactor, setReplicationFactor] = useState('');
  const [rows, setRows] = useState<readonly ConfigRow[]>([]);
  const [nextId, setNextId] = useState(0);
  const byName = new Map((keys.data?.configs ?? []).map((key) => [key.name, key]));
  // autofocus works only at page load; the form opens later, so its first field takes the focus here.
  const nameInput = useRef<HTMLInputElement>(null);
  useEffect(() => nameInput.current?.focus(), []);

  const update = (id: number, patch: Partial<ConfigRow>) => setRows(rows.map((row) => (row.id === id ? { ...row, ...patch } : row)));
  const submit = async (event: Event) => {
    event.preventDefault();
    const configs: Record<string, string> = {};
    for (const row of rows) if (row.name !== '') configs[row.name] = row.value;
    const body: Record<string, unknown> = { name: name.trim(), configs };
    if (partitions.trim() !== '') body.partitions = Number(partitions);
    if (replicationFactor.trim() !== '') body.replicationFactor = Number(replicationFactor);
    const created = await action.run(() => api('POST', '/api/v1/topics', body));
    if (created) {
      notify(`topic ${name.trim()} created`);
      onCreated(name.trim());
    }
  };

  return (
    <form class="card" onSubmit={submit} aria-labelledby="create-title" data-testid="create-form">
      <h2 id="create-title">Create a topic</h2>
      <div class="row">
        <Field label="Name" hint="letters, digits, '.', '_' and '-'">
          <input ref={nameInput} value={name} onInput={(event) => setName((event.target as HTMLInputElement).value)} required data-testid="topic-name" />
        </Field>
        <Field label="Partitions" hint={keys.data === undefined ? undefined : `default ${keys.data.partitions} (num.partitions)`}>
          <input type="number" min={1} value={partitions} placeholder={keys.data === undefined ? '' : String(keys.data.partitions)} onInput={(event) => setPartitions((event.target as HTMLInputElement).value)} data-testid="topic-partitions" />
        </Field>
        <Field label="Replication factor" hint={keys.data === undefined ? undefined : `default ${keys.data.replicationFactor} (default.replication.factor)`}>
          <input type="number" min={1} value={replicationFactor} placeholder={keys.data === undefined ? '' : String(keys.data.replicationFactor)} onInput={(event) => setReplicationFactor((event.target as HTMLInputElement).value)} data-testid="topic-rf" />
        </Field>
      </div>
      <h3>Configs</h3>
      <ErrorBox error={keys.error} testid="config-keys-error" />
      {rows.length === 0 && <p class="hint">Every key takes this broker's default unless you set it here.</p>}
      {rows.map((row, index) => {
        const key = byName.get(row.name);
        return (
          <div class="row" key={row.id}>
            <Field label={`Config ${index + 1} key`} hint={key === undefined ? "Kafka's topic config names" : `${key.type}${key.brokerKey === null ? '' : `, defaults to the broker's ${key.brokerKey}`}`}>
              <select value={row.name} onChange={(event) => update(row.id, { name: (event.target as HTMLSelectElement).value })} data-testid={`config-key-${index}`}>
                <option value="">choose a key…</option>
                {(keys.data?.configs ?? []).map((option) => (
                  <option value={option.name}>{option.name}</option>
                ))}
              </select>
            </Field>
            <Field label={`Config ${index + 1} value`} hint={key === undefined ? 'choose a key first' : `default ${key.default ?? '(none)'}${key.brokerKey === null ? '' : ` (${key.brokerKey})`} · ${key.doc}`}>
              {key?.validValues !== undefined ? (
                <select value={row.value} onChange={(event) => update(row.id, { value: (event.target as HTMLSelectElement).value })} data-testid={`config-value-${index}`}>
                  <option value="">choose…</option>
                  {key.validValues.map((value) => (
                    <option value={value}>{value}</option>
                  ))}
                </select>
              ) : (
                <input value={row.value} placeholder={key?.default ?? ''} onInput={(event) => update(row.id, { value: (event.target as HTMLInputElement).value })} data-testid={`config-value-${index}`} />
              )}
            </Field>
            <button type="button" onClick={() => setRows(rows.filter((other) => other.id !== row.id))} aria-label={`remove config ${index + 1}`} data-testid={`config-remove-${index}`}>
              Remove
            </button>
          </div>
        );
      })}
      <div class="toolbar">
        <button
          type="button"
          onClick={() => {
            setRows([...rows, { id: nextId, name: '', value: '' }]);
            setNextId(nextId + 1);
          }}
          data-testid="config-add"
        >
          Add config
        </button>
      </div>
      {keys.data !== undefined && (
        <details>
          <summary>Topic config keys and their defaults on this broker</summary>
          <DataTable
            columns={[
              { key: 'name', label: 'Key', render: (key: TopicConfigKey) => <code>{key.name}</code> },
              { key: 'default', label: 'Default', render: (key: TopicConfigKey) => <code>{key.default ?? '–'}</code> },
              { key: 'brokerKey', label: 'Broker key' },
              { key: 'type', label: 'Type' },
              { key: 'doc', label: 'What it does', sortable: false },
            ]}
            rows={keys.data.configs}
            rowKey={(key) => key.name}
            stateKey="k"
            pageSize={50}
            testid="config-keys-table"
          />
        </details>
      )}
      <ErrorBox error={action.error} testid="create-error" />
      <div class="actions">
        <button type="button" onClick={onCancel} data-testid="create-cancel">
          Cancel
        </button>
        <button type="submit" class="primary" disabled={action.busy} data-testid="create-submit">
          Create
        </button>
      </div>
    </form>
  );
}
