// #/security/users: the broker's SCRAM users (GET /api/v1/users), a form to create one (or change
// its password) with SCRAM-SHA-256, SCRAM-SHA-512 or both, and delete with a confirmation. The
// password is salted in the broker (POST /api/v1/users), sent only to a loopback or https listener.
// The three security pages share their sub-navigation (SecurityNav).
//
// data-testids: security-nav-users, security-nav-acls, security-nav-quotas (SecurityNav);
// users-table, user-row-<user>, user-mechanisms-<user>, user-delete-<user> (then confirm-ok),
// user-name, user-password, user-mechanism, user-iterations, user-create, user-error.

import { useState } from 'preact/hooks';
import { api, seg } from '../api.ts';
import { DataTable, type Column } from '../components/table.tsx';
import { Busy, Confirm, ErrorBox, Field, notify, useAction } from '../components/ui.tsx';
import { useApi } from '../hooks.ts';
import { link, useRoute } from '../router.ts';
import type { PageProps } from './registry.ts';

interface User {
  readonly user: string;
  readonly credentials: { mechanism: string; iterations: number }[];
}

/** Users, ACLs, Quotas: links between the three security pages. */
export function SecurityNav() {
  const { path } = useRoute();
  const tabs = [
    { path: '/security/users', label: 'Users', id: 'users' },
    { path: '/security/acls', label: 'ACLs', id: 'acls' },
    { path: '/security/quotas', label: 'Quotas', id: 'quotas' },
  ];
  return (
    <nav class="tabs" aria-label="security">
      {tabs.map((tab) => (
        <a href={link(tab.path)} class={path === tab.path ? 'tab active' : 'tab'} aria-current={path === tab.path ? 'page' : undefined} data-testid={`security-nav-${tab.id}`}>
          {tab.label}
        </a>
      ))}
    </nav>
  );
}

export function UsersPage(_props: PageProps) {
  const { data, error, loading, reload } = useApi<{ users: User[] }>('/api/v1/users');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [mechanism, setMechanism] = useState('SCRAM-SHA-512');
  const [iterations, setIterations] = useState('4096');
  const [deleting, setDeleting] = useState<string | null>(null);
  const create = useAction();
  const removal = useAction();

  const submit = async (event: Event) => {
    event.preventDefault();
    const made = name;
    if (await create.run(() => api('POST', '/api/v1/users', { name: made, password, mechanism, iterations: Number(iterations) }))) {
      notify(`user ${made} saved`);
      setName('');
      setPassword('');
      reload();
    }
  };
  const remove = async (user: string) => {
    setDeleting(null);
    if (await removal.run(() => api('DELETE', `/api/v1/users/${seg(user)}`))) {
      notify(`user ${user} deleted`);
      reload();
    }
  };
  const columns: Column<User>[] = [
    { key: 'user', label: 'User', render: (row) => <span data-testid={`user-row-${row.user}`}>{row.user}</span> },
    {
      key: 'credentials',
      label: 'Mechanisms',
      value: (row) => row.credentials.map((credential) => `${credential.mechanism} (${credential.iterations})`).join(', '),
      render: (row) => <span data-testid={`user-mechanisms-${row.user}`}>{row.credentials.map((credential) => `${credential.mechanism} (${credential.iterations} iterations)`).join(', ')}</span>,
    },
    {
      key: 'actions',
      label: 'Actions',
      sortable: false,
      value: () => '',
      render: (row) => (
        <button type="button" class="danger" onClick={() => setDeleting(row.user)} aria-label={`delete user ${row.user}`} data-testid={`user-delete-${row.user}`}>
          Delete
        </button>
      ),
    },
  ];
  return (
    <section>
      <h1>Security</h1>
      <SecurityNav />
      <h2>Users</h2>
      <ErrorBox error={error} />
      <ErrorBox error={removal.error} testid="user-delete-error" />
      <Busy when={loading && data === undefined} />
      <DataTable columns={columns} rows={data?.users ?? []} rowKey={(row) => row.user} filter stateKey="u" defaultSort={{ key: 'user', dir: 'asc' }} empty="No SCRAM users." testid="users-table" caption="SCRAM users" />
      <h2>Create a user or change a password</h2>
      <form class="card" onSubmit={(event) => void submit(event)}>
        <div class="row">
          <Field label="Name">
            <input required value={name} onInput={(event) => setName((event.target as HTMLInputElement).value)} autocomplete="off" data-testid="user-name" />
          </Field>
          <Field label="Password">
            <input required type="password" value={password} onInput={(event) => setPassword((event.target as HTMLInputElement).value)} autocomplete="new-password" data-testid="user-password" />
          </Field>
          <Field label="Mechanism">
            <select value={mechanism} onChange={(event) => setMechanism((event.target as HTMLSelectElement).value)} data-testid="user-mechanism">
              <option value="SCRAM-SHA-256">SCRAM-SHA-256</option>
              <option value="SCRAM-SHA-512">SCRAM-SHA-512</option>
              <option value="both">both</option>
            </select>
          </Field>
          <Field label="Iterations" hint="4096 to 16384">
            <input type="number" min={4096} max={16384} value={iterations} onInput={(event) => setIterations((event.target as HTMLInputElement).value)} data-testid="user-iterations" />
          </Field>
        </div>
        <ErrorBox error={create.error} testid="user-error" />
        <div class="actions">
          <button type="submit" class="primary" disabled={create.busy} data-testid="user-create">
            Save user
          </button>
        </div>
      </form>
      {deleting !== null && (
        <Confirm title={`Delete user ${deleting}?`} confirmLabel="Delete" danger onConfirm={() => void remove(deleting)} onCancel={() => setDeleting(null)}>
          Its credentials are deleted: it can no longer log in (its ACLs and quotas stay).
        </Confirm>
      )}
    </section>
  );
}
