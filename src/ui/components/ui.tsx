// Small pieces every page uses: an error box that shows Kafka's error in words, a confirmation
// dialog, labelled fields, tabs kept in the URL, a progress bar, a busy marker and notices.

import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from '../api.ts';
import { setQuery } from '../router.ts';
import { signal, useSignal } from '../signal.ts';

/** A failed call, in words ("TOPIC_ALREADY_EXISTS: Topic 'orders' already exists."); nothing for none. */
export function ErrorBox({ error, testid = 'error' }: { error: unknown; testid?: string }) {
  if (error === undefined || error === null) return null;
  return (
    <div class="error" role="alert" data-testid={testid}>
      {errorText(error)}
    </div>
  );
}

/** A modal confirmation (a native <dialog>: Escape cancels, focus stays inside). */
export function Confirm(props: { title: string; children: ComponentChildren; confirmLabel: string; danger?: boolean; onConfirm: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog !== null && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="confirm-title" onCancel={(event) => (event.preventDefault(), props.onCancel())} data-testid="confirm-dialog">
      <h2 id="confirm-title">{props.title}</h2>
      <div>{props.children}</div>
      <div class="actions">
        <button type="button" onClick={props.onCancel} data-testid="confirm-cancel">
          Cancel
        </button>
        <button type="button" class={props.danger === true ? 'danger' : 'primary'} onClick={props.onConfirm} data-testid="confirm-ok">
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A label around its control, with an optional hint under it. */
export function Field({ label, hint, children }: { label: string; hint?: ComponentChildren; children: ComponentChildren }) {
  return (
    <label class="field">
      <span class="field-label">{label}</span>
      {children}
      {hint !== undefined && <span class="hint">{hint}</span>}
    </label>
  );
}

/** Tabs whose choice is the URL's `tab` (so a tab can be bookmarked). */
export function Tabs({ tabs, current }: { tabs: readonly { id: string; label: string }[]; current: string }) {
  return (
    <div class="tabs" role="tablist">
      {tabs.map((tab) => (
        <button type="button" role="tab" aria-selected={tab.id === current} class={tab.id === current ? 'tab active' : 'tab'} onClick={() => setQuery({ tab: tab.id })} data-testid={`tab-${tab.id}`}>
          {tab.label}
        </button>
      ))}
    </div>
  );
}

export function ProgressBar({ value, max, label, testid = 'progress' }: { value: number; max: number; label?: string; testid?: string }) {
  const fraction = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  return (
    <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(fraction * 100)} aria-label={label ?? 'progress'} data-testid={testid} data-value={fraction.toFixed(4)}>
      <div class="progress-fill" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
      <span class="progress-text">{label ?? `${(fraction * 100).toFixed(0)} %`}</span>
    </div>
  );
}

export function Busy({ when }: { when: boolean }) {
  return when ? (
    <span class="busy" role="status" aria-live="polite">
      loading…
    </span>
  ) : null;
}

interface Notice {
  readonly id: number;
  readonly text: string;
  readonly kind: 'ok' | 'error';
}
const notices = signal<readonly Notice[]>([]);
let nextNoticeId = 1;

/** A short message at the top of the page for a few seconds ("topic orders created"). */
export function notify(text: string, kind: Notice['kind'] = 'ok'): void {
  const notice = { id: nextNoticeId++, text, kind };
  notices.value = [...notices.value, notice];
  setTimeout(() => {
    notices.value = notices.value.filter((other) => other.id !== notice.id);
  }, 6_000);
}

export function Notices() {
  const shown = useSignal(notices);
  return (
    <div class="notices" aria-live="polite">
      {shown.map((notice) => (
        <div key={notice.id} class={`notice ${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'} data-testid="notice">
          {notice.text}
        </div>
      ))}
    </div>
  );
}

/** Runs an action, keeping its error and whether it runs; `run` returns whether it succeeded. */
export function useAction(): { busy: boolean; error: unknown; run: (action: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  return {
    busy,
    error,
    clear: () => setError(undefined),
    run: async (action) => {
      setBusy(true);
      setError(undefined);
      try {
        await action();
        return true;
      } catch (failure) {
        setError(failure);
        return false;
      } finally {
        setBusy(false);
      }
    },
  };
}
