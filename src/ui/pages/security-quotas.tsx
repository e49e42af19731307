// #/security/quotas: client quotas (GET /api/v1/quotas), one row per entity and key; a form to set
// one for a user, a client id or both, each a name or the default (PATCH /api/v1/quotas with
// `set`), and a remove button per row (PATCH with `delete`), with a confirmation.
//
// data-testids: quotas-table, quota-row-<n>, quota-value-<n>, quota-remove-<n> (then confirm-ok),
// quota-user, quota-user-default, quota-client, quota-client-default, quota-key, quota-value,
// quota-set, quota-error, quotas-error.

import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { DataTable, type Column } from '../components/table.tsx';
import { Busy, Confirm, ErrorBox, Field, notify, useAction } from '../components/ui.tsx';
import { formatNumber } from '../format.ts';
import { useApi } from '../hooks.ts';
import type { PageProps } from './registry.ts';
import { SecurityNav } from './security-users.tsx';

interface QuotaEntry {
  /** `user` and/or `client-id`; null: the default. */
  readonly entity: Record<string, string | null>;
  readonly configs: Record<string, number>;
}

interface QuotaRow {
  readonly index: number;
  /** As PATCH takes it. */
  readonly entity: { user?: string | null; clientId?: string | null };
  readonly entityText: string;
  readonly key: string;
  readonly value: number;
}

const QUOTA_KEYS = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'controller_mutation_rate'];

function entityText(entity: Record<string, string | null>): string {
  const parts: string[] = [];
  if ('user' in entity) parts.push(entity.user === null ? 'user (default)' : `user ${entity.user}`);
  if ('client-id' in entity) parts.push(entity['client-id'] === null ? 'client id (default)' : `client id ${entity['client-id']}`);
  return parts.join(', ');
}

export function QuotasPage(_props: PageProps) {
  const { data, error, loading, reload } = useApi<{ quotas: QuotaEntry[] }>('/api/v1/quotas');
  const [removing, setRemoving] = useState<QuotaRow | null>(null);
  const removal = useAction();
  const rows: QuotaRow[] = [];
  for (const entry of data?.quotas ?? []) {
    const entity = { ...('user' in entry.entity ? { user: entry.entity.user ?? null } : {}), ...('client-id' in entry.entity ? { clientId: entry.entity['client-id'] ?? null } : {}) };
    for (const [key, value] of Object.entries(entry.configs)) rows.push({ index: rows.length, entity, entityText: entityText(entry.entity), key, value });
  }
  const remove = async (row: QuotaRow) => {
    setRemoving(null);
    if (await removal.run(() => api('PATCH', '/api/v1/quotas', { entity: row.entity, delete: [row.key] }))) {
      notify(`quota ${row.key} of ${row.entityText} removed`);
      reload();
    }
  };
  const columns: Column<QuotaRow>[] = [
    { key: 'entityText', label: 'Entity', render: (row) => <span data-testid={`quota-row-${row.index}`}>{row.entityText}</span> },
    { key: 'key', label: 'Quota' },
    { key: 'value', label: 'Value', align: 'right', render: (row) => <span data-testid={`quota-value-${row.index}`}>{formatNumber(row.value, row.value % 1 === 0 ? 0 : 2)}</span> },
    {
      key: 'actions',
      label: 'Actions',
      sortable: false,
      value: () => '',
      render: (row) => (
        <button type="button" class="danger" onClick={() => setRemoving(row)} aria-label={`remove ${row.key} of ${row.entityText}`} data-testid={`quota-remove-${row.index}`}>
          Remove
        </button>
      ),
    },
  ];
  return (
    <section>
      <h1>Security</h1>
      <SecurityNav />
      <h2>Quotas</h2>
      <ErrorBox error={error} testid="quotas-error" />
      <ErrorBox error={removal.error} testid="quota-remove-error" />
      <Busy when={loading && data === undefined} />
      <DataTable columns={columns} rows={rows} rowKey={(row) => `${row.entityText}|${row.key}`} filter stateKey="q" defaultSort={{ key: 'entityText', dir: 'asc' }} empty="No quotas." testid="quotas-table" caption="Client quotas" />
      <SetQuota onSet={reload} />
      {removing !== null && (
        <Confirm title="Remove this quota?" confirmLabel="Remove" danger onConfirm={() => void remove(removing)} onCancel={() => setRemoving(null)}>
          {removing.key} of {removing.entityText} ({formatNumber(removing.value)}): the entity falls back to a default, if any.
        </Confirm>
      )}
    </section>
  );
}

function SetQuota({ onSet }: { onSet: () => void }) {
  const [user, setUser] = useState('');
  const [userDefault, setUserDefault] = useState(false);
  const [clientId, setClientId] = useState('');
  const [clientDefault, setClientDefault] = useState(false);
  const [key, setKey] = useState('producer_byte_rate');
  const [value, setValue] = useState('');
  const action = useAction();
  const entity: { user?: string | null; clientId?: string | null } = {
    ...(userDefault ? { user: null } : user !== '' ? { user } : {}),
    ...(clientDefault ? { clientId: null } : clientId !== '' ? { clientId } : {}),
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    if (await action.run(() => api('PATCH', '/api/v1/quotas', { entity, set: { [key]: Number(value) } }))) {
      notify(`quota ${key} set`);
      onSet();
    }
  };
  const none = !('user' in entity) && !('clientId' in entity);
  return (
    <>
      <h2>Set a quota</h2>
      <form class="card" onSubmit={(event) => void submit(event)}>
        <div class="row">
          <Field label="User">
            <input value={user} disabled={userDefault} onInput={(event) => setUser((event.target as HTMLInputElement).value)} data-testid="quota-user" />
          </Field>
          <label class="check">
            <input type="checkbox" checked={userDefault} onChange={(event) => setUserDefault((event.target as HTMLInputElement).checked)} data-testid="quota-user-default" />
            The default user
          </label>
          <Field label="Client id">
            <input value={clientId} disabled={clientDefault} onInput={(event) => setClientId((event.target as HTMLInputElement).value)} data-testid="quota-client" />
          </Field>
          <label class="check">
            <input type="checkbox" checked={clientDefault} onChange={(event) => setClientDefault((event.target as HTMLInputElement).checked)} data-testid="quota-client-default" />
            The default client id
          </label>
          <Field label="Quota">
            <select value={key} onChange={(event) => setKey((event.target as HTMLSelectElement).value)} data-testid="quota-key">
              {QUOTA_KEYS.map((name) => (
                <option value={name}>{name}</option>
              ))}
            </select>
          </Field>
          <Field label="Value" hint={key.endsWith('byte_rate') ? 'bytes per second' : key === 'request_percentage' ? 'percent of a thread' : 'partitions per second'}>
            <input required type="number" min={0} step="any" value={value} onInput={(event) => setValue((event.target as HTMLInputElement).value)} data-testid="quota-value" />
          </Field>
        </div>
        <ErrorBox error={action.error} testid="quota-error" />
        <div class="actions">
          <button type="submit" class="primary" disabled={action.busy || none || value === ''} data-testid="quota-set" title={none ? 'name a user or a client id (or a default)' : undefined}>
            Set quota
          </button>
        </div>
      </form>
    </>
  );
}
