// The admin UI's shell (src/ui/main.tsx, http/ui-route.ts) in Debian's Chromium against real
// broker processes: the page and its bundle served with their security headers; on a broker
// without an authorizer no login form (User:ANONYMOUS, GET /api/v1/whoami); on one with an
// authorizer the login form, Kafka's failed-login message for a wrong password (and no Basic
// challenge to the page's requests, which would raise the browser's own prompt), a login that
// survives a reload of a bookmarked URL, and logout; the theme toggle by keyboard, kept across a
// reload; an unknown view answered "Not found".

import t from 'tap';
import { BrokerProcess, freePort } from '../helpers/broker-process.js';
import { launchChromium, openPage } from '../helpers/browser.js';
import { OPERATOR, openUi, startUiBroker } from '../helpers/admin-ui.js';

const browser = await launchChromium(t);

t.test('an open broker: the page, its headers, no login form', async (t) => {
  const httpPort = await freePort();
  await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}` } });
  const base = `http://127.0.0.1:${httpPort}`;

  const page = await fetch(`${base}/`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  const policy = page.headers.get('content-security-policy') ?? '';
  t.match(policy, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/, 'scripts only from the broker, the inline one by its hash');
  t.match(policy, /frame-ancestors 'none'/, 'not framed by other sites');
  t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const html = await page.text();
  t.match(html, /<script type="module" src="\/ui\/app.js">/);
  t.notMatch(html, /https?:\/\//, 'the page loads nothing from elsewhere');
  for (const [path, type] of [['/ui/app.js', /^text\/javascript/], ['/ui/app.css', /^text\/css/]] as const) {
    const asset = await fetch(`${base}${path}`);
    t.equal(asset.status, 200, path);
    t.match(asset.headers.get('content-type'), type, `${path}'s type`);
    t.notMatch(await asset.text(), /\bhttps?:\/\/(?!www\.w3\.org)[\w.-]+\//, `${path} fetches nothing from another host`);
  }
  // Gzipped for a client that accepts it (fetch does, and inflates it), as it is for one that does not.
  const gzipped = await fetch(`${base}/ui/app.js`);
  t.equal(gzipped.headers.get('content-encoding'), 'gzip', 'the bundle gzipped for a client that accepts gzip');
  const inflated = await gzipped.text();
  const { request } = await import('node:http');
  const plain = await new Promise<{ encoding: string | undefined; body: string }>((resolve, reject) => {
    request(`${base}/ui/app.js`, { headers: { 'accept-encoding': 'identity' } }, (response) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('end', () => resolve({ encoding: response.headers['content-encoding'], body: Buffer.concat(parts).toString('utf8') }));
    }).on('error', reject).end();
  });
  t.equal(plain.encoding, undefined, 'and as it is for one that does not');
  t.equal(inflated, plain.body, 'the same bundle either way');
  t.same(await (await fetch(`${base}/api/v1/whoami`)).json(), { principal: 'User:ANONYMOUS', authenticated: false, authorizer: false });

  const { page: tab, pageErrors, consoleErrors } = await openPage(browser, `${base}/#/no-such-view`);
  await tab.getByTestId('principal').filter({ hasText: 'User:ANONYMOUS' }).waitFor();
  t.equal(await tab.getByTestId('login-form').count(), 0, 'no login form without an authorizer');
  await tab.getByRole('heading', { name: 'Not found' }).waitFor();
  t.pass('an unknown view: "Not found"');

  // The theme toggle, reached and pressed from the keyboard, and kept across a reload.
  const before = await tab.evaluate('document.documentElement.dataset.theme');
  await tab.getByTestId('theme-toggle').focus();
  await tab.keyboard.press('Enter');
  const after = await tab.evaluate('document.documentElement.dataset.theme');
  t.not(after, before, `the theme switched from ${before} to ${after} by keyboard`);
  await tab.reload();
  await tab.getByTestId('principal').waitFor();
  t.equal(await tab.evaluate('document.documentElement.dataset.theme'), after, 'and stays so after a reload');
  t.same(pageErrors, [], 'no page errors');
  t.same(consoleErrors, [], 'no console errors');
});

t.test('a broker with an authorizer: the login form, a failed login, a reload, logout', async (t) => {
  const { httpUrl } = await startUiBroker(t);
  t.same(await (await fetch(`${httpUrl}/api/v1/whoami`)).json(), { principal: null, authenticated: false, authorizer: true }, 'whoami without credentials: nobody');

  const wrong = { authorization: `Basic ${Buffer.from(`${OPERATOR.user}:wrong`).toString('base64')}` };
  const challenged = await fetch(`${httpUrl}/api/v1/whoami`, { headers: wrong });
  t.same([challenged.status, challenged.headers.get('www-authenticate')], [401, 'Basic realm="spate"'], 'a wrong password from a plain HTTP client: 401 with the Basic challenge');
  const fromPage = await fetch(`${httpUrl}/api/v1/whoami`, { headers: { ...wrong, 'x-requested-with': 'spate-ui' } });
  t.same([fromPage.status, fromPage.headers.get('www-authenticate')], [401, null], 'from the page (X-Requested-With): no challenge, so the browser shows no password prompt over the UI');

  const { page, pageErrors } = await openPage(browser, `${httpUrl}/#/no-such-view?x=1`);
  await page.getByTestId('login-username').fill(OPERATOR.user);
  await page.getByTestId('login-password').fill('wrong');
  await page.getByTestId('login-submit').click();
  const error = await page.getByTestId('login-error').textContent();
  t.equal(error, 'SASL_AUTHENTICATION_FAILED: Authentication failed: Invalid username or password', 'a wrong password: Kafka\'s message, in words');
  t.equal(pageErrors.filter((line) => !/\/api\/v1\/login answered 401/.test(line)).length, 0, 'nothing else failed');
  pageErrors.length = 0;

  await page.getByTestId('login-password').fill(OPERATOR.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('principal').filter({ hasText: `User:${OPERATOR.user}` }).waitFor();
  t.equal(new URL(page.url()).hash, '#/no-such-view?x=1', 'the bookmarked view is kept through the login');
  await page.reload();
  await page.getByTestId('principal').filter({ hasText: `User:${OPERATOR.user}` }).waitFor();
  t.pass('still logged in after a reload');
  await page.getByTestId('logout').click();
  await page.getByTestId('login-form').waitFor();
  t.pass('logout shows the login form');
  t.same(pageErrors, [], 'no page errors');

  // A second tab logs in through the helper the other UI tests use.
  const other = await openUi(browser, httpUrl, OPERATOR);
  t.equal(await other.page.getByTestId('principal').textContent(), `User:${OPERATOR.user}`);
});
