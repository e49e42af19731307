// #/tenants: Spate's tenants (GET /api/v1/tenants) and a form to create one (POST /api/v1/tenants:
// name, prefix, users with a password for their SCRAM credentials, limits); a tenant's name opens
// its page (tenant.tsx).
//
// data-testids: tenants-table, tenant-link-<name>, tenant-name, tenant-prefix, tenant-users,
// tenant-password, tenant-limit-<key> (producer_byte_rate, consumer_byte_rate, max.partitions,
// max.topics, max.storage.bytes), tenant-create, tenant-error, tenants-error.

import { useState } from 'preact/hooks';
import { api, seg } from '../api.ts';
import { DataTable, type Column } from '../components/table.tsx';
import { Busy, ErrorBox, Field, notify, useAction } from '../components/ui.tsx';
import { useApi } from '../hooks.ts';
import { link, navigate } from '../router.ts';
import type { PageProps } from './registry.ts';

/** A tenant's limits by record key, with what each means. */
export const TENANT_LIMITS: readonly { key: string; label: string; unit: string }[] = [
  { key: 'max.topics', label: 'Topics', unit: 'topics' },
  { key: 'max.partitions', label: 'Partitions', unit: 'partitions' },
  { key: 'max.storage.bytes', label: 'Stored bytes', unit: 'bytes' },
  { key: 'producer_byte_rate', label: 'Produce rate per user', unit: 'bytes/s' },
  { key: 'consumer_byte_rate', label: 'Fetch rate per user', unit: 'bytes/s' },
];

interface TenantListing {
  readonly name: string;
  readonly prefix: string;
}

export function TenantsPage(_props: PageProps) {
  const { data, error, loading } = useApi<{ tenants: TenantListing[] }>('/api/v1/tenants');
  const columns: Column<TenantListing>[] = [
    {
      key: 'name',
      label: 'Tenant',
      render: (row) => (
        <a href={link(`/tenants/${seg(row.name)}`)} data-testid={`tenant-link-${row.name}`}>
          {row.name}
        </a>
      ),
    },
    { key: 'prefix', label: 'Prefix', render: (row) => <span class="mono">{row.prefix}</span> },
  ];
  return (
    <section>
      <h1>Tenants</h1>
      <p class="hint">A tenant is a prefix of topic, group and transactional id names, its users (allowed everything under the prefix) and its limits.</p>
      <ErrorBox error={error} testid="tenants-error" />
      <Busy when={loading && data === undefined} />
      <DataTable columns={columns} rows={data?.tenants ?? []} rowKey={(row) => row.name} filter stateKey="n" defaultSort={{ key: 'name', dir: 'asc' }} empty="No tenants." testid="tenants-table" caption="Tenants" />
      <CreateTenant />
    </section>
  );
}

function CreateTenant() {
  const [name, setName] = useState('');
  const [prefix, setPrefix] = useState('');
  const [users, setUsers] = useState('');
  const [password, setPassword] = useState('');
  const [limits, setLimits] = useState<Record<string, string>>({});
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const userList = users
      .split(',')
      .map((user) => user.trim())
      .filter((user) => user !== '');
    const body: Record<string, unknown> = {
      name,
      prefix,
      users: userList,
      limits: Object.fromEntries(Object.entries(limits).filter(([, value]) => value.trim() !== '').map(([key, value]) => [key, Number(value)])),
    };
    if (password !== '') body.password = password;
    if (await action.run(() => api('POST', '/api/v1/tenants', body))) {
      notify(`tenant ${name} created`);
      navigate(`/tenants/${seg(name)}`);
    }
  };
  return (
    <>
      <h2>Create a tenant</h2>
      <form class="card" onSubmit={(event) => void submit(event)}>
        <div class="row">
          <Field label="Name">
            <input required value={name} onInput={(event) => setName((event.target as HTMLInputElement).value)} data-testid="tenant-name" />
          </Field>
          <Field label="Prefix" hint="e.g. acme. — never overlapping another tenant's">
            <input required value={prefix} onInput={(event) => setPrefix((event.target as HTMLInputElement).value)} data-testid="tenant-prefix" />
          </Field>
          <Field label="Users" hint="comma-separated">
            <input value={users} onInput={(event) => setUsers((event.target as HTMLInputElement).value)} data-testid="tenant-users" />
          </Field>
          <Field label="Password" hint="makes the users' SCRAM credentials (leave empty if they exist)">
            <input type="password" autocomplete="new-password" value={password} onInput={(event) => setPassword((event.target as HTMLInputElement).value)} data-testid="tenant-password" />
          </Field>
        </div>
        <div class="row">
          {TENANT_LIMITS.map((limit) => (
            <Field label={`${limit.label} (${limit.key})`} hint={`${limit.unit}; empty: no limit`}>
              <input type="number" min={0} value={limits[limit.key] ?? ''} onInput={(event) => setLimits({ ...limits, [limit.key]: (event.target as HTMLInputElement).value })} data-testid={`tenant-limit-${limit.key}`} />
            </Field>
          ))}
        </div>
        <ErrorBox error={action.error} testid="tenant-error" />
        <div class="actions">
          <button type="submit" class="primary" disabled={action.busy} data-testid="tenant-create">
            Create tenant
          </button>
        </div>
      </form>
    </>
  );
}
