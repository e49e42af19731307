// The admin UI (src/ui/) in a real Chromium against a real broker process: a broker with the ACL
// authorizer, SASL and an HTTP listener, an operator user, and a page logged in through the UI's
// own login form. Screenshots go to dist/screenshots/ (`saveScreenshot`), which
// `npm run screenshots` copies to docs/screenshots/ for the README.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { describe, spate } from '../cli/fixtures/spate.js';
import { freePort, projectRoot, type BrokerProcess, type Teardownable } from './broker-process.js';
import { openPage, type OpenedPage } from './browser.js';
import { startSaslBroker } from './sasl-client.js';

export const OPERATOR = { user: 'operator', password: 'operator-secret' } as const;
export const SCREENSHOTS_DIR = join(projectRoot, 'dist', 'screenshots');

export interface UiBroker {
  readonly broker: BrokerProcess;
  /** The PLAINTEXT port (User:ANONYMOUS, a super user, for the test's own admin clients and `spate`). */
  readonly plainPort: number;
  /** The SASL_PLAINTEXT port (SCRAM users, as the UI's users are). */
  readonly saslPort: number;
  readonly httpUrl: string;
  /** `spate` against the PLAINTEXT port. */
  readonly spate: (...args: string[]) => Promise<string>;
}

/** A broker with the ACL authorizer, SCRAM and HTTP; `operator` a super user with a password. */
export async function startUiBroker(t: Teardownable, overrides: Readonly<Record<string, string | number | boolean>> = {}): Promise<UiBroker> {
  const httpPort = await freePort();
  const { broker, plainPort, saslPort } = await startSaslBroker(t, {
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': `User:ANONYMOUS;User:${OPERATOR.user}`,
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'offsets.topic.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
    ...overrides,
  });
  const run = async (...args: string[]): Promise<string> => {
    const result = await spate(broker.bootstrap, args);
    if (result.code !== 0) throw new Error(`spate ${args.join(' ')}: ${describe(result)}`);
    return result.out;
  };
  await run('users', 'create', OPERATOR.user, '--password', OPERATOR.password);
  return { broker, plainPort, saslPort, httpUrl: `http://127.0.0.1:${httpPort}`, spate: run };
}

/** The UI at `path` (a hash path such as `/topics`), logged in through the login form. */
export async function openUi(browser: Browser, httpUrl: string, login: { readonly user: string; readonly password: string }, path = '/'): Promise<OpenedPage> {
  const opened = await openPage(browser, `${httpUrl}/#${path}`);
  const { page } = opened;
  await page.getByTestId('login-username').fill(login.user);
  await page.getByTestId('login-password').fill(login.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('principal').filter({ hasText: `User:${login.user}` }).waitFor();
  return opened;
}

/** Saves a full-page screenshot as dist/screenshots/<name>.png; returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
