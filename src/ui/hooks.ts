// Loading from the admin API in components: `useApi` fetches a path (again when its inputs change,
// and every `refreshMs` if given), keeping the last good answer while a refresh is under way.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.ts';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  /** Fetches again now. */
  readonly reload: () => void;
}

/** GETs `path` (null: nothing yet); `refreshMs` polls while the component is shown. */
export function useApi<T>(path: string | null, refreshMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: path !== null });
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  const lastPath = useRef(path);
  useEffect(() => {
    if (path === null) return;
    if (lastPath.current !== path) {
      lastPath.current = path;
      setState({ data: undefined, error: undefined, loading: true });
    } else setState((previous) => ({ ...previous, loading: true }));
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      api<T>('GET', path, undefined, controller.signal).then(
        (data) => {
          setState({ data, error: undefined, loading: false });
          if (refreshMs !== undefined) timer = setTimeout(load, refreshMs);
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          setState((previous) => ({ data: previous.data, error, loading: false }));
          if (refreshMs !== undefined) timer = setTimeout(load, refreshMs);
        },
      );
    };
    load();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [path, refreshMs, generation]);
  return { ...state, reload };
}
