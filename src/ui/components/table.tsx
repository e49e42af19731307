// Every table of the UI: sortable by any column (the headers are buttons), paginated, with an
// optional filter box; the sort, page and filter are in the URL (prefixed by `stateKey`, so two
// tables on one page keep theirs apart), so a sorted, filtered page can be bookmarked.

import type { ComponentChild } from 'preact';
import { setQuery, useQuery } from '../router.ts';

export interface Column<T> {
  readonly key: string;
  readonly label: string;
  /** What the column sorts and filters by (default: the row's property `key`). */
  readonly value?: (row: T) => string | number | boolean | null | undefined;
  /** How a cell shows (default: the value). */
  readonly render?: (row: T) => ComponentChild;
  readonly align?: 'left' | 'right';
  readonly sortable?: boolean;
}

export interface DataTableProps<T> {
  readonly columns: readonly Column<T>[];
  readonly rows: readonly T[];
  readonly rowKey: (row: T) => string;
  readonly pageSize?: number;
  /** Prefix of this table's URL state (`t` by default). */
  readonly stateKey?: string;
  /** Shows a filter box matching any column's value. */
  readonly filter?: boolean;
  readonly defaultSort?: { key: string; dir: 'asc' | 'desc' };
  readonly empty?: string;
  readonly testid?: string;
  readonly caption?: string;
}

function cellValue<T>(column: Column<T>, row: T): string | number | boolean | null | undefined {
  if (column.value !== undefined) return column.value(row);
  const value = (row as Record<string, unknown>)[column.key];
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : value === null || value === undefined ? value : String(value);
}

function compare(a: string | number | boolean | null | undefined, b: string | number | boolean | null | undefined): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

export function DataTable<T>(props: DataTableProps<T>) {
  const query = useQuery();
  const prefix = props.stateKey ?? 't';
  const pageSize = props.pageSize ?? 25;
  const sortKey = query[`${prefix}sort`] ?? props.defaultSort?.key;
  const sortDir = (query[`${prefix}dir`] ?? props.defaultSort?.dir ?? 'asc') === 'desc' ? 'desc' : 'asc';
  const needle = (query[`${prefix}q`] ?? '').toLowerCase();
  let rows = [...props.rows];
  if (props.filter === true && needle !== '') {
    rows = rows.filter((row) => props.columns.some((column) => String(cellValue(column, row) ?? '').toLowerCase().includes(needle)));
  }
  const sortColumn = props.columns.find((column) => column.key === sortKey);
  if (sortColumn !== undefined) {
    rows.sort((a, b) => compare(cellValue(sortColumn, a), cellValue(sortColumn, b)) * (sortDir === 'desc' ? -1 : 1));
  }
  const pages = Math.max(1, Math.ceil(rows.length / pageSize));
  const page = Math.min(pages, Math.max(1, Number.parseInt(query[`${prefix}page`] ?? '1', 10) || 1));
  const shown = rows.slice((page - 1) * pageSize, page * pageSize);
  const sortBy = (key: string) => {
    const dir = sortKey === key && sortDir === 'asc' ? 'desc' : 'asc';
    setQuery({ [`${prefix}sort`]: key, [`${prefix}dir`]: dir, [`${prefix}page`]: null });
  };
  return (
    <div class="table-wrap" data-testid={props.testid}>
      {props.filter === true && (
        <input
          type="search"
          class="table-filter"
          placeholder="Filter…"
          aria-label="Filter the table"
          value={query[`${prefix}q`] ?? ''}
          onInput={(event) => setQuery({ [`${prefix}q`]: (event.target as HTMLInputElement).value, [`${prefix}page`]: null })}
          data-testid={`${props.testid ?? 'table'}-filter`}
        />
      )}
      <table>
        {props.caption !== undefined && <caption>{props.caption}</caption>}
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th scope="col" class={column.align === 'right' ? 'num' : undefined} aria-sort={sortKey === column.key ? (sortDir === 'asc' ? 'ascending' : 'descending') : undefined}>
                {column.sortable === false ? (
                  column.label
                ) : (
                  <button type="button" class="sort" onClick={() => sortBy(column.key)} data-testid={`sort-${column.key}`}>
                    {column.label}
                    <span aria-hidden="true">{sortKey === column.key ? (sortDir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                  </button>
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.length === 0 ? (
            <tr>
              <td colSpan={props.columns.length} class="empty">
                {props.empty ?? 'Nothing to show.'}
              </td>
            </tr>
          ) : (
            shown.map((row) => (
              <tr key={props.rowKey(row)} data-key={props.rowKey(row)}>
                {props.columns.map((column) => (
                  <td class={column.align === 'right' ? 'num' : undefined}>{column.render !== undefined ? column.render(row) : String(cellValue(column, row) ?? '–')}</td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
      {pages > 1 && (
        <nav class="pager" aria-label="pages">
          <button type="button" disabled={page <= 1} onClick={() => setQuery({ [`${prefix}page`]: page - 1 })} data-testid="page-previous">
            ‹ Previous
          </button>
          <span>
            page {page} of {pages} ({rows.length} rows)
          </span>
          <button type="button" disabled={page >= pages} onClick={() => setQuery({ [`${prefix}page`]: page + 1 })} data-testid="page-next">
            Next ›
          </button>
        </nav>
      )}
    </div>
  );
}
