// Every page of the admin UI, in the light and the dark theme, in Debian's Chromium against a
// broker with data on every page (topics with records, a consumer group with lag, a user, an ACL,
// a quota, a tenant): each page loads without a page or console error in both themes, and its
// screenshot is saved in dist/screenshots/ (`npm run screenshots` copies them to
// docs/screenshots/, which the README shows).

import kafkajs from 'kafkajs';
import t from 'tap';
import { launchChromium } from '../helpers/browser.js';
import { OPERATOR, openUi, saveScreenshot, startUiBroker } from '../helpers/admin-ui.js';

const { Kafka, logLevel } = kafkajs;

/** The views shown, by name: the navigation's pages and the detail views reached from them. */
const VIEWS: readonly { readonly name: string; readonly path: string }[] = [
  { name: 'overview', path: '/overview' },
  { name: 'topics', path: '/topics' },
  { name: 'topic', path: '/topics/orders' },
  { name: 'messages', path: '/topics/orders/messages?partition=0' },
  { name: 'groups', path: '/groups' },
  { name: 'group', path: '/groups/billing' },
  { name: 'users', path: '/security/users' },
  { name: 'acls', path: '/security/acls' },
  { name: 'quotas', path: '/security/quotas' },
  { name: 'tenants', path: '/tenants' },
  { name: 'tenant', path: '/tenants/acme' },
  { name: 'cluster', path: '/cluster' },
];

t.test('each page, light and dark', async (t) => {
  // Short history intervals, so 20 s of traffic fill the charts' windows (360 points of 250 ms).
  const ui = await startUiBroker(t, { 'http.metrics.history.resolution.ms': 250, 'http.group.lag.history.interval.ms': 250 });
  const kafka = new Kafka({ brokers: [`127.0.0.1:${ui.plainPort}`], clientId: 'screenshots', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }, { topic: 'payments', numPartitions: 2 }, { topic: 'audit', numPartitions: 1 }, { topic: 'acme.orders', numPartitions: 3 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  for (let batch = 0; batch < 10; batch++) {
    await producer.send({
      topic: 'orders',
      messages: Array.from({ length: 30 }, (_, i) => ({ key: `customer-${(batch * 30 + i) % 17}`, value: JSON.stringify({ order: batch * 30 + i, item: ['tea', 'coffee', 'cake'][i % 3], amount: (i * 7) % 50 }), headers: { source: i % 2 === 0 ? 'web' : 'app' } })),
    });
  }
  await producer.send({ topic: 'payments', messages: Array.from({ length: 40 }, (_, i) => ({ key: `p-${i}`, value: `payment ${i}` })) });
  await producer.send({ topic: 'acme.orders', messages: Array.from({ length: 500 }, (_, i) => ({ key: `a-${i}`, value: 'x'.repeat(200) })) });
  // A group that read part of orders, so it has lag.
  const consumer = kafka.consumer({ groupId: 'billing' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        if (++seen <= 200) await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
        if (seen === 200) resolve();
      },
    });
  });
  await consumer.disconnect();

  // 20 s of traffic rising and falling, with a group reading payments as it comes (still a member
  // while the pages are shown), for the charts: the overview's rates and latency, billing's lag.
  const analytics = kafka.consumer({ groupId: 'analytics' });
  await analytics.connect();
  t.teardown(() => analytics.disconnect());
  await analytics.subscribe({ topic: 'payments', fromBeginning: true });
  void analytics.run({ eachMessage: async () => undefined });
  const trafficEndMs = Date.now() + 20_000;
  for (let round = 0; Date.now() < trafficEndMs; round++) {
    const count = 5 + Math.round(20 * (1 + Math.sin(round / 15)));
    await producer.send({ topic: 'orders', messages: Array.from({ length: count }, (_, i) => ({ key: `customer-${i % 17}`, value: JSON.stringify({ order: round * 100 + i, item: 'tea', amount: i }) })) });
    await producer.send({ topic: 'payments', messages: Array.from({ length: Math.ceil(count / 2) }, (_, i) => ({ key: `p-${i}`, value: `payment ${round}-${i}` })) });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await producer.disconnect();
  await ui.spate('users', 'create', 'alice', '--password', 'alice-secret');
  await ui.spate('acls', 'add', '--allow-principal', 'User:alice', '--operation', 'Read', '--topic', 'orders');
  await ui.spate('quotas', 'alter', '--user', 'alice', '--add-config', 'producer_byte_rate=1048576');
  await ui.spate('tenants', 'create', 'acme', '--prefix', 'acme.', '--user', 'acme-admin', '--password', 'acme-secret', '--max-partitions', '20', '--max-storage', '1GB');

  const browser = await launchChromium(t);
  const { page, pageErrors, consoleErrors } = await openUi(browser, ui.httpUrl, OPERATOR);
  await page.setViewportSize({ width: 1280, height: 860 });
  for (const theme of ['light', 'dark'] as const) {
    await page.evaluate(`localStorage.setItem('spate.theme', '${theme}')`);
    for (const view of VIEWS) {
      // A new document for each view, so the theme is applied as a user's first visit applies it.
      await page.goto('about:blank');
      await page.goto(`${ui.httpUrl}/#${view.path}`);
      // Loaded: the page's heading shown and nothing loading (the overview polls without end, so never network-idle).
      await page.locator('main h1').first().waitFor();
      await page.waitForTimeout(500);
      await page.locator('.busy').waitFor({ state: 'detached' });
      if (view.name === 'overview') await page.locator('[data-testid=chart-messages][data-points]:not([data-points="0"])').waitFor();
      t.equal(await page.evaluate('document.documentElement.dataset.theme'), theme, `${view.name}: ${theme}`);
      t.equal(await page.getByRole('heading', { name: 'Not found' }).count(), 0, `${view.name}: the page exists (${view.path})`);
      const path = await saveScreenshot(page, `${view.name}-${theme}`);
      t.pass(`saved ${path}`);
    }
  }
  t.same(pageErrors, [], 'no page errors on any page');
  t.same(consoleErrors, [], 'no console errors on any page');
});
