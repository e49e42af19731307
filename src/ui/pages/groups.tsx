// #/groups: the consumer groups the user may describe, each with its state, members and total lag
// (GET /api/v1/groups?summary=true), refreshed every few seconds; a group's name opens its page.
//
// data-testids: groups-table (and groups-table-filter), group-link-<group>, group-state-<group>,
// group-members-<group>, group-lag-<group>.

import { seg } from '../api.ts';
import { DataTable, type Column } from '../components/table.tsx';
import { Busy, ErrorBox } from '../components/ui.tsx';
import { formatNumber } from '../format.ts';
import { useApi } from '../hooks.ts';
import { link } from '../router.ts';
import type { PageProps } from './registry.ts';

export interface GroupRow {
  readonly group: string;
  readonly state: string | null;
  readonly protocolType: string;
  readonly members: number | null;
  readonly lag: number | null;
  readonly topics: string[] | null;
}

const REFRESH_MS = 5_000;

export function GroupsPage(_props: PageProps) {
  const { data, error, loading } = useApi<{ groups: GroupRow[]; summarized: number }>('/api/v1/groups?summary=true', REFRESH_MS);
  const columns: Column<GroupRow>[] = [
    {
      key: 'group',
      label: 'Group',
      render: (row) => (
        <a href={link(`/groups/${seg(row.group)}`)} data-testid={`group-link-${row.group}`}>
          {row.group}
        </a>
      ),
    },
    { key: 'state', label: 'State', render: (row) => <span class={`badge ${stateClass(row.state)}`} data-testid={`group-state-${row.group}`}>{row.state ?? '?'}</span> },
    { key: 'protocolType', label: 'Type' },
    { key: 'members', label: 'Members', align: 'right', render: (row) => <span data-testid={`group-members-${row.group}`}>{formatNumber(row.members)}</span> },
    { key: 'lag', label: 'Lag', align: 'right', render: (row) => <span data-testid={`group-lag-${row.group}`}>{formatNumber(row.lag)}</span> },
    { key: 'topics', label: 'Topics', value: (row) => (row.topics ?? []).join(', ') },
  ];
  const rows = data?.groups ?? [];
  return (
    <section>
      <h1>Consumer groups</h1>
      <ErrorBox error={error} />
      <Busy when={loading && data === undefined} />
      {data !== undefined && data.summarized < rows.length && (
        <p class="hint">Members and lag are shown for the first {data.summarized} groups; open a group for its own.</p>
      )}
      <DataTable columns={columns} rows={rows} rowKey={(row) => row.group} filter stateKey="g" defaultSort={{ key: 'group', dir: 'asc' }} empty="No consumer groups." testid="groups-table" caption="Consumer groups" />
    </section>
  );
}

/** A badge's class for a group state: Stable is good, Empty neutral, the rest (rebalancing, Dead) a warning. */
export function stateClass(state: string | null): string {
  if (state === 'Stable') return 'ok';
  if (state === 'Empty' || state === null) return '';
  return 'bad';
}
