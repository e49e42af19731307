// Routing by the URL's hash (`#/topics/orders?tab=configs`), so every view — and a table's sort,
// page and filter — is a URL that can be bookmarked and shared, and the broker serves one page.

import { signal, useSignal } from './signal.ts';

export interface Route {
  /** The path after `#`, without the query: `/topics/orders`. */
  readonly path: string;
  readonly query: URLSearchParams;
}

function parse(hash: string): Route {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  const at = raw.indexOf('?');
  const path = at === -1 ? raw : raw.slice(0, at);
  return { path: path === '' ? '/' : path, query: new URLSearchParams(at === -1 ? '' : raw.slice(at + 1)) };
}

export const currentRoute = signal<Route>(parse(location.hash));
addEventListener('hashchange', () => {
  currentRoute.value = parse(location.hash);
});

export function useRoute(): Route {
  return useSignal(currentRoute);
}

/** The query of the current route, as a plain object (`useQuery().tab`). */
export function useQuery(): Record<string, string> {
  return Object.fromEntries(useRoute().query);
}

/** An href for a view: `link('/topics/orders', { tab: 'configs' })`. */
export function link(path: string, query: Record<string, string | number | null | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== null && value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return `#${path}${text === '' ? '' : `?${text}`}`;
}

/** Goes to a view (a new history entry). */
export function navigate(path: string, query: Record<string, string | number | null | undefined> = {}): void {
  location.hash = link(path, query);
}

/** Changes some of the current query's values (null removes one) without a new history entry. */
export function setQuery(patch: Record<string, string | number | null | undefined>): void {
  const { path, query } = currentRoute.value;
  const next: Record<string, string> = Object.fromEntries(query);
  for (const [name, value] of Object.entries(patch)) {
    if (value === null || value === undefined || value === '') delete next[name];
    else next[name] = String(value);
  }
  const href = link(path, next);
  history.replaceState(history.state, '', href);
  currentRoute.value = parse(href);
}

/** The `:name` segments of `path` if it matches `pattern`, else null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter((part) => part !== '');
  const have = path.split('/').filter((part) => part !== '');
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const part = want[i]!;
    if (part.startsWith(':')) {
      try {
        params[part.slice(1)] = decodeURIComponent(have[i]!);
      } catch {
        return null;
      }
    } else if (part !== have[i]) return null;
  }
  return params;
}
