// #/tenants/:tenant: one tenant (GET /api/v1/tenants/:tenant): its prefix and users, its usage
// against its limits as bars (topics, partitions, stored bytes), its users' counters, a form to
// change the limits (PATCH …, an empty field removes a limit) and to add or remove users, and delete
// (optionally with its topics) with a confirmation.
//
// data-testids: tenant-prefix-value, tenant-users-value, usage-<limit key> (a ProgressBar, or the
// figure when there is no limit), usage-text-<limit key>, tenant-user-usage, edit-limit-<key>,
// tenant-save-limits, tenant-add-users, tenant-add-password, tenant-add-submit,
// tenant-remove-user-<user> (then confirm-ok), tenant-delete, tenant-delete-topics, tenant-update-error, tenant-error.

import { useEffect, useState } from 'preact/hooks';
import { api, seg } from '../api.ts';
import { DataTable, type Column } from '../components/table.tsx';
import { Busy, Confirm, ErrorBox, Field, notify, ProgressBar, useAction } from '../components/ui.tsx';
import { formatBytes, formatNumber } from '../format.ts';
import { useApi } from '../hooks.ts';
import { navigate } from '../router.ts';
import type { PageProps } from './registry.ts';
import { TENANT_LIMITS } from './tenants.tsx';

interface TenantView {
  readonly name: string;
  readonly prefix: string;
  readonly users: string[];
  readonly limits: Record<string, number | null>;
  readonly usage: { topics: number; partitions: number; storedBytes: number; requests: number; bytesIn: number; bytesOut: number; throttleTimeMs: number };
  readonly againstLimits: { limit: string; used: number; allowed: number | null }[];
  readonly userUsage: { user: string; requests: number; bytesIn: number; bytesOut: number; throttleTimeMs: number }[];
}

const REFRESH_MS = 5_000;

export function TenantPage({ params }: PageProps) {
  const name = params.tenant!;
  const path = `/api/v1/tenants/${seg(name)}`;
  const { data, error, loading, reload } = useApi<TenantView>(path, REFRESH_MS);
  const [deleting, setDeleting] = useState(false);
  const [deleteTopics, setDeleteTopics] = useState(false);
  const deletion = useAction();
  const remove = async () => {
    setDeleting(false);
    if (await deletion.run(() => api('DELETE', `${path}${deleteTopics ? '?deleteTopics=true' : ''}`))) {
      notify(`tenant ${name} deleted`);
      navigate('/tenants');
    }
  };
  return (
    <section>
      <h1>Tenant {name}</h1>
      <ErrorBox error={error} testid="tenant-error" />
      <Busy when={loading && data === undefined} />
      {data !== undefined && (
        <>
          <div class="cards">
            <div class="stat">
              <div class="value mono" data-testid="tenant-prefix-value">
                {data.prefix}
              </div>
              <div class="label">Prefix</div>
            </div>
            <div class="stat">
              <div class="value" data-testid="tenant-users-value">
                {data.users.join(', ') || '–'}
              </div>
              <div class="label">Users</div>
            </div>
          </div>
          <h2>Usage against limits</h2>
          <div class="card">
            {data.againstLimits.map((entry) => {
              const bytes = entry.limit === 'max.storage.bytes';
              const show = (value: number) => (bytes ? formatBytes(value) : formatNumber(value));
              const text = entry.allowed === null ? `${show(entry.used)} (no limit)` : `${show(entry.used)} of ${show(entry.allowed)}`;
              return (
                <Field label={`${TENANT_LIMITS.find((limit) => limit.key === entry.limit)?.label ?? entry.limit} (${entry.limit})`}>
                  {entry.allowed === null ? null : <ProgressBar value={entry.used} max={entry.allowed} label={text} testid={`usage-${entry.limit}`} />}
                  <span class="hint" data-testid={`usage-text-${entry.limit}`}>
                    {text}
                  </span>
                </Field>
              );
            })}
            <p class="hint">
              Byte rates are quotas of each user ({rateText(data.limits.producer_byte_rate)} produce, {rateText(data.limits.consumer_byte_rate)} fetch): past them requests are throttled. Since the broker started the tenant's users sent {formatBytes(data.usage.bytesIn)}, fetched{' '}
              {formatBytes(data.usage.bytesOut)} and were throttled {formatNumber(data.usage.throttleTimeMs)} ms.
            </p>
          </div>
          <h2>Users</h2>
          <UserUsage tenant={data} path={path} onChange={reload} />
          <EditLimits tenant={data} path={path} onSaved={reload} />
        </>
      )}
      <h2>Delete</h2>
      <ErrorBox error={deletion.error} testid="tenant-delete-error" />
      <label class="check">
        <input type="checkbox" checked={deleteTopics} onChange={(event) => setDeleteTopics((event.target as HTMLInputElement).checked)} data-testid="tenant-delete-topics" />
        Delete its topics too
      </label>
      <button type="button" class="danger" disabled={deletion.busy} onClick={() => setDeleting(true)} data-testid="tenant-delete">
        Delete tenant…
      </button>
      {deleting && (
        <Confirm title={`Delete tenant ${name}?`} confirmLabel="Delete" danger onConfirm={() => void remove()} onCancel={() => setDeleting(false)}>
          Its users' credentials, ACLs and quotas are deleted{deleteTopics ? ', and every topic under its prefix' : ' (its topics stay)'}.
        </Confirm>
      )}
    </section>
  );
}

function rateText(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? 'no limit' : `${formatBytes(rate)}/s`;
}

function UserUsage({ tenant, path, onChange }: { tenant: TenantView; path: string; onChange: () => void }) {
  const [users, setUsers] = useState('');
  const [password, setPassword] = useState('');
  const [removing, setRemoving] = useState<string | null>(null);
  const action = useAction();
  const columns: Column<TenantView['userUsage'][number]>[] = [
    { key: 'user', label: 'User' },
    { key: 'requests', label: 'Requests', align: 'right', render: (row) => formatNumber(row.requests) },
    { key: 'bytesIn', label: 'Bytes in', align: 'right', render: (row) => formatBytes(row.bytesIn) },
    { key: 'bytesOut', label: 'Bytes out', align: 'right', render: (row) => formatBytes(row.bytesOut) },
    { key: 'throttleTimeMs', label: 'Throttled (ms)', align: 'right', render: (row) => formatNumber(row.throttleTimeMs) },
    {
      key: 'actions',
      label: 'Actions',
      sortable: false,
      value: () => '',
      render: (row) => (
        <button type="button" onClick={() => setRemoving(row.user)} aria-label={`remove ${row.user} from the tenant`} data-testid={`tenant-remove-user-${row.user}`}>
          Remove
        </button>
      ),
    },
  ];
  const change = async (body: Record<string, unknown>, done: string) => {
    if (await action.run(() => api('PATCH', path, body))) {
      notify(done);
      setUsers('');
      setPassword('');
      onChange();
    }
  };
  const added = users
    .split(',')
    .map((user) => user.trim())
    .filter((user) => user !== '');
  return (
    <>
      <DataTable columns={columns} rows={tenant.userUsage} rowKey={(row) => row.user} stateKey="uu" defaultSort={{ key: 'user', dir: 'asc' }} empty="No users." testid="tenant-user-usage" caption="Users and their counters since the broker started" />
      <form
        class="row"
        onSubmit={(event) => {
          event.preventDefault();
          void change({ addUsers: added, ...(password === '' ? {} : { password }) }, `${added.join(', ')} added`);
        }}
      >
        <Field label="Add users" hint="comma-separated">
          <input value={users} onInput={(event) => setUsers((event.target as HTMLInputElement).value)} data-testid="tenant-add-users" />
        </Field>
        <Field label="Their password" hint="makes their SCRAM credentials (empty: they exist)">
          <input type="password" autocomplete="new-password" value={password} onInput={(event) => setPassword((event.target as HTMLInputElement).value)} data-testid="tenant-add-password" />
        </Field>
        <div class="actions">
          <button type="submit" disabled={action.busy || added.length === 0} data-testid="tenant-add-submit">
            Add users
          </button>
        </div>
      </form>
      <ErrorBox error={action.error} testid="tenant-users-error" />
      {removing !== null && (
        <Confirm
          title={`Remove ${removing} from the tenant?`}
          confirmLabel="Remove"
          danger
          onConfirm={() => {
            const user = removing;
            setRemoving(null);
            void change({ removeUsers: [user] }, `user ${user} removed`);
          }}
          onCancel={() => setRemoving(null)}
        >
          Its ACLs on the tenant's prefix and its quotas go; its credentials stay.
        </Confirm>
      )}
    </>
  );
}

function EditLimits({ tenant, path, onSaved }: { tenant: TenantView; path: string; onSaved: () => void }) {
  const current = () => Object.fromEntries(TENANT_LIMITS.map((limit) => [limit.key, tenant.limits[limit.key] === null || tenant.limits[limit.key] === undefined ? '' : String(tenant.limits[limit.key])]));
  const [values, setValues] = useState<Record<string, string>>(current);
  const [dirty, setDirty] = useState(false);
  const action = useAction();
  // Follow the broker's values until the user edits.
  useEffect(() => {
    if (!dirty) setValues(current());
  }, [JSON.stringify(tenant.limits)]);
  const submit = async (event: Event) => {
    event.preventDefault();
    const limits: Record<string, number | null> = {};
    for (const { key } of TENANT_LIMITS) {
      const value = (values[key] ?? '').trim();
      const before = tenant.limits[key] ?? null;
      const after = value === '' ? null : Number(value);
      if (after !== before) limits[key] = after;
    }
    if (Object.keys(limits).length === 0) return;
    if (await action.run(() => api('PATCH', path, { limits }))) {
      notify('limits saved');
      setDirty(false);
      onSaved();
    }
  };
  return (
    <>
      <h2>Limits</h2>
      <form class="card" onSubmit={(event) => void submit(event)}>
        <div class="row">
          {TENANT_LIMITS.map((limit) => (
            <Field label={`${limit.label} (${limit.key})`} hint={`${limit.unit}; empty: no limit`}>
              <input
                type="number"
                min={0}
                value={values[limit.key] ?? ''}
                onInput={(event) => {
                  setDirty(true);
                  setValues({ ...values, [limit.key]: (event.target as HTMLInputElement).value });
                }}
                data-testid={`edit-limit-${limit.key}`}
              />
            </Field>
          ))}
        </div>
        <ErrorBox error={action.error} testid="tenant-update-error" />
        <div class="actions">
          <button type="submit" class="primary" disabled={action.busy} data-testid="tenant-save-limits">
            Save limits
          </button>
        </div>
      </form>
    </>
  );
}
