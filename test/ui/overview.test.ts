// The Overview and Cluster operations pages (src/ui/pages/overview.tsx, cluster-ops.tsx) in
// Debian's Chromium against real broker processes, checked against the broker with kafkajs and
// `spate`:
// - a broker with an authorizer and a 250 ms history resolution: the operator logs in through the
//   form and sees the broker (controller) in the brokers table and the charts filling with the
//   points of a kafkajs workload (the history API shows the workload's bytes); a user with only a
//   topic's ACL sees that topic's partitions and, in words, why there are no broker-wide charts;
// - a cluster of 3 brokers and ZooKeeper, the UI of a broker that is not the controller: a
//   reassignment started with `spate reassign --execute --throttle` shows its progress bar, the
//   Cancel button (confirmed) cancels it (kafkajs lists none, the replicas are back); a replica on
//   no broker is refused with Kafka's error in words; a
//   reassignment started in the form reorders a partition's replicas (kafkajs sees them), and a
//   preferred election of that partition from the page moves its leader (kafkajs sees it).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import t from 'tap';
import { describe, spate } from '../cli/fixtures/spate.js';
import { OPERATOR, openUi, saveScreenshot, startUiBroker } from '../helpers/admin-ui.js';
import { freePort, temporaryDirectory } from '../helpers/broker-process.js';
import { launchChromium, openPage } from '../helpers/browser.js';
import { startCluster, waitFor } from '../helpers/cluster.js';
import { setScramCredential } from '../helpers/sasl-client.js';

const { Kafka, logLevel } = kafkajs;

const browser = await launchChromium(t);

t.test('the overview: brokers, partitions and live charts; a tenant-like user sees less', async (t) => {
  const ui = await startUiBroker(t, { 'http.metrics.history.resolution.ms': 250 });
  const kafka = new Kafka({ brokers: [`127.0.0.1:${ui.plainPort}`], clientId: 'overview-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'charted', numPartitions: 2 }, { topic: 'hidden', numPartitions: 1 }], waitForLeaders: true });

  const { page, pageErrors } = await openUi(browser, ui.httpUrl, OPERATOR, '/overview');
  const brokers = page.getByTestId('brokers-table');
  await brokers.getByRole('cell', { name: 'controller' }).waitFor();
  t.match(await brokers.textContent(), new RegExp(`127\\.0\\.0\\.1:${ui.plainPort}`), 'the broker and its address');
  t.equal(await page.getByTestId('stat-brokers').locator('.value').textContent(), '1');
  t.equal(await page.getByTestId('stat-partitions').locator('.value').textContent(), '3', 'charted\'s 2 and hidden\'s 1 partitions');
  t.equal(await page.getByTestId('stat-urp').locator('.value').textContent(), '0');
  await page.getByTestId('urp-table').getByText('None: every partition\'s replicas are in sync.').waitFor();

  // A workload while the page watches: the charts gain points, and the points hold its bytes.
  const producer = kafka.producer();
  await producer.connect();
  for (let batch = 0; batch < 5; batch++) await producer.send({ topic: 'charted', acks: -1, messages: Array.from({ length: 100 }, (_, i) => ({ value: `record ${batch}-${i} `.repeat(20) })) });
  await producer.disconnect();
  const points = async (testid: string): Promise<number> => Number(await page.getByTestId(testid).getAttribute('data-points'));
  const before = await points('chart-bytes');
  await waitFor('the charts to gain points', async () => (await points('chart-bytes')) >= before + 4 && (await points('chart-latency')) >= before + 4);
  for (const chart of ['chart-bytes', 'chart-messages', 'chart-requests', 'chart-latency']) t.ok((await points(chart)) > before, `${chart} refreshed with new points`);
  t.equal(await page.getByTestId('chart-bytes').locator('canvas').count() > 0, true, 'drawn by uPlot');
  const history = (await (await fetch(`${ui.httpUrl}/api/v1/metrics/history`, { headers: { authorization: `Basic ${Buffer.from(`${OPERATOR.user}:${OPERATOR.password}`).toString('base64')}` } })).json()) as { messagesInPerSec: number[]; intervalsMs: number[] };
  const messagesIn = Math.round(history.messagesInPerSec.reduce((sum, rate, i) => sum + (rate * history.intervalsMs[i]!) / 1000, 0));
  t.equal(messagesIn, 500, 'the charted history holds the 500 records kafkajs produced');
  await saveScreenshot(page, 'overview-test');
  t.same(pageErrors, [], 'no page errors');

  // alice may describe one topic and nothing of the cluster.
  t.equal(await setScramCredential(t, ui.plainPort, 'alice', 'SCRAM-SHA-512', 'alice-pw'), 'NONE');
  await ui.spate('acls', 'add', '--allow-principal', 'User:alice', '--operation', 'Describe', '--topic', 'charted');
  const { page: alicePage } = await openUi(browser, ui.httpUrl, { user: 'alice', password: 'alice-pw' }, '/overview');
  await alicePage.getByTestId('history-error').waitFor();
  t.match(await alicePage.getByTestId('history-error').textContent(), /CLUSTER_AUTHORIZATION_FAILED/, 'why there are no broker-wide charts, in words');
  t.equal(await alicePage.getByTestId('stat-partitions').locator('.value').textContent(), '2', 'only the partitions of the topic she may describe');
});

t.test('cluster operations: a reassignment\'s progress and cancel, one started from the form, a preferred election', async (t) => {
  const httpPorts = new Map<number, number>();
  for (const id of [1, 2, 3]) httpPorts.set(id, await freePort());
  const cluster = await startCluster(t, {
    brokers: 3,
    overrides: { 'replica.lag.time.max.ms': 10_000 },
    brokerOverrides: (id) => ({ 'http.listeners': `http://127.0.0.1:${httpPorts.get(id)}` }),
  });
  const kafka = new Kafka({ brokers: cluster.bootstrap.split(','), clientId: 'cluster-ops-ui-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const partitionOf = async (topic: string): Promise<{ leader: number; replicas: number[]; isr: number[] }> => {
    const found = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.find((p) => p.partitionId === 0)!;
    return { leader: found.leader, replicas: found.replicas, isr: found.isr };
  };
  const controllerId = ((await (await fetch(`http://127.0.0.1:${httpPorts.get(1)}/api/v1/cluster`)).json()) as { controllerId: number }).controllerId;
  const httpUrl = `http://127.0.0.1:${httpPorts.get([1, 2, 3].find((id) => id !== controllerId)!)}`;

  await admin.createTopics({
    topics: [
      { topic: 'moving', replicaAssignment: [{ partition: 0, replicas: [1] }] },
      { topic: 'order', replicaAssignment: [{ partition: 0, replicas: [1, 2] }] },
    ],
    waitForLeaders: true,
  });
  const producer = kafka.producer();
  await producer.connect();
  const value = Buffer.alloc(1024, 'x');
  for (let batch = 0; batch < 3; batch++) await producer.send({ topic: 'moving', acks: -1, messages: Array.from({ length: 1000 }, () => ({ value })) });
  await producer.disconnect();
  const plan = join(temporaryDirectory(t), 'moving.json');
  writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic: 'moving', partition: 0, replicas: [1, 2] }] }));
  // 100 KB/s against 3 MB: some 30 s to complete, longer than the page is watched.
  const executed = await spate(cluster.bootstrap, ['reassign', '--execute', '--reassignment-json-file', plan, '--throttle', '100000']);
  t.equal(executed.code, 0, describe(executed));

  // No authorizer on these brokers: no login form, the page opens as User:ANONYMOUS.
  const { page, pageErrors } = await openPage(browser, `${httpUrl}/#/overview`);
  await page.getByTestId('brokers-table').getByRole('cell', { name: 'controller' }).waitFor();
  t.equal(await page.getByTestId('stat-brokers').locator('.value').textContent(), '3', 'the overview lists the three brokers');
  await page.getByTestId('nav-cluster').click();
  const progress = page.getByTestId('progress-moving-0');
  await progress.waitFor();
  const fraction = await waitFor('the progress bar to move', async () => {
    const shown = Number(await progress.getAttribute('data-value'));
    return shown > 0 ? shown : undefined;
  });
  t.ok(fraction > 0 && fraction < 1, `the progress bar at ${(fraction * 100).toFixed(0)} %`);
  t.match(await page.getByTestId('copied-moving-0').textContent(), /^broker 2: .* of .*MiB$/, 'the bytes copied against the leader\'s');
  await saveScreenshot(page, 'cluster-ops-test');

  await page.getByTestId('cancel-moving-0').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('reassignments-table').getByText('No reassignment is in progress.').waitFor();
  t.same((await admin.listPartitionReassignments({})).topics, [], 'kafkajs: none in progress');
  await waitFor('moving back on [1]', async () => (await partitionOf('moving')).replicas.join() === '1');
  t.pass('kafkajs: moving is back on broker 1 alone');
  t.equal((await spate(cluster.bootstrap, ['reassign', '--cancel', '--reassignment-json-file', plan])).code, 0, 'the throttles cleared');

  // A refused reassignment: Kafka's error, in words.
  await page.getByTestId('reassign-topic').fill('order');
  await page.getByTestId('reassign-partition').fill('0');
  await page.getByTestId('reassign-replicas').fill('2, 9');
  await page.getByTestId('reassign-submit').click();
  await page.getByTestId('reassign-error').waitFor();
  t.match(await page.getByTestId('reassign-error').textContent(), /^INVALID_REPLICA_ASSIGNMENT: .+/, 'a replica on no broker: Kafka\'s error in words');
  t.same(pageErrors.splice(0).map((line) => line.replace(/^.*\/api/, '/api')), ['/api/v1/reassignments answered 400'], 'the one failed request');

  // Started from the form: order's replicas reordered, so its leader is no longer the preferred one.
  await page.getByTestId('reassign-replicas').fill('2, 1');
  await page.getByTestId('reassign-submit').click();
  await page.getByTestId('notice').filter({ hasText: 'order-0' }).waitFor();
  await waitFor('kafkajs to see order on [2,1] with 2 in sync', async () => {
    const p = await partitionOf('order');
    return p.replicas.join() === '2,1' && p.isr.includes(2);
  });
  t.equal((await partitionOf('order')).leader, 1, 'still led by broker 1');

  await page.getByTestId('elect-scope').selectOption('partitions');
  await page.getByTestId('elect-topic').fill('order');
  await page.getByTestId('elect-partitions').fill('0');
  await page.getByTestId('elect-submit').click();
  const results = page.getByTestId('election-results');
  await results.getByRole('cell', { name: 'elected' }).waitFor();
  t.match(await results.textContent(), /order/);
  await waitFor('kafkajs to see broker 2 lead order', async () => (await partitionOf('order')).leader === 2);
  t.pass('the preferred replica leads, as kafkajs sees it');

  // Every partition: none needs one now.
  await page.getByTestId('elect-scope').selectOption('all');
  await page.getByTestId('elect-submit').click();
  await page.getByTestId('election-results').getByText('No partition needed an election.').waitFor();
  t.pass('an election of every partition: none needed');
  t.same(pageErrors, [], 'no page errors');
});
