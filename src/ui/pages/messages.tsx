// The Messages page (#/topics/:topic/messages): browse a partition from an offset or a time, search
// the topic (key, value or a header; substring, regex or JSON path) with a progress bar and a
// cancel button, produce a message with key, value and headers, and export what is shown as JSON
// or CSV (made in the browser from the rows shown). The tab, the partition, the start and the
// search's id are in the URL, so each view can be bookmarked. Back end: docs/admin-api.md,
// "Messages" and "Searches". Keys, values and header values are fetched as base64 and shown as
// text (UTF-8), pretty JSON or hex.
//
// data-testids (the tests drive these):
//   tabs:     tab-browse, tab-search, tab-produce
//   browse:   browse-partition (select), browse-from (select offset|time), browse-offset, browse-time,
//             browse-load, browse-next, browse-table
//   shown as: value-view (select text|json|hex)
//   search:   search-field (select key|value|header), search-header-key, search-mode
//             (select substring|regex|jsonpath), search-pattern, search-equals, search-ignore-case,
//             search-partitions ("0, 2"; empty: all), search-time, search-start, search-cancel, search-progress, search-state, search-table,
//             search-error
//   produce:  produce-partition, produce-key, produce-value, produce-header-key-<i>,
//             produce-header-value-<i>, produce-header-remove-<i>, produce-add-header, produce-submit,
//             produce-result, produce-error
//   export:   export-json, export-csv (of the table shown: browse-table or search-table)
//   a row:    <tr data-key="<partition>-<offset>">

import { useEffect, useState } from 'preact/hooks';
import { api, seg } from '../api.ts';
import { DataTable, type Column } from '../components/table.tsx';
import { ErrorBox, Field, ProgressBar, Tabs, notify, useAction } from '../components/ui.tsx';
import { formatBytes, formatNumber, formatTime } from '../format.ts';
import { useApi } from '../hooks.ts';
import { link, setQuery, useQuery } from '../router.ts';
import type { PageProps } from './registry.ts';

// ---- what the API answers (base64 fields) ----

interface ApiHeader {
  readonly key: string;
  readonly value: string | null;
}

interface ApiRecord {
  readonly partition?: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: readonly ApiHeader[];
  readonly truncated?: boolean;
}

interface MessagesPage {
  readonly partition: number;
  readonly startOffset: number;
  readonly nextOffset: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly records: readonly ApiRecord[];
  readonly skipped: readonly { offset: number; reason: string }[];
}

interface TopicDescription {
  readonly partitions: readonly { partition: number; earliestOffset: number | null; latestOffset: number | null }[];
}

interface SearchView {
  readonly id: string;
  readonly state: string;
  readonly error: { error: string; message: string } | null;
  readonly progress: number;
  readonly bytesScanned: number;
  readonly bytesTotal: number | null;
  /** bytesTotal is the partitions' sizes, not an estimate. */
  readonly bytesTotalFromSizes: boolean;
  readonly recordsScanned: number;
  readonly matchCount: number;
  readonly matches: readonly ApiRecord[];
}

// ---- rows as shown ----

/** A record decoded in the browser: the bytes, and their text. */
export interface Row {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly { key: string; value: Uint8Array | null }[];
  readonly truncated: boolean;
}

function fromBase64(text: string | null): Uint8Array | null {
  if (text === null) return null;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toRow(record: ApiRecord, partition: number): Row {
  return {
    partition: record.partition ?? partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: fromBase64(record.key),
    value: fromBase64(record.value),
    headers: record.headers.map((header) => ({ key: header.key, value: fromBase64(header.value) })),
    truncated: record.truncated === true,
  };
}

const utf8 = new TextDecoder('utf-8');

export function asText(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : utf8.decode(bytes);
}

function asHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

type ValueView = 'text' | 'json' | 'hex';

function shown(bytes: Uint8Array | null, view: ValueView): string {
  if (bytes === null) return 'null';
  if (view === 'hex') return asHex(bytes);
  const text = utf8.decode(bytes);
  if (view === 'json') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text; // not JSON: as text
    }
  }
  return text;
}

// ---- export ----

/** The rows as export has them: keys, values and header values as text (UTF-8). */
export function exportObjects(rows: readonly Row[]): object[] {
  return rows.map((row) => ({
    partition: row.partition,
    offset: row.offset,
    timestamp: row.timestamp,
    key: asText(row.key),
    value: asText(row.value),
    headers: row.headers.map((header) => ({ key: header.key, value: asText(header.value) })),
  }));
}

/** A spreadsheet takes a cell starting with = + - @ (or a tab or CR) as a formula (CSV injection, OWASP): such text from records is written with a leading '. */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = typeof value === 'string' && FORMULA_START.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV: partition, offset, timestamp, key, value, headers (as JSON); text cells that would start a formula begin with '. */
export function toCsv(rows: readonly Row[]): string {
  const lines = ['partition,offset,timestamp,key,value,headers'];
  for (const row of rows) {
    const headers = JSON.stringify(row.headers.map((header) => ({ key: header.key, value: asText(header.value) })));
    lines.push([row.partition, row.offset, row.timestamp, asText(row.key), asText(row.value), headers].map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

function download(name: string, type: string, content: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = name;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function ExportButtons({ rows, name }: { rows: readonly Row[]; name: string }) {
  return (
    <>
      <button type="button" disabled={rows.length === 0} onClick={() => download(`${name}.json`, 'application/json', `${JSON.stringify(exportObjects(rows), null, 2)}\n`)} data-testid="export-json">
        Export JSON
      </button>
      <button type="button" disabled={rows.length === 0} onClick={() => download(`${name}.csv`, 'text/csv', toCsv(rows))} data-testid="export-csv">
        Export CSV
      </button>
    </>
  );
}

// ---- the table of records ----

function recordColumns(view: ValueView, withPartition: boolean): Column<Row>[] {
  const columns: Column<Row>[] = [];
  if (withPartition) columns.push({ key: 'partition', label: 'Partition', align: 'right' });
  columns.push(
    { key: 'offset', label: 'Offset', align: 'right' },
    { key: 'timestamp', label: 'Time', render: (row) => formatTime(row.timestamp) },
    { key: 'key', label: 'Key', value: (row) => asText(row.key), render: (row) => <code>{row.key === null ? 'null' : shown(row.key, view === 'json' ? 'text' : view)}</code> },
    {
      key: 'value',
      label: 'Value',
      value: (row) => asText(row.value),
      render: (row) => (
        <pre>
          {shown(row.value, view)}
          {row.truncated ? ' … (cut)' : ''}
        </pre>
      ),
    },
    {
      key: 'headers',
      label: 'Headers',
      sortable: false,
      value: (row) => row.headers.map((header) => `${header.key}=${asText(header.value) ?? 'null'}`).join(' '),
      render: (row) => (
        <ul class="headers">
          {row.headers.map((header) => (
            <li>
              <code>{header.key}</code>: <code>{header.value === null ? 'null' : shown(header.value, view === 'json' ? 'text' : view)}</code>
            </li>
          ))}
        </ul>
      ),
    },
  );
  return columns;
}

const rowKey = (row: Row): string => `${row.partition}-${row.offset}`;

// ---- browse ----

/** A datetime-local input's value read as UTC (the page shows times in UTC); null when empty or not a time. */
function utcMs(value: string): number | null {
  if (value === '') return null;
  const ms = Date.parse(`${value}Z`);
  return Number.isNaN(ms) ? null : ms;
}

function Browse({ topic, view }: { topic: string; view: ValueView }) {
  const query = useQuery();
  const described = useApi<TopicDescription>(`/api/v1/topics/${seg(topic)}`);
  const partition = Number.parseInt(query.partition ?? '0', 10) || 0;
  const [from, setFrom] = useState<'offset' | 'time'>(query.time !== undefined ? 'time' : 'offset');
  const [offset, setOffset] = useState(query.offset ?? '');
  const [time, setTime] = useState(query.time ?? '');
  const params = new URLSearchParams({ encoding: 'base64', limit: '100' });
  if (query.offset !== undefined) params.set('offset', query.offset);
  else if (query.time !== undefined && utcMs(query.time) !== null) params.set('timestamp', String(utcMs(query.time)));
  const page = useApi<MessagesPage>(`/api/v1/topics/${seg(topic)}/partitions/${partition}/messages?${params}`);
  const rows = (page.data?.records ?? []).map((record) => toRow(record, partition));
  const load = (event: Event) => {
    event.preventDefault();
    if (from === 'offset') setQuery({ offset: offset === '' ? null : offset, time: null, tpage: null });
    else setQuery({ time: time === '' ? null : time, offset: null, tpage: null });
  };
  const partitions = described.data?.partitions ?? [{ partition: 0, earliestOffset: null, latestOffset: null }];
  const info = partitions.find((p) => p.partition === partition);
  return (
    <section aria-label="Browse">
      <form class="row" onSubmit={load}>
        <Field label="Partition">
          <select value={String(partition)} onChange={(event) => setQuery({ partition: (event.target as HTMLSelectElement).value, offset: null, time: null, tpage: null })} data-testid="browse-partition">
            {partitions.map((p) => (
              <option value={String(p.partition)}>{p.partition}</option>
            ))}
          </select>
        </Field>
        <Field label="From">
          <select value={from} onChange={(event) => setFrom((event.target as HTMLSelectElement).value as 'offset' | 'time')} data-testid="browse-from">
            <option value="offset">an offset</option>
            <option value="time">a time</option>
          </select>
        </Field>
        {from === 'offset' ? (
          <Field label="Offset" hint={info !== undefined && info.earliestOffset !== null ? `${info.earliestOffset} to ${info.latestOffset}` : undefined}>
            <input type="number" min="0" value={offset} placeholder="earliest" onInput={(event) => setOffset((event.target as HTMLInputElement).value)} data-testid="browse-offset" />
          </Field>
        ) : (
          <Field label="Time (UTC)">
            <input type="datetime-local" step="1" value={time} onInput={(event) => setTime((event.target as HTMLInputElement).value)} data-testid="browse-time" />
          </Field>
        )}
        <button type="submit" class="primary" data-testid="browse-load">
          Load
        </button>
      </form>
      <ErrorBox error={described.error ?? page.error} />
      <div class="toolbar">
        <span>
          {page.data !== undefined ? `offsets ${page.data.startOffset} to ${page.data.nextOffset - 1} of ${page.data.logStartOffset}–${page.data.highWatermark - 1}` : page.loading ? 'loading…' : ''}
        </span>
        <button type="button" disabled={page.data === undefined || page.data.nextOffset >= page.data.highWatermark} onClick={() => setQuery({ offset: page.data!.nextOffset, time: null, tpage: null })} data-testid="browse-next">
          Next page ›
        </button>
        <ExportButtons rows={rows} name={`${topic}-${partition}-messages`} />
      </div>
      {page.data !== undefined && page.data.skipped.length > 0 && <p class="warn">Batches that could not be decoded: {page.data.skipped.map((s) => `${s.offset} (${s.reason})`).join('; ')}</p>}
      <DataTable columns={recordColumns(view, false)} rows={rows} rowKey={rowKey} pageSize={100} stateKey="t" testid="browse-table" empty="No messages here." />
    </section>
  );
}

// ---- search ----

const RUNNING = 'running';

function Search({ topic, view }: { topic: string; view: ValueView }) {
  const query = useQuery();
  const id = query.search ?? null;
  const [field, setField] = useState('value');
  const [mode, setMode] = useState('substring');
  const [pattern, setPattern] = useState('');
  const [headerKey, setHeaderKey] = useState('');
  const [equals, setEquals] = useState('');
  const [ignoreCase, setIgnoreCase] = useState(false);
  const [time, setTime] = useState('');
  const [partitions, setPartitions] = useState('');
  const action = useAction();
  const [result, setResult] = useState<SearchView | null>(null);
  const [pollError, setPollError] = useState<unknown>(undefined);

  // Polls the search named in the URL while it runs.
  useEffect(() => {
    if (id === null) {
      setResult(null);
      return;
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      api<SearchView>('GET', `/api/v1/searches/${seg(id)}?encoding=base64`, undefined, controller.signal).then(
        (view) => {
          setResult(view);
          setPollError(undefined);
          if (view.state === RUNNING) timer = setTimeout(poll, 300);
        },
        (error: unknown) => {
          if (!controller.signal.aborted) setPollError(error);
        },
      );
    };
    poll();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [id]);

  const start = async (event: Event) => {
    event.preventDefault();
    await action.run(async () => {
      const body: Record<string, unknown> = { field, mode, pattern };
      if (field === 'header') body.headerKey = headerKey;
      if (mode === 'jsonpath' && equals !== '') body.equals = equals;
      if (mode !== 'jsonpath' && ignoreCase) body.ignoreCase = true;
      if (utcMs(time) !== null) body.timestamp = utcMs(time);
      // "0, 2": those partitions (the API refuses what is not a partition of the topic).
      if (partitions.trim() !== '') body.partitions = partitions.split(/[\s,]+/).filter((part) => part !== '').map((part) => (/^\d+$/.test(part) ? Number(part) : part));
      const started = await api<{ id: string }>('POST', `/api/v1/topics/${seg(topic)}/searches`, body);
      setResult(null);
      setQuery({ search: started.id, spage: null });
    });
  };
  const cancel = async () => {
    if (id === null) return;
    await action.run(async () => setResult(await api<SearchView>('DELETE', `/api/v1/searches/${seg(id)}`)));
  };
  const rows = (result?.matches ?? []).map((record) => toRow(record, 0));
  const running = result?.state === RUNNING;
  const progressLabel =
    result === null
      ? 'starting…'
      : `${(result.progress * 100).toFixed(0)} % · ${formatBytes(result.bytesScanned)} of ${result.bytesTotal === null ? '?' : `${result.bytesTotalFromSizes ? '' : '~'}${formatBytes(result.bytesTotal)}`} · ${formatNumber(result.recordsScanned)} records · ${result.matchCount} matches`;
  return (
    <section aria-label="Search">
      <form class="row" onSubmit={start}>
        <Field label="Where">
          <select value={field} onChange={(event) => setField((event.target as HTMLSelectElement).value)} data-testid="search-field">
            <option value="value">value</option>
            <option value="key">key</option>
            <option value="header">a header</option>
          </select>
        </Field>
        {field === 'header' && (
          <Field label="Header key">
            <input value={headerKey} required onInput={(event) => setHeaderKey((event.target as HTMLInputElement).value)} data-testid="search-header-key" />
          </Field>
        )}
        <Field label="Mode">
          <select value={mode} onChange={(event) => setMode((event.target as HTMLSelectElement).value)} data-testid="search-mode">
            <option value="substring">contains</option>
            <option value="regex">regex</option>
            <option value="jsonpath">JSON path</option>
          </select>
        </Field>
        <Field label={mode === 'jsonpath' ? 'JSON path' : mode === 'regex' ? 'Regular expression' : 'Text'}>
          <input value={pattern} required placeholder={mode === 'jsonpath' ? '$.order.status' : ''} onInput={(event) => setPattern((event.target as HTMLInputElement).value)} data-testid="search-pattern" />
        </Field>
        {mode === 'jsonpath' ? (
          <Field label="Equals (optional)">
            <input value={equals} onInput={(event) => setEquals((event.target as HTMLInputElement).value)} data-testid="search-equals" />
          </Field>
        ) : (
          <label class="field">
            <span class="field-label">Ignore case</span>
            <input type="checkbox" checked={ignoreCase} onChange={(event) => setIgnoreCase((event.target as HTMLInputElement).checked)} data-testid="search-ignore-case" />
          </label>
        )}
        <Field label="Partitions (optional)">
          <input value={partitions} placeholder="all" size={8} onInput={(event) => setPartitions((event.target as HTMLInputElement).value)} data-testid="search-partitions" />
        </Field>
        <Field label="From (UTC, optional)">
          <input type="datetime-local" step="1" value={time} onInput={(event) => setTime((event.target as HTMLInputElement).value)} data-testid="search-time" />
        </Field>
        <button type="submit" class="primary" disabled={action.busy || running} data-testid="search-start">
          Search
        </button>
        <button type="button" disabled={!running} onClick={cancel} data-testid="search-cancel">
          Cancel
        </button>
      </form>
      <ErrorBox error={action.error ?? pollError} testid="search-error" />
      {id !== null && (
        <>
          <ProgressBar value={result?.progress ?? 0} max={1} label={progressLabel} testid="search-progress" />
          <div class="toolbar">
            <span>
              State: <strong data-testid="search-state">{result?.state ?? 'starting'}</strong>
              {result?.error !== null && result?.error !== undefined ? ` (${result.error.error}: ${result.error.message})` : ''}
            </span>
            <ExportButtons rows={rows} name={`${topic}-search`} />
          </div>
          <DataTable columns={recordColumns(view, true)} rows={rows} rowKey={rowKey} pageSize={50} stateKey="s" testid="search-table" empty={running ? 'No matches yet.' : 'No matches.'} />
        </>
      )}
    </section>
  );
}

// ---- produce ----

function Produce({ topic }: { topic: string }) {
  const [partition, setPartition] = useState('');
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [headers, setHeaders] = useState<{ key: string; value: string }[]>([]);
  const [produced, setProduced] = useState<{ partition: number; offset: number } | null>(null);
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    await action.run(async () => {
      const body: Record<string, unknown> = { key: key === '' ? null : key, value, headers: headers.filter((header) => header.key !== '') };
      if (partition !== '') body.partition = Number(partition);
      const answer = await api<{ partition: number; offset: number; timestamp: number }>('POST', `/api/v1/topics/${seg(topic)}/messages`, body);
      setProduced(answer);
      notify(`produced to partition ${answer.partition} at offset ${answer.offset}`);
    });
  };
  const setHeader = (index: number, patch: Partial<{ key: string; value: string }>) => setHeaders(headers.map((header, at) => (at === index ? { ...header, ...patch } : header)));
  return (
    <section aria-label="Produce">
      <form onSubmit={submit}>
        <div class="row">
          <Field label="Partition" hint="empty: by the key's hash, or in turn">
            <input type="number" min="0" value={partition} onInput={(event) => setPartition((event.target as HTMLInputElement).value)} data-testid="produce-partition" />
          </Field>
          <Field label="Key" hint="empty: no key">
            <input value={key} onInput={(event) => setKey((event.target as HTMLInputElement).value)} data-testid="produce-key" />
          </Field>
        </div>
        <Field label="Value">
          <textarea value={value} onInput={(event) => setValue((event.target as HTMLTextAreaElement).value)} data-testid="produce-value" />
        </Field>
        <fieldset class="card">
          <legend>Headers</legend>
          {headers.map((header, index) => (
            <div class="row">
              <Field label={`Header ${index + 1} key`}>
                <input value={header.key} onInput={(event) => setHeader(index, { key: (event.target as HTMLInputElement).value })} data-testid={`produce-header-key-${index}`} />
              </Field>
              <Field label={`Header ${index + 1} value`}>
                <input value={header.value} onInput={(event) => setHeader(index, { value: (event.target as HTMLInputElement).value })} data-testid={`produce-header-value-${index}`} />
              </Field>
              <button type="button" onClick={() => setHeaders(headers.filter((_, at) => at !== index))} aria-label={`Remove header ${index + 1}`} data-testid={`produce-header-remove-${index}`}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" onClick={() => setHeaders([...headers, { key: '', value: '' }])} data-testid="produce-add-header">
            Add a header
          </button>
        </fieldset>
        <ErrorBox error={action.error} testid="produce-error" />
        <div class="actions">
          <button type="submit" class="primary" disabled={action.busy} data-testid="produce-submit">
            Produce
          </button>
        </div>
      </form>
      {produced !== null && (
        <p data-testid="produce-result">
          Produced to partition {produced.partition} at offset {produced.offset}.{' '}
          <a href={link(`/topics/${seg(topic)}/messages`, { tab: 'browse', partition: produced.partition, offset: produced.offset })}>Show it</a>
        </p>
      )}
    </section>
  );
}

// ---- the page ----

const TABS = [
  { id: 'browse', label: 'Browse' },
  { id: 'search', label: 'Search' },
  { id: 'produce', label: 'Produce' },
] as const;

export function MessagesPage({ params }: PageProps) {
  const topic = params.topic ?? '';
  const query = useQuery();
  const tab = TABS.some((t) => t.id === query.tab) ? query.tab! : 'browse';
  const view: ValueView = query.view === 'json' || query.view === 'hex' ? query.view : 'text';
  return (
    <section>
      <h1>
        Messages of <a href={link(`/topics/${seg(topic)}`)}>{topic}</a>
      </h1>
      <div class="toolbar">
        <Tabs tabs={TABS} current={tab} />
        <label>
          Show values as{' '}
          <select value={view} onChange={(event) => setQuery({ view: (event.target as HTMLSelectElement).value })} data-testid="value-view">
            <option value="text">text</option>
            <option value="json">JSON (pretty)</option>
            <option value="hex">hex</option>
          </select>
        </label>
      </div>
      {tab === 'browse' && <Browse topic={topic} view={view} />}
      {tab === 'search' && <Search topic={topic} view={view} />}
      {tab === 'produce' && <Produce topic={topic} />}
    </section>
  );
}
