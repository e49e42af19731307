// The admin UI's topics pages (src/ui/pages/topics.tsx, topic.tsx) in Debian's Chromium against a
// real broker with the ACL authorizer, driven through their data-testids, every step checked with
// kafkajs: an operator logs in, creates a topic with 3 partitions and retention.ms (the form shows
// the key's default on this broker); a second create of the same name shows Kafka's
// TOPIC_ALREADY_EXISTS in words; the list shows the topic's partitions, RF and size, and the
// detail each partition's offsets and size; a config is edited, partitions are added; a delete is
// cancelled, then confirmed; 26 topics in two pages, sorted by partitions, all in the URL.

import kafkajs from 'kafkajs';
import t from 'tap';
import { OPERATOR, openUi, saveScreenshot, startUiBroker } from '../helpers/admin-ui.js';
import { launchChromium } from '../helpers/browser.js';
import { waitFor } from '../helpers/cluster.js';

const { Kafka, ConfigResourceTypes, logLevel } = kafkajs;
const TOPIC = 'ui-orders';

const browser = await launchChromium(t);

t.test('topics: create with a config, a refused create, the list and detail, edit a config, add partitions, delete with confirmation', async (t) => {
  const { plainPort, httpUrl } = await startUiBroker(t, { 'log.retention.hours': 48 });
  const kafka = new Kafka({ brokers: [`127.0.0.1:${plainPort}`], clientId: 'ui-topics-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const retentionOf = async (): Promise<string | undefined> => {
    const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC }], includeSynonyms: false });
    return described.resources[0]?.configEntries.find((entry) => entry.configName === 'retention.ms')?.configValue;
  };
  const partitionsOf = async (): Promise<number> => (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions.length;

  const { page, pageErrors, consoleErrors } = await openUi(browser, httpUrl, OPERATOR, '/topics');

  // ---- create (the form opened from the keyboard) ----
  await page.getByTestId('create-topic').focus();
  await page.keyboard.press('Enter');
  t.equal(await page.evaluate("document.activeElement?.getAttribute('data-testid')"), 'topic-name', 'Enter opens the form, its name field focused');
  await page.getByTestId('topic-name').fill(TOPIC);
  await page.getByTestId('topic-partitions').fill('3');
  await page.getByTestId('topic-rf').fill('1');
  await page.getByTestId('config-add').click();
  await page.getByTestId('config-key-0').selectOption('retention.ms');
  const valueInput = page.getByTestId('config-value-0');
  t.equal(await valueInput.getAttribute('placeholder'), String(48 * 3_600_000), 'the value shows retention.ms\'s default on this broker (log.retention.hours=48)');
  t.match(await page.locator('.field', { has: valueInput }).textContent(), /default 172800000 \(log\.retention\.ms\)/, 'and its broker key');
  await valueInput.fill('3600000');
  await saveScreenshot(page, 'topic-create');
  await page.getByTestId('create-submit').click();
  await page.getByTestId('topic-title').filter({ hasText: TOPIC }).waitFor();
  t.equal(new URL(page.url()).hash, `#/topics/${TOPIC}`, 'the new topic\'s page opens');
  t.equal(await partitionsOf(), 3, 'kafkajs: the topic has 3 partitions');
  t.equal(await retentionOf(), '3600000', 'kafkajs: retention.ms is 3600000');

  // ---- the detail: each partition with its offsets and size ----
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition: 2, value: 'one' }, { partition: 2, value: 'two' }] });
  const row2 = page.getByTestId('partitions-table').locator('tr[data-key="2"]');
  await page.reload();
  await row2.waitFor();
  const cells = await row2.locator('td').allTextContents();
  t.match(cells.slice(0, 4), ['2', /^\d+$/, /^\d+$/, /^\d+$/], 'partition 2 with its leader, replicas and ISR');
  t.same(cells.slice(5, 8), ['0', '2', '2'], 'earliest 0, latest 2, 2 messages');
  t.match(cells[8], /^\d+ B$/, `and its size (${cells[8]})`);

  // ---- a refused create: Kafka's error in words ----
  await page.goto(`${httpUrl}/#/topics`);
  await page.getByTestId('create-topic').click();
  await page.getByTestId('topic-name').fill(TOPIC);
  await page.getByTestId('create-submit').click();
  const refusal = await page.getByTestId('create-error').textContent();
  t.match(refusal, /^TOPIC_ALREADY_EXISTS: .*ui-orders/, `a second create shows Kafka's error: ${refusal}`);
  t.same(pageErrors.splice(0), [`${httpUrl}/api/v1/topics answered 409`], 'the only failed request is that create');
  await page.getByTestId('create-cancel').click();

  // ---- the list: partitions, RF, size; search ----
  const listed = page.getByTestId('topics-table').locator(`tr[data-key="${TOPIC}"]`);
  await listed.waitFor();
  const listCells = await listed.locator('td').allTextContents();
  t.same(listCells.slice(0, 3), [TOPIC, '3', '1'], 'the list: name, 3 partitions, RF 1');
  t.match(listCells[3], /^\d+ B$/, `with its size (${listCells[3]})`);
  await page.getByTestId('topics-table-filter').fill('no-such');
  await page.getByTestId('topics-table').getByText('No topics you may describe.').waitFor();
  t.equal(await listed.count(), 0, 'a search that matches nothing hides the topic');
  t.match(new URL(page.url()).hash, /tq=no-such/, 'and is in the URL');
  await page.getByTestId('topics-table-filter').fill('orders');
  await listed.waitFor();
  await page.getByTestId(`topic-link-${TOPIC}`).click();
  await page.getByTestId('topic-title').filter({ hasText: TOPIC }).waitFor();

  // ---- edit a config ----
  await page.getByTestId('tab-configs').click();
  await page.getByTestId('config-edit-retention.ms').click();
  await page.getByTestId('config-edit-value').fill('7200000');
  await page.getByTestId('config-save').click();
  await waitFor('retention.ms 7200000 in kafkajs', async () => (await retentionOf()) === '7200000' || undefined, 10_000, 100);
  t.pass('kafkajs: retention.ms is now 7200000');
  await page.getByTestId('configs-table').locator('tr[data-key="retention.ms"]').filter({ hasText: '7200000' }).waitFor();
  t.pass('the configs tab shows it');

  // ---- add partitions ----
  await page.getByTestId('tab-partitions').click();
  await page.getByTestId('add-partitions-count').fill('5');
  await page.getByTestId('add-partitions-submit').click();
  await waitFor('5 partitions in kafkajs', async () => (await partitionsOf()) === 5 || undefined, 10_000, 100);
  t.pass('kafkajs: the topic has 5 partitions');
  await page.getByTestId('partitions-table').locator('tr[data-key="4"]').waitFor();
  t.pass('the page shows partition 4');

  // ---- delete: cancelled, then confirmed ----
  await page.getByTestId('topic-delete').click();
  await page.getByTestId('confirm-dialog').waitFor();
  await page.getByTestId('confirm-cancel').click();
  t.equal(await page.getByTestId('confirm-dialog').count(), 0, 'cancel closes the dialog');
  t.ok((await admin.listTopics()).includes(TOPIC), 'kafkajs: a cancelled delete left the topic');
  await page.getByTestId('topic-delete').click();
  await page.getByTestId('confirm-ok').click();
  await waitFor('the topic gone in kafkajs', async () => !(await admin.listTopics()).includes(TOPIC) || undefined, 10_000, 100);
  t.pass('kafkajs: the topic is deleted');
  await page.getByRole('heading', { name: 'Topics' }).waitFor();
  t.equal(new URL(page.url()).hash.split('?')[0], '#/topics', 'back on the list');

  // ---- pages and sorting, kept in the URL ----
  await admin.createTopics({ topics: Array.from({ length: 26 }, (_, index) => ({ topic: `bulk-${String(index).padStart(2, '0')}`, numPartitions: index === 7 ? 4 : 1 })) });
  await page.goto(`${httpUrl}/#/topics`);
  await page.getByText('page 1 of 2 (26 rows)').waitFor();
  t.pass('26 topics: two pages of 25');
  await page.getByTestId('page-next').click();
  await page.getByTestId('topics-table').locator('tr[data-key="bulk-25"]').waitFor();
  t.match(new URL(page.url()).hash, /tpage=2/, 'the second page, in the URL');
  await page.getByTestId('sort-partitions').click();
  await page.getByTestId('sort-partitions').click();
  const first = page.getByTestId('topics-table').locator('tbody tr').first();
  t.equal(await first.getAttribute('data-key'), 'bulk-07', 'sorted by partitions, descending: the topic with 4 first');
  t.match(new URL(page.url()).hash, /tsort=partitions&tdir=desc/, 'the sort in the URL');

  // The page's refresh may ask for the topic once between the delete and leaving the page.
  t.same(pageErrors.filter((line) => line !== `${httpUrl}/api/v1/topics/${TOPIC} answered 404`), [], 'no other failed request');
  t.same(consoleErrors.filter((line) => !/status of 40[49]/.test(line)), [], 'no console errors but the failed loads above');
});
