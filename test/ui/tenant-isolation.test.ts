// Tenants in the admin UI (issue 17's acceptance), in Debian's Chromium against a real broker
// with the ACL authorizer: two tenants, acme and globex, each with its own user. Logged in through
// the UI, each user's topics and groups pages list exactly its tenant's topics and groups (the
// operator sees every one), and opening the other tenant's topic, its messages, its group or the
// tenant itself by URL shows Kafka's authorization error and none of its data; the same requests
// to the admin API as that user are refused 403.

import kafkajs from 'kafkajs';
import t from 'tap';
import type { Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { OPERATOR, openUi, startUiBroker } from '../helpers/admin-ui.js';

const { Kafka, logLevel } = kafkajs;

const ui = await startUiBroker(t);
await ui.spate('tenants', 'create', 'acme', '--prefix', 'acme.', '--user', 'alice', '--password', 'alice-secret');
await ui.spate('tenants', 'create', 'globex', '--prefix', 'globex.', '--user', 'bob', '--password', 'bob-secret');
const admin = new Kafka({ brokers: [`127.0.0.1:${ui.plainPort}`], clientId: 'tenant-isolation', logLevel: logLevel.NOTHING }).admin();
await admin.connect();
t.teardown(() => admin.disconnect());
await admin.createTopics({
  topics: ['acme.orders', 'acme.payments', 'globex.orders', 'globex.audit', 'shared'].map((topic) => ({ topic, numPartitions: 2 })),
  waitForLeaders: true,
});
// Committed offsets make the groups (kafkajs's setOffsets on an empty group, as the super user).
for (const [group, topic] of [['acme.billing', 'acme.orders'], ['globex.billing', 'globex.orders'], ['shared-group', 'shared']] as const) {
  await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '0' }] });
}
const browser = await launchChromium(t);

/** The keys (data-key) of the rows a table shows, once it shows `expected` many. */
async function tableKeys(page: Page, testid: string, expected: number): Promise<string[]> {
  const rows = page.getByTestId(testid).locator('tbody tr[data-key]');
  await t.resolves(rows.nth(expected - 1).waitFor(), `${testid} shows ${expected} rows`);
  const keys = await rows.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-key') ?? ''));
  return keys.sort();
}

async function apiStatus(token: string, path: string): Promise<number> {
  const response = await fetch(`${ui.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

for (const [user, tenant, other] of [['alice', 'acme', 'globex'], ['bob', 'globex', 'acme']] as const) {
  t.test(`${user} (tenant ${tenant}) sees only ${tenant}`, async (t) => {
    const { page, pageErrors } = await openUi(browser, ui.httpUrl, { user, password: `${user}-secret` }, '/topics');
    t.same(await tableKeys(page, 'topics-table', 2), tenant === 'acme' ? ['acme.orders', 'acme.payments'] : ['globex.audit', 'globex.orders'], 'the topics list: its tenant\'s topics only');

    await page.goto(`${ui.httpUrl}/#/groups`);
    t.same(await tableKeys(page, 'groups-table', 1), [`${tenant}.billing`], 'the groups list: its tenant\'s group only');

    await page.goto(`${ui.httpUrl}/#/topics/${other}.orders`);
    t.match(await page.getByTestId('topic-error').textContent(), /^TOPIC_AUTHORIZATION_FAILED/, `${other}.orders by URL: refused, in Kafka's words`);
    t.equal(await page.getByTestId('partitions-table').count(), 0, 'and none of its partitions shown');

    await page.goto(`${ui.httpUrl}/#/topics/${other}.orders/messages?partition=0`);
    t.match(await page.getByRole('alert').first().textContent(), /TOPIC_AUTHORIZATION_FAILED/, `${other}.orders's messages by URL: refused`);

    await page.goto(`${ui.httpUrl}/#/groups/${other}.billing`);
    t.match(await page.getByTestId('group-error').textContent(), /GROUP_AUTHORIZATION_FAILED/, `${other}.billing by URL: refused`);

    await page.goto(`${ui.httpUrl}/#/tenants/${other}`);
    t.match(await page.getByTestId('tenant-error').textContent(), /AUTHORIZATION_FAILED/, `tenant ${other} by URL: refused`);

    // The same through the API with the page's own token.
    const token = await page.evaluate<string>("JSON.parse(sessionStorage.getItem('spate.session')).token");
    for (const path of [`/api/v1/topics/${other}.orders`, `/api/v1/topics/${other}.orders/partitions/0/messages`, `/api/v1/groups/${other}.billing`, `/api/v1/topics/shared`]) {
      t.equal(await apiStatus(token, path), 403, `GET ${path} as ${user}: 403`);
    }
    t.equal(await apiStatus(token, `/api/v1/topics/${tenant}.orders`), 200, `GET /api/v1/topics/${tenant}.orders as ${user}: 200`);
    // The page's refused requests are the 403s above; nothing else failed.
    t.same(pageErrors.filter((line) => !/ answered 403$/.test(line)), [], 'no other page errors');
  });
}

t.test('the operator sees every tenant\'s topics and groups', async (t) => {
  const { page } = await openUi(browser, ui.httpUrl, OPERATOR, '/topics');
  const topics = await tableKeys(page, 'topics-table', 5);
  t.same(topics, ['acme.orders', 'acme.payments', 'globex.audit', 'globex.orders', 'shared']);
  await page.goto(`${ui.httpUrl}/#/groups`);
  t.same(await tableKeys(page, 'groups-table', 3), ['acme.billing', 'globex.billing', 'shared-group']);
});
