// The admin UI's entry: the login form until a user logs in, then the navigation and the page the
// URL's hash names (pages/registry.ts). Served by the broker at / (src/http/ui-route.ts).

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './theme.css';
import { ErrorBox, Notices } from './components/ui.tsx';
import { pages, type Page } from './pages/registry.ts';
import { link, matchPath, useRoute } from './router.ts';
import { logIn, resumeAnonymous, session, signOut, signOutReason } from './session.ts';
import { useSignal } from './signal.ts';
import { setTheme, theme } from './theme.ts';

function Login() {
  const reason = useSignal(signOutReason);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      await logIn(String(form.get('username') ?? ''), String(form.get('password') ?? ''));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title" data-testid="login-form">
        <h1 id="login-title">Spate</h1>
        <p>Log in with a user of this broker.</p>
        {reason !== null && <p class="hint">{reason}</p>}
        <label class="field">
          <span class="field-label">User</span>
          <input name="username" autocomplete="username" required autofocus data-testid="login-username" />
        </label>
        <label class="field">
          <span class="field-label">Password</span>
          <input name="password" type="password" autocomplete="current-password" data-testid="login-password" />
        </label>
        <ErrorBox error={error} testid="login-error" />
        <button type="submit" class="primary" disabled={busy} data-testid="login-submit">
          Log in
        </button>
      </form>
    </main>
  );
}

function NotFound({ path }: { path: string }) {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing here at <code>{path}</code>.
      </p>
    </section>
  );
}

/** A path's first segment (`/security/acls` → `security`): a nav entry stays marked on the other pages of its section. */
function section(path: string): string {
  return path.split('/')[1] ?? '';
}

function matchPage(path: string): { page: Page; params: Record<string, string> } | null {
  for (const page of pages) {
    const params = matchPath(page.path, path);
    if (params !== null) return { page, params };
  }
  return null;
}

function Shell() {
  const route = useRoute();
  const current = useSignal(session);
  const currentTheme = useSignal(theme);
  const navigation = pages.filter((page) => page.nav !== undefined).sort((a, b) => a.nav!.order - b.nav!.order);
  if (route.path === '/' && navigation.length > 0) {
    location.replace(link(navigation[0]!.path));
    return null;
  }
  const matched = matchPage(route.path);
  if (matched !== null) document.title = `${matched.page.title} · Spate`;
  return (
    <>
      <a class="skip" href="#main" onClick={(event) => (event.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={link('/')}>
          Spate
        </a>
        <nav aria-label="main">
          {navigation.map((page) => (
            <a href={link(page.path)} class={route.path === page.path || route.path.startsWith(`${page.path}/`) || section(route.path) === section(page.path) ? 'active' : undefined} aria-current={route.path === page.path ? 'page' : undefined} data-testid={`nav-${page.path.slice(1).replace(/\//g, '-')}`}>
              {page.nav!.label}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="principal">
          {current?.principal}
        </span>
        <button type="button" onClick={() => setTheme(currentTheme === 'dark' ? 'light' : 'dark')} aria-label={`switch to the ${currentTheme === 'dark' ? 'light' : 'dark'} theme`} data-testid="theme-toggle">
          {currentTheme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        <button type="button" onClick={() => signOut(current?.token === undefined ? 'log in as a user of this broker' : null)} data-testid="logout">
          {current?.token === undefined ? 'Log in' : 'Log out'}
        </button>
      </header>
      <Notices />
      <main id="main" tabIndex={-1}>
        {matched === null ? <NotFound path={route.path} /> : <matched.page.component key={route.path} params={matched.params} />}
      </main>
    </>
  );
}

function App() {
  const current = useSignal(session);
  const [checked, setChecked] = useState(false);
  useEffect(() => {
    // Once, at load: on a broker without an authorizer, no login form.
    void resumeAnonymous().finally(() => setChecked(true));
  }, []);
  if (!checked) return null;
  return current === null ? <Login /> : <Shell />;
}

render(<App />, document.getElementById('app')!);
