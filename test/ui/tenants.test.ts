// The admin UI's tenant pages (src/ui/pages/tenants.tsx, tenant.tsx) in Debian's Chromium against a
// broker with the ACL authorizer: an operator creates a tenant with a user, a password and limits in
// the UI, which `spate tenants describe` shows; the tenant's user creates a topic and produces on
// the Kafka port with kafkajs (SCRAM), and the tenant's page shows its usage against the limits as
// bars; a limit changed in the UI reaches the CLI; the tenant deleted in the UI with its topics.

import kafkajs from 'kafkajs';
import t from 'tap';
import { json as cliJson, spate } from '../cli/fixtures/spate.js';
import { OPERATOR, openUi, startUiBroker } from '../helpers/admin-ui.js';
import { launchChromium } from '../helpers/browser.js';

const { Kafka, logLevel } = kafkajs;
const browser = await launchChromium(t);

t.test('a tenant made in the UI, its usage against its limits, changed and deleted', async (t) => {
  const ui = await startUiBroker(t);
  const bootstrap = `127.0.0.1:${ui.plainPort}`;
  const cli = async (...args: string[]): Promise<any> => cliJson(await spate(bootstrap, args));

  const { page, pageErrors, consoleErrors } = await openUi(browser, ui.httpUrl, OPERATOR, '/tenants');
  await page.getByTestId('tenant-name').fill('acme');
  await page.getByTestId('tenant-prefix').fill('acme.');
  await page.getByTestId('tenant-users').fill('wile');
  await page.getByTestId('tenant-password').fill('wile-secret');
  await page.getByTestId('tenant-limit-max.topics').fill('4');
  await page.getByTestId('tenant-limit-max.partitions').fill('8');
  await page.getByTestId('tenant-limit-max.storage.bytes').fill('100000');
  await page.getByTestId('tenant-create').click();
  await page.getByTestId('tenant-prefix-value').waitFor();
  t.equal(new URL(page.url()).hash, '#/tenants/acme', 'the new tenant\'s page');
  const described = await cli('tenants', 'describe', 'acme', '--json');
  t.match(described, { prefix: 'acme.', users: 'wile', 'max.topics': '4', 'max.partitions': '8', 'max.storage.bytes': '100000' }, 'spate tenants describe shows the tenant made in the UI');

  // The tenant's user on the Kafka port.
  const asWile = new Kafka({ brokers: [`127.0.0.1:${ui.saslPort}`], clientId: 'wile-app', logLevel: logLevel.NOTHING, sasl: { mechanism: 'scram-sha-512', username: 'wile', password: 'wile-secret' } });
  const admin = asWile.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'acme.rockets', numPartitions: 2 }], waitForLeaders: true });
  const producer = asWile.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic: 'acme.rockets', acks: -1, messages: Array.from({ length: 20 }, () => ({ value: 'x'.repeat(1000) })) });

  const topics = page.getByTestId('usage-text-max.topics');
  await topics.filter({ hasText: '1 of 4' }).waitFor({ timeout: 20_000 });
  t.equal(await page.getByTestId('usage-text-max.partitions').textContent(), '2 of 8');
  t.equal(await page.getByTestId('usage-max.partitions').getAttribute('data-value'), '0.2500', 'the partitions bar at a quarter');
  await page.getByTestId('usage-max.storage.bytes').waitFor();
  const stored = Number(await page.getByTestId('usage-max.storage.bytes').getAttribute('data-value'));
  t.ok(stored >= 0.2 && stored <= 1, `the storage bar shows 20 KB and more of 100 KB (${stored})`);
  const usage = await cli('tenants', 'describe', 'acme', '--json');
  t.same([usage['usage.topics'], usage['usage.partitions']], ['1', '2'], 'as spate says');

  await page.getByTestId('edit-limit-max.topics').fill('');
  await page.getByTestId('edit-limit-max.partitions').fill('16');
  await page.getByTestId('tenant-save-limits').click();
  await page.getByTestId('usage-text-max.topics').filter({ hasText: 'no limit' }).waitFor();
  const changed = await cli('tenants', 'describe', 'acme', '--json');
  t.same([changed['max.topics'], changed['max.partitions']], [undefined, '16'], 'spate sees max.topics removed and max.partitions changed');

  await page.getByTestId('tenant-delete-topics').check();
  await page.getByTestId('tenant-delete').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('tenants-table').waitFor();
  t.same(await cli('tenants', 'list', '--json'), [], 'spate lists no tenant');
  t.notOk((await cli('topics', 'list', '--json')).some((topic: { name: string } | string) => (typeof topic === 'string' ? topic : topic.name) === 'acme.rockets'), 'its topic went with it');
  t.same(pageErrors, [], 'no page errors');
  t.same(consoleErrors, [], 'no console errors');
});
