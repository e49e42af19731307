// #/security/acls: the authorizer's ACLs (GET /api/v1/acls), one row per entry, filtered by
// principal and by resource (type, name and pattern type: LITERAL, PREFIXED, or MATCH for every ACL
// that applies to the name, as `spate acls list` filters), the filter kept in the URL; a form to add
// one (POST /api/v1/acls) and a remove button per entry (DELETE /api/v1/acls with that entry
// exactly), with a confirmation.
//
// data-testids: acls-table, acl-row-<n> (rows as listed), acl-remove-<n> (then confirm-ok),
// acl-filter-principal, acl-filter-type, acl-filter-name, acl-filter-pattern, acl-filter-apply,
// acl-filter-clear, acl-resource-type, acl-resource-name, acl-pattern-type, acl-principal,
// acl-host, acl-operation, acl-permission, acl-add, acl-error, acls-error.

import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { DataTable, type Column } from '../components/table.tsx';
import { Busy, Confirm, ErrorBox, Field, notify, useAction } from '../components/ui.tsx';
import { useApi } from '../hooks.ts';
import { setQuery, useQuery } from '../router.ts';
import type { PageProps } from './registry.ts';
import { SecurityNav } from './security-users.tsx';

interface AclBinding {
  readonly resourceType: string;
  readonly name: string;
  readonly patternType: string;
  readonly acls: { principal: string; host: string; operation: string; permissionType: string }[];
}

interface AclRow {
  readonly index: number;
  readonly resourceType: string;
  readonly name: string;
  readonly patternType: string;
  readonly principal: string;
  readonly host: string;
  readonly operation: string;
  readonly permissionType: string;
}

const RESOURCE_TYPES = ['TOPIC', 'GROUP', 'CLUSTER', 'TRANSACTIONAL_ID', 'DELEGATION_TOKEN'];
const OPERATIONS = ['ALL', 'READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE'];

/** The API's path for the filter in the URL: the resource asked of the broker when it has a name, the principal always. */
function listPath(filter: Record<string, string>): string {
  const params = new URLSearchParams();
  if (filter.principal) params.set('principal', filter.principal);
  if (filter.rtype && (filter.rname || filter.rtype === 'CLUSTER')) {
    params.set('resourceType', filter.rtype);
    if (filter.rname) params.set('name', filter.rname);
    params.set('patternType', filter.rpattern || 'MATCH');
  }
  const text = params.toString();
  return `/api/v1/acls${text === '' ? '' : `?${text}`}`;
}

export function AclsPage(_props: PageProps) {
  const query = useQuery();
  const { data, error, loading, reload } = useApi<{ acls: AclBinding[] }>(listPath(query));
  const [draft, setDraft] = useState({ principal: query.principal ?? '', rtype: query.rtype ?? '', rname: query.rname ?? '', rpattern: query.rpattern ?? 'MATCH' });
  const [removing, setRemoving] = useState<AclRow | null>(null);
  const removal = useAction();
  const rows: AclRow[] = [];
  for (const binding of data?.acls ?? []) {
    // A type without a name is filtered here (the API filters by a named resource).
    if (query.rtype && !query.rname && binding.resourceType !== query.rtype) continue;
    for (const entry of binding.acls) rows.push({ index: rows.length, resourceType: binding.resourceType, name: binding.name, patternType: binding.patternType, ...entry });
  }

  const remove = async (row: AclRow) => {
    setRemoving(null);
    const params = new URLSearchParams({ resourceType: row.resourceType, name: row.name, patternType: row.patternType, principal: row.principal, host: row.host, operation: row.operation, permissionType: row.permissionType });
    if (await removal.run(() => api('DELETE', `/api/v1/acls?${params}`))) {
      notify('ACL removed');
      reload();
    }
  };
  const columns: Column<AclRow>[] = [
    { key: 'principal', label: 'Principal', render: (row) => <span data-testid={`acl-row-${row.index}`}>{row.principal}</span> },
    { key: 'resourceType', label: 'Resource type' },
    { key: 'name', label: 'Resource name', render: (row) => <span class="mono">{row.name}</span> },
    { key: 'patternType', label: 'Pattern' },
    { key: 'operation', label: 'Operation' },
    { key: 'permissionType', label: 'Permission', render: (row) => <span class={`badge ${row.permissionType === 'ALLOW' ? 'ok' : 'bad'}`}>{row.permissionType}</span> },
    { key: 'host', label: 'Host' },
    {
      key: 'actions',
      label: 'Actions',
      sortable: false,
      value: () => '',
      render: (row) => (
        <button type="button" class="danger" onClick={() => setRemoving(row)} aria-label={`remove ${row.permissionType} ${row.operation} on ${row.resourceType} ${row.name} for ${row.principal}`} data-testid={`acl-remove-${row.index}`}>
          Remove
        </button>
      ),
    },
  ];
  const set = (key: keyof typeof draft) => (event: Event) => setDraft({ ...draft, [key]: (event.target as HTMLInputElement | HTMLSelectElement).value });
  return (
    <section>
      <h1>Security</h1>
      <SecurityNav />
      <h2>ACLs</h2>
      <form
        class="row"
        aria-label="filter the ACLs"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery({ ...draft, rpattern: draft.rtype === '' ? null : draft.rpattern, apage: null });
        }}
      >
        <Field label="Principal">
          <input value={draft.principal} placeholder="User:alice" onInput={set('principal')} data-testid="acl-filter-principal" />
        </Field>
        <Field label="Resource type">
          <select value={draft.rtype} onChange={set('rtype')} data-testid="acl-filter-type">
            <option value="">any</option>
            {RESOURCE_TYPES.map((type) => (
              <option value={type}>{type}</option>
            ))}
          </select>
        </Field>
        <Field label="Resource name">
          <input value={draft.rname} onInput={set('rname')} data-testid="acl-filter-name" />
        </Field>
        <Field label="Match">
          <select value={draft.rpattern} onChange={set('rpattern')} data-testid="acl-filter-pattern">
            <option value="MATCH">every ACL that applies</option>
            <option value="LITERAL">literal</option>
            <option value="PREFIXED">prefixed</option>
            <option value="ANY">literal or prefixed</option>
          </select>
        </Field>
        <div class="actions">
          <button type="submit" data-testid="acl-filter-apply">
            Filter
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft({ principal: '', rtype: '', rname: '', rpattern: 'MATCH' });
              setQuery({ principal: null, rtype: null, rname: null, rpattern: null, apage: null });
            }}
            data-testid="acl-filter-clear"
          >
            Clear
          </button>
        </div>
      </form>
      <ErrorBox error={error} testid="acls-error" />
      <ErrorBox error={removal.error} testid="acl-remove-error" />
      <Busy when={loading && data === undefined} />
      <DataTable columns={columns} rows={rows} rowKey={(row) => `${row.resourceType}|${row.patternType}|${row.name}|${row.principal}|${row.host}|${row.operation}|${row.permissionType}`} stateKey="a" defaultSort={{ key: 'principal', dir: 'asc' }} empty="No ACLs match." testid="acls-table" caption="ACLs" />
      <AddAcl onAdded={reload} />
      {removing !== null && (
        <Confirm title="Remove this ACL?" confirmLabel="Remove" danger onConfirm={() => void remove(removing)} onCancel={() => setRemoving(null)}>
          {removing.permissionType} {removing.principal} {removing.operation} on {removing.resourceType} {removing.name} ({removing.patternType}) from {removing.host}
        </Confirm>
      )}
    </section>
  );
}

function AddAcl({ onAdded }: { onAdded: () => void }) {
  const [acl, setAcl] = useState({ resourceType: 'TOPIC', name: '', patternType: 'LITERAL', principal: 'User:', host: '*', operation: 'READ', permissionType: 'ALLOW' });
  const action = useAction();
  const set = (key: keyof typeof acl) => (event: Event) => setAcl({ ...acl, [key]: (event.target as HTMLInputElement | HTMLSelectElement).value });
  const submit = async (event: Event) => {
    event.preventDefault();
    const body = acl.resourceType === 'CLUSTER' ? { ...acl, name: 'kafka-cluster', patternType: 'LITERAL' } : acl;
    if (await action.run(() => api('POST', '/api/v1/acls', { acls: [body] }))) {
      notify(`ACL added: ${acl.permissionType} ${acl.principal} ${acl.operation} on ${acl.resourceType} ${body.name}`);
      onAdded();
    }
  };
  return (
    <>
      <h2>Add an ACL</h2>
      <form class="card" onSubmit={(event) => void submit(event)}>
        <div class="row">
          <Field label="Principal">
            <input required value={acl.principal} onInput={set('principal')} data-testid="acl-principal" />
          </Field>
          <Field label="Permission">
            <select value={acl.permissionType} onChange={set('permissionType')} data-testid="acl-permission">
              <option value="ALLOW">ALLOW</option>
              <option value="DENY">DENY</option>
            </select>
          </Field>
          <Field label="Operation">
            <select value={acl.operation} onChange={set('operation')} data-testid="acl-operation">
              {OPERATIONS.map((operation) => (
                <option value={operation}>{operation}</option>
              ))}
            </select>
          </Field>
          <Field label="Resource type">
            <select value={acl.resourceType} onChange={set('resourceType')} data-testid="acl-resource-type">
              {RESOURCE_TYPES.map((type) => (
                <option value={type}>{type}</option>
              ))}
            </select>
          </Field>
          {acl.resourceType !== 'CLUSTER' && (
            <>
              <Field label="Resource name" hint="* for every one">
                <input required value={acl.name} onInput={set('name')} data-testid="acl-resource-name" />
              </Field>
              <Field label="Pattern type">
                <select value={acl.patternType} onChange={set('patternType')} data-testid="acl-pattern-type">
                  <option value="LITERAL">LITERAL</option>
                  <option value="PREFIXED">PREFIXED</option>
                </select>
              </Field>
            </>
          )}
          <Field label="Host">
            <input required value={acl.host} onInput={set('host')} data-testid="acl-host" />
          </Field>
        </div>
        <ErrorBox error={action.error} testid="acl-error" />
        <div class="actions">
          <button type="submit" class="primary" disabled={action.busy} data-testid="acl-add">
            Add ACL
          </button>
        </div>
      </form>
    </>
  );
}
