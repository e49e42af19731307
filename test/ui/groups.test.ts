// The admin UI's consumer group pages (src/ui/pages/groups.tsx, group.tsx) in Debian's Chromium
// against a broker process: a kafkajs consumer group runs; the UI shows its members, their
// assignment, and per partition the lag `spate groups describe --json` prints (and their sum in the
// list); its lag chart has samples (http.group.lag.history.interval.ms 200); the consumer stops; a
// reset to an offset previews (a dry run: the CLI sees nothing changed), then applies (the CLI sees
// the new offsets); a new kafkajs consumer of the group starts there.

import kafkajs from 'kafkajs';
import t from 'tap';
import { json as cliJson, spate } from '../cli/fixtures/spate.js';
import { OPERATOR, openUi, startUiBroker } from '../helpers/admin-ui.js';
import { launchChromium } from '../helpers/browser.js';

const { Kafka, logLevel } = kafkajs;
const browser = await launchChromium(t);

interface CliPartition {
  readonly topic: string;
  readonly partition: number;
  readonly currentOffset: number | null;
  readonly lag: number | null;
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('a consumer group in the UI: members, assignment, lag as spate says, reset with a dry run, the next consumer starts there', async (t) => {
  const ui = await startUiBroker(t, { 'http.group.lag.history.interval.ms': 200 });
  const bootstrap = `127.0.0.1:${ui.plainPort}`;
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'groups-ui-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'orders', acks: -1, messages: Array.from({ length: 20 }, (_, index) => ({ value: `order-${index}`, partition: index % 2 })) });
  await producer.disconnect();

  // The consumer reads everything but commits only its first 6 records of each partition: a lag of 4 each.
  const consumer = new Kafka({ brokers: [bootstrap], clientId: 'billing-app', logLevel: logLevel.NOTHING }).consumer({ groupId: 'billing', sessionTimeout: 10_000, rebalanceTimeout: 5_000 });
  await consumer.connect();
  let consumerRunning = true;
  t.teardown(async () => {
    if (consumerRunning) await consumer.disconnect();
  });
  await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
  let seen = 0;
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      if (Number(message.offset) < 6) await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
      seen++;
    },
  });
  await until(() => seen === 20, 'the consumer read every record');
  const describe = async (): Promise<CliPartition[]> => cliJson(await spate(bootstrap, ['groups', 'describe', 'billing', '--json']))[0].partitions;
  const cliPartitions = await describe();
  t.same(
    cliPartitions.map((row) => [row.partition, row.currentOffset, row.lag]),
    [
      [0, 6, 4],
      [1, 6, 4],
    ],
    'spate: committed 6, lag 4 per partition',
  );

  const { page, pageErrors, consoleErrors } = await openUi(browser, ui.httpUrl, OPERATOR, '/groups');
  const listedLag = page.getByTestId('group-lag-billing');
  await listedLag.filter({ hasText: '8' }).waitFor();
  t.equal(await page.getByTestId('group-members-billing').textContent(), '1', 'the list: one member');
  t.equal(await page.getByTestId('group-state-billing').textContent(), 'Stable');

  await page.getByTestId('group-link-billing').click();
  await page.getByTestId('member-row-billing-app').waitFor();
  t.equal(new URL(page.url()).hash, '#/groups/billing', 'the group has its own URL');
  t.equal(await page.getByTestId('group-member-count').textContent(), '1');
  t.equal(await page.getByTestId('group-state').textContent(), 'Stable');
  t.equal(await page.getByTestId('group-protocol').textContent(), 'RoundRobinAssigner', 'kafkajs\'s assignor');
  const assignment = await page.locator('[data-testid^="assignment-"]').textContent();
  t.equal(assignment, 'orders: 0, 1', 'the member is assigned both partitions');
  for (const row of cliPartitions) {
    t.equal(await page.getByTestId(`lag-orders-${row.partition}`).textContent(), String(row.lag), `partition ${row.partition}: the lag spate prints`);
    t.equal(await page.getByTestId(`offset-orders-${row.partition}`).textContent(), String(row.currentOffset), `partition ${row.partition}: the committed offset spate prints`);
    t.equal(await page.getByTestId(`log-end-orders-${row.partition}`).textContent(), '10');
  }
  t.equal(await page.getByTestId('total-lag').textContent(), '8');
  await until(async () => Number(await page.getByTestId('lag-chart').getAttribute('data-points')) >= 2, 'the lag chart has samples');
  t.pass('the lag chart shows the history');

  await consumer.disconnect();
  consumerRunning = false;
  await page.getByTestId('group-state').filter({ hasText: 'Empty' }).waitFor({ timeout: 20_000 });
  t.pass('the page follows the group to Empty once the consumer left');

  await page.getByTestId('reset-to').selectOption('offset');
  await page.getByTestId('reset-offset').fill('3');
  await page.getByTestId('reset-topic').selectOption('orders');
  t.ok(await page.getByTestId('reset-apply').isDisabled(), 'apply waits for a preview');
  await page.getByTestId('reset-preview').click();
  await page.getByTestId('reset-preview-table').waitFor();
  for (const partition of [0, 1]) t.equal(await page.getByTestId(`preview-new-orders-${partition}`).textContent(), '3', `the preview: partition ${partition} to 3`);
  t.same(
    (await describe()).map((row) => row.currentOffset),
    [6, 6],
    'the dry run changed nothing (spate)',
  );
  await page.getByTestId('reset-apply').click();
  await page.getByTestId('reset-result').waitFor();
  t.same(
    (await describe()).map((row) => [row.currentOffset, row.lag]),
    [
      [3, 7],
      [3, 7],
    ],
    'applied: spate sees offset 3 and lag 7',
  );
  await page.getByTestId('lag-orders-0').filter({ hasText: '7' }).waitFor();
  t.pass('the page shows the new lag');

  // The next consumer of the group starts at the reset offsets.
  const next = new Kafka({ brokers: [bootstrap], clientId: 'billing-next', logLevel: logLevel.NOTHING }).consumer({ groupId: 'billing', sessionTimeout: 10_000, rebalanceTimeout: 5_000 });
  await next.connect();
  t.teardown(() => next.disconnect());
  await next.subscribe({ topics: ['orders'], fromBeginning: true });
  const firstOffsets = new Map<number, string>();
  await next.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (!firstOffsets.has(partition)) firstOffsets.set(partition, message.offset);
    },
  });
  await until(() => firstOffsets.size === 2, 'the next consumer read from both partitions');
  t.same(Object.fromEntries(firstOffsets), { 0: '3', 1: '3' }, 'the next consumer starts at the reset offset');
  await next.disconnect();
  t.same(pageErrors, [], 'no page errors');
  t.same(consoleErrors, [], 'no console errors');
});
