// The Messages page (src/ui/pages/messages.tsx) in Debian's Chromium against a broker process with
// the ACL authorizer, as the operator: the operator acceptance test — create a topic with a
// config on the Topics page, produce three messages with headers from the page, find one by a
// header value, export the result as JSON (and CSV) and check the downloaded file, and delete the
// topic — each step checked with kafkajs; on the way, browsing a partition from an offset and a
// time, the value shown as pretty JSON and hex, a JSON path search, and a refused produce shown in
// Kafka's words.

import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import type { Page } from 'playwright-core';
import t from 'tap';
import { launchChromium } from '../helpers/browser.js';
import { OPERATOR, openUi, saveScreenshot, startUiBroker } from '../helpers/admin-ui.js';

const { Kafka, logLevel } = kafkajs;
/** kafkajs's ConfigResourceTypes.TOPIC (the named export is missing from its ESM entry). */
const TOPIC_CONFIG_RESOURCE = 2;

const browser = await launchChromium(t);

interface Exported {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: { key: string; value: string | null }[];
}

/** Clicks a button that downloads a file; answers the file's text. */
async function downloaded(page: Page, testid: string): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = await download.path();
  return { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

t.test('create a topic, produce three messages with headers, find one by a header value, export it, delete the topic', async (t) => {
  const { plainPort, httpUrl } = await startUiBroker(t);
  const kafka = new Kafka({ brokers: [`127.0.0.1:${plainPort}`], clientId: 'messages-ui-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());

  // ---- create the topic with a config, on the Topics page ----
  const { page, pageErrors } = await openUi(browser, httpUrl, OPERATOR, '/topics');
  await page.getByTestId('create-topic').click();
  await page.getByTestId('topic-name').fill('orders');
  await page.getByTestId('topic-partitions').fill('2');
  await page.getByTestId('config-add').click();
  await page.getByTestId('config-key-0').selectOption('cleanup.policy');
  await page.getByTestId('config-value-0').fill('compact,delete');
  await page.getByTestId('config-add').click();
  await page.getByTestId('config-key-1').selectOption('retention.ms');
  await page.getByTestId('config-value-1').fill('86400000');
  await page.getByTestId('create-submit').click();
  await page.getByTestId('topic-title').filter({ hasText: 'orders' }).waitFor();
  t.equal((await admin.fetchTopicMetadata({ topics: ['orders'] })).topics[0]!.partitions.length, 2, 'kafkajs: orders has 2 partitions');
  const configs = await admin.describeConfigs({ resources: [{ type: TOPIC_CONFIG_RESOURCE, name: 'orders' }], includeSynonyms: false });
  const configOf = (name: string) => configs.resources[0]?.configEntries.find((entry) => entry.configName === name)?.configValue;
  t.same([configOf('cleanup.policy'), configOf('retention.ms')], ['compact,delete', '86400000'], 'kafkajs: with its configs');

  // ---- to its messages, by the topic page's link ----
  await page.getByTestId('topic-messages-link').click();
  await page.getByRole('heading', { name: /Messages of orders/ }).waitFor();
  await page.getByTestId('tab-produce').click();

  // ---- produce three messages with headers ----
  const sent = [
    { key: 'order-1', value: '{"id":1,"status":"new"}', trace: 'trace-a' },
    { key: 'order-2', value: '{"id":2,"status":"paid"}', trace: 'trace-b' },
    { key: 'order-3', value: '{"id":3,"status":"shipped"}', trace: 'trace-c' },
  ];
  await page.getByTestId('produce-add-header').click();
  await page.getByTestId('produce-add-header').click();
  for (const [index, message] of sent.entries()) {
    await page.getByTestId('produce-key').fill(message.key);
    await page.getByTestId('produce-value').fill(message.value);
    await page.getByTestId('produce-header-key-0').fill('trace');
    await page.getByTestId('produce-header-value-0').fill(message.trace);
    await page.getByTestId('produce-header-key-1').fill('source');
    await page.getByTestId('produce-header-value-1').fill('ui');
    const before = index === 0 ? '' : await page.getByTestId('produce-result').textContent();
    await page.getByTestId('produce-submit').click();
    // The result line changes with each produce (a new offset or partition).
    const deadline = Date.now() + 15_000;
    for (;;) {
      const result = page.getByTestId('produce-result');
      if ((await result.count()) > 0 && (await result.textContent()) !== before) break;
      if (Date.now() > deadline) throw new Error(`message ${index} was not produced: ${await page.getByTestId('produce-error').textContent().catch(() => 'no error shown')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  await saveScreenshot(page, 'messages-produce');
  const consumer = kafka.consumer({ groupId: 'messages-ui-check' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  const consumed: kafkajs.EachMessagePayload[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async (payload) => {
        consumed.push(payload);
        if (consumed.length === 3) resolve();
      },
    });
  });
  await consumer.disconnect();
  t.same(
    consumed.map((m) => [m.message.key?.toString(), m.message.value?.toString(), m.message.headers?.trace?.toString(), m.message.headers?.source?.toString()]).sort(),
    sent.map((m) => [m.key, m.value, m.trace, 'ui']),
    'kafkajs reads the three messages with their headers',
  );

  // ---- find one by a header value ----
  await page.getByTestId('tab-search').click();
  await page.getByTestId('search-field').selectOption('header');
  await page.getByTestId('search-header-key').fill('trace');
  await page.getByTestId('search-mode').selectOption('substring');
  await page.getByTestId('search-pattern').fill('trace-b');
  await page.getByTestId('search-start').click();
  await page.getByTestId('search-state').filter({ hasText: 'done' }).waitFor();
  const target = consumed.find((m) => m.message.key?.toString() === 'order-2')!;
  await page.locator(`[data-testid="search-table"] tr[data-key="${target.partition}-${target.message.offset}"]`).waitFor();
  t.equal(await page.locator('[data-testid="search-table"] tbody tr').count(), 1, 'exactly one match');
  t.equal(await page.getByTestId('search-progress').getAttribute('data-value'), '1.0000', 'the progress bar is full');
  await saveScreenshot(page, 'messages-search');

  // ---- export it ----
  const json = await downloaded(page, 'export-json');
  t.equal(json.name, 'orders-search.json');
  const rows = JSON.parse(json.text) as Exported[];
  t.same(
    rows,
    [
      {
        partition: target.partition,
        offset: Number(target.message.offset),
        timestamp: Number(target.message.timestamp),
        key: 'order-2',
        value: '{"id":2,"status":"paid"}',
        headers: [
          { key: 'trace', value: 'trace-b' },
          { key: 'source', value: 'ui' },
        ],
      },
    ],
    'the exported JSON is the record kafkajs reads',
  );
  const csv = await downloaded(page, 'export-csv');
  t.equal(csv.name, 'orders-search.csv');
  t.same(
    csv.text.split('\r\n'),
    [
      'partition,offset,timestamp,key,value,headers',
      `${target.partition},${target.message.offset},${target.message.timestamp},order-2,"{""id"":2,""status"":""paid""}","[{""key"":""trace"",""value"":""trace-b""},{""key"":""source"",""value"":""ui""}]"`,
      '',
    ],
    'and the CSV',
  );

  // ---- a search of chosen partitions ----
  const other = 1 - target.partition;
  await page.getByTestId('search-partitions').fill(String(other));
  await page.getByTestId('search-start').click();
  await page.getByTestId('search-state').filter({ hasText: 'done' }).waitFor();
  await page.locator('[data-testid="search-table"] td.empty').waitFor();
  t.pass(`searching partition ${other} alone finds nothing`);
  await page.getByTestId('search-partitions').fill('');

  // ---- a JSON path search ----
  await page.getByTestId('search-field').selectOption('value');
  await page.getByTestId('search-mode').selectOption('jsonpath');
  await page.getByTestId('search-pattern').fill('$.status');
  await page.getByTestId('search-equals').fill('shipped');
  await page.getByTestId('search-start').click();
  await page.locator('[data-testid="search-table"] tr[data-key]').filter({ hasText: 'order-3' }).waitFor();
  await page.getByTestId('search-state').filter({ hasText: 'done' }).waitFor();
  t.equal(await page.locator('[data-testid="search-table"] tbody tr').count(), 1, 'a JSON path search finds order-3 alone');

  // ---- browse ----
  const partition = target.partition;
  const inPartition = consumed.filter((m) => m.partition === partition);
  await page.getByTestId('tab-browse').click();
  await page.getByTestId('browse-partition').selectOption(String(partition));
  await page.getByTestId('browse-offset').fill('0');
  await page.getByTestId('browse-load').click();
  await page.locator(`[data-testid="browse-table"] tr[data-key="${partition}-${target.message.offset}"]`).waitFor();
  t.equal(await page.locator('[data-testid="browse-table"] tbody tr[data-key]').count(), inPartition.length, `partition ${partition} shows its ${inPartition.length} records`);
  await page.getByTestId('value-view').selectOption('json');
  await page.locator('[data-testid="browse-table"] pre').filter({ hasText: '"status": "paid"' }).waitFor();
  t.pass('values as pretty JSON');
  await page.getByTestId('value-view').selectOption('hex');
  const hex = Buffer.from('{"id":2').toString('hex').match(/../g)!.join(' ');
  await page.locator('[data-testid="browse-table"] pre').filter({ hasText: hex }).waitFor();
  t.pass('values as hex');
  const browsed = await downloaded(page, 'export-json');
  t.same((JSON.parse(browsed.text) as Exported[]).map((row) => row.offset), inPartition.map((m) => Number(m.message.offset)), 'the browse table exports its rows');
  // From a time after every record: nothing.
  await page.getByTestId('browse-from').selectOption('time');
  await page.getByTestId('browse-time').fill(new Date(Date.now() + 3_600_000).toISOString().slice(0, 19));
  await page.getByTestId('browse-load').click();
  await page.locator('[data-testid="browse-table"] td.empty').waitFor();
  t.pass('from a later time: no messages');

  // ---- a refused produce, in words ----
  await page.getByTestId('tab-produce').click();
  await page.getByTestId('produce-partition').fill('7');
  await page.getByTestId('produce-value').fill('x');
  await page.getByTestId('produce-submit').click();
  await page.getByTestId('produce-error').waitFor();
  t.match(await page.getByTestId('produce-error').textContent(), /UNKNOWN_TOPIC_OR_PARTITION/, 'a partition that does not exist: Kafka\'s error');

  // ---- delete the topic, after the confirmation ----
  await page.getByRole('link', { name: 'orders' }).first().click();
  await page.getByTestId('topic-title').filter({ hasText: 'orders' }).waitFor();
  await page.getByTestId('topic-delete').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByRole('heading', { name: 'Topics' }).waitFor();
  for (const deadline = Date.now() + 10_000; (await admin.listTopics()).includes('orders'); ) {
    if (Date.now() > deadline) throw new Error('kafkajs still lists orders 10 s after the delete');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.pass('kafkajs: the topic is deleted');
  t.same(pageErrors.filter((error) => !/messages answered 404/.test(error)), [], 'no other page errors');
});
