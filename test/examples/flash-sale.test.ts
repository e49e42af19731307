// The flash sale end to end (issue 18, acceptance "Flash sale"), with every part real: a Spate
// broker process (HTTP on, for /ws), the processor (examples/flash-sale/processor.ts, the streams
// app with exactly_once_v2) as its own process, the order server (HTTP) in this process, a
// @platformatic/kafka consumer reading order-results read_committed, and Chromium.
//
// 1. The race: 10,000 orders from 1,000 users (10 each), 100 HTTP requests in flight, for 100
//    units of one item, plus 200 orders spread among them for a second item of 100 units whose
//    sale is still on when, after 3,000 orders were taken (and results are coming out), the
//    processor is killed with SIGKILL and started again while orders keep coming. Then
//    order-results holds exactly one result per order id, exactly 100 accepted per item (the
//    remaining counts 99 … 0 each once: the stock store was restored from its committed
//    changelog, neither reset nor holding an aborted transaction's writes), every result keyed by
//    its user, in the user's partition (Kafka's default partitioner, which the page relies on), at
//    or after the offset the order server gave when it took the order. "Every result was read"
//    is known, not waited out: after the last order id, a marker record is written to each
//    partition and read back; read_committed delivers in offset order, so every committed record
//    before a marker has been delivered once the marker is.
// 2. The page: in Chromium a user opens the page, waits for its WebSocket subscription, orders an
//    item with stock (the page shows "Accepted") and the sold-out item (it shows "Rejected: sold
//    out"). The screenshot goes to dist/screenshots/flash-sale.png.

import t from 'tap';
import { mkdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { Consumer, FetchIsolationLevels, MessagesStreamModes, Producer, stringDeserializers, stringSerializers, type Message } from '@platformatic/kafka';
import { BrokerProcess, freePort, projectRoot } from '../helpers/broker-process.js';
import { launchChromium, openPage } from '../helpers/browser.js';
import { startProcessorProcess, type ChildRun } from '../../examples/flash-sale/child-processes.js';
import { ORDER_RESULTS_PARTITIONS_DEFAULT, ORDER_RESULTS_TOPIC, resultPartition, type OrderResult } from '../../examples/flash-sale/model.js';
import { startOrderServer } from '../../examples/flash-sale/order-server.js';
import { createFlashSaleTopics } from '../../examples/flash-sale/topics.js';

const USERS = 1_000;
const ORDERS_PER_USER = 10;
const ORDERS = USERS * ORDERS_PER_USER;
const STOCK = 100;
const IN_FLIGHT = 100;
const KILL_AFTER_ORDERS = 3_000;
const RACE_ITEM = 'flash-item';
/** A second sale that is still on when the processor is killed (see the race). */
const SLOW_ITEM = 'slow-item';
const SLOW_ORDERS = 200;
/** The page's item: stock of its own, so the page's accepted order does not take from the race. */
const PAGE_ITEM = 'page-item';
const END_MARKER_KEY = '__test-end-marker__';
const RESULTS_TIMEOUT_MS = 40_000;

const httpPort = await freePort();
const broker = await BrokerProcess.start(t, {
  overrides: {
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'offsets.topic.num.partitions': 4,
    'transaction.state.log.num.partitions': 4,
    'group.initial.rebalance.delay.ms': 0,
  },
});
await createFlashSaleTopics(broker.bootstrap);

const processorOptions = { bootstrap: broker.bootstrap, initialStock: STOCK, stockPerItem: { [PAGE_ITEM]: 5 }, sessionTimeoutMs: 6_000 };
const processors: ChildRun[] = [];
t.teardown(async () => {
  for (const processor of processors) await processor.kill();
});
processors.push(await startProcessorProcess(processorOptions));

const server = await startOrderServer({
  bootstrap: broker.bootstrap,
  wsUrl: `ws://127.0.0.1:${httpPort}/ws`,
  items: [{ item: RACE_ITEM, stock: STOCK }, { item: PAGE_ITEM, stock: 5 }],
});
t.teardown(() => server.close());

// order-results, read_committed from the beginning, for the whole test.
const results = new Map<string, OrderResult[]>();
const seen: Array<Message<string, string, string, string>> = [];
const markersSeen = new Set<number>();
const consumer = new Consumer<string, string, string, string>({
  clientId: 'flash-sale-test-reader',
  groupId: `flash-sale-test-reader-${process.pid}`,
  bootstrapBrokers: [broker.bootstrap],
  deserializers: stringDeserializers,
  isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  maxWaitTime: 100,
});
t.teardown(() => consumer.close(true));
const stream = await consumer.consume({ topics: [ORDER_RESULTS_TOPIC], mode: MessagesStreamModes.EARLIEST, autocommit: false });
let readError: Error | null = null;
stream.on('error', (error: Error) => void (readError = error));
stream.on('data', (message: Message<string, string, string, string>) => {
  if (message.key === END_MARKER_KEY) {
    markersSeen.add(message.partition);
    return;
  }
  seen.push(message);
  const result = JSON.parse(message.value) as OrderResult;
  const list = results.get(result.orderId) ?? [];
  list.push(result);
  results.set(result.orderId, list);
});

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (readError !== null) throw readError;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Placed {
  readonly orderId: string;
  readonly user: string;
  readonly partition: number;
  readonly offset: bigint;
}

const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
t.teardown(() => agent.destroy());

function postOrder(user: string, item: string): Promise<Placed> {
  const body = JSON.stringify({ user, item });
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}orders`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { orderId: string; partition: number; offset: string; error?: string };
        if (response.statusCode !== 202) reject(new Error(`POST /orders answered ${response.statusCode}: ${answer.error}`));
        else resolve({ orderId: answer.orderId, user, partition: answer.partition, offset: BigInt(answer.offset) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('10,000 orders from 1,000 users race for 100 units, across a processor crash: exactly 100 accepted, one result per order', async (t) => {
  const startedAt = Date.now();
  // Every 51st order is for SLOW_ITEM (200 of them), the others for RACE_ITEM (10,000); users
  // interleaved, user-0000 … user-0999 and again. RACE_ITEM sells out within its first 100 orders,
  // long before the kill; SLOW_ITEM's 100 units are still selling when it comes (at most 58 of its
  // orders were placed by then), so acceptances are decided on both sides of the crash, some of
  // them likely in the transaction the kill aborts.
  const wanted = Array.from({ length: ORDERS + SLOW_ORDERS }, (_, index) => ({
    user: `user-${String(index % USERS).padStart(4, '0')}`,
    item: index % 51 === 50 ? SLOW_ITEM : RACE_ITEM,
  }));
  const placed: Placed[] = [];
  let next = 0;
  // A holder, not a `let`: the worker closures set it, which the compiler's narrowing does not follow.
  const crash: { run: Promise<{ resultsAtKill: number; slowAcceptedAtKill: number; restartMs: number }> | null } = { run: null };
  const acceptedOf = (item: string): number => [...results.values()].filter((list) => list[0]!.item === item && list[0]!.status === 'accepted').length;
  const worker = async (): Promise<void> => {
    while (next < wanted.length) {
      const { user, item } = wanted[next++]!;
      placed.push(await postOrder(user, item));
      if (placed.length >= KILL_AFTER_ORDERS && crash.run === null) {
        crash.run = (async () => {
          // Mid-run: results are coming out (a positive wait), orders keep coming while it is down.
          await until('the first results', () => results.size > 0, RESULTS_TIMEOUT_MS);
          const resultsAtKill = results.size;
          const slowAcceptedAtKill = acceptedOf(SLOW_ITEM);
          await processors.at(-1)!.kill();
          const restartAt = Date.now();
          processors.push(await startProcessorProcess(processorOptions, RESULTS_TIMEOUT_MS));
          return { resultsAtKill, slowAcceptedAtKill, restartMs: Date.now() - restartAt };
        })();
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const postedMs = Date.now() - startedAt;
  const total = ORDERS + SLOW_ORDERS;
  t.equal(placed.length, total, `every order was taken (202): ${ORDERS} for ${RACE_ITEM}, ${SLOW_ORDERS} for ${SLOW_ITEM}`);
  t.ok(crash.run !== null, 'the processor was killed mid-run');
  const { resultsAtKill, slowAcceptedAtKill, restartMs } = await crash.run!;
  t.ok(resultsAtKill > 0 && resultsAtKill < total, `killed with ${resultsAtKill} of ${total} results out`);
  t.ok(slowAcceptedAtKill < STOCK, `killed while ${SLOW_ITEM} was still selling (${slowAcceptedAtKill} of ${STOCK} accepted so far, read_committed)`);
  t.comment(`${total} orders posted in ${postedMs} ms; the processor killed with ${resultsAtKill} results out, and running again ${restartMs} ms later`);
  t.comment(`restarted processor: ${processors.at(-1)!.output.split('\n').filter((line) => /restored|fenced/.test(line)).join('; ')}`);

  await until(`${total} results`, () => results.size >= total, RESULTS_TIMEOUT_MS);
  // Every committed result before the markers has been read once the markers are.
  const marker = new Producer<string, string, string, string>({ clientId: 'flash-sale-test-marker', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers });
  try {
    await marker.send({ messages: Array.from({ length: ORDER_RESULTS_PARTITIONS_DEFAULT }, (_, partition) => ({ topic: ORDER_RESULTS_TOPIC, partition, key: END_MARKER_KEY, value: 'end' })) });
  } finally {
    await marker.close();
  }
  await until('the end markers', () => markersSeen.size === ORDER_RESULTS_PARTITIONS_DEFAULT, RESULTS_TIMEOUT_MS);

  const byOrder = new Map(placed.map((order) => [order.orderId, order]));
  t.equal(byOrder.size, total, 'distinct order ids');
  t.equal(seen.length, total, `${total} results read, no duplicate`);
  t.same([...results.keys()].filter((orderId) => !byOrder.has(orderId)), [], 'no result for an order that was not placed');
  t.same([...results.entries()].filter(([, list]) => list.length !== 1).map(([orderId]) => orderId), [], 'each order id has exactly one result');
  const all = [...results.values()].map((list) => list[0]!);
  for (const [item, orders] of [[RACE_ITEM, ORDERS], [SLOW_ITEM, SLOW_ORDERS]] as const) {
    const ofItem = all.filter((result) => result.item === item);
    const accepted = ofItem.filter((result) => result.status === 'accepted');
    t.equal(ofItem.length, orders, `${item}: ${orders} results`);
    t.equal(accepted.length, STOCK, `${item}: exactly ${STOCK} accepted`);
    t.same(accepted.map((result) => result.remaining).sort((a, b) => a - b), Array.from({ length: STOCK }, (_, index) => index), `${item}: the accepted orders left 99 … 0 units, each once (the stock store restored after the crash from committed writes only)`);
    t.ok(ofItem.every((result) => result.status === 'accepted' || result.remaining === 0), `${item}: every rejection says sold out`);
  }
  const misplaced = seen.filter((message) => {
    const order = byOrder.get((JSON.parse(message.value) as OrderResult).orderId)!;
    return message.key !== order.user || message.partition !== resultPartition(order.user, ORDER_RESULTS_PARTITIONS_DEFAULT) || message.partition !== order.partition || message.offset < order.offset;
  });
  t.same(misplaced.slice(0, 3).map((message) => `${message.key} ${message.partition}@${message.offset}`), [], "every result is keyed by its user, in the user's partition, at or after the offset the order server gave");
  const usersWithResults = new Set(all.map((result) => result.user));
  t.equal(usersWithResults.size, USERS, 'every user got results');
  t.comment(`all results read ${Date.now() - startedAt} ms after the first order`);
});

t.test('the order server refuses what is not an order, and writes nothing for it', async (t) => {
  const before = server.ordersWritten;
  const post = async (body: string): Promise<[number, string]> => {
    const response = await fetch(`${server.url}orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return [response.status, ((await response.json()) as { error: string }).error];
  };
  t.same(await post('{"item":"flash-item"}'), [400, 'user is a string of 1 to 64 characters'], 'no user');
  t.same(await post('{"user":"u","item":"flash-item","quantity":11}'), [400, 'quantity is an integer from 1 to 10'], 'too many units');
  t.same(await post('{"user":"u","item":"flash-item","quantity":1.5}'), [400, 'quantity is an integer from 1 to 10'], 'a fraction of a unit');
  t.same(await post('[1]'), [400, 'the body is a JSON object {user, item, quantity?}'], 'not an object');
  t.equal((await post('not json'))[0], 400, 'not JSON');
  t.equal((await post(JSON.stringify({ user: 'u', item: 'x'.repeat(5_000) })))[0], 413, 'a body over 4 KiB');
  t.equal((await fetch(`${server.url}nothing-here`)).status, 404, 'an unknown path');
  t.equal(server.ordersWritten, before, 'nothing was written to orders');
});

t.test('in Chromium the page places orders and shows each result', async (t) => {
  const browser = await launchChromium(t);
  const { page, pageErrors, consoleErrors } = await openPage(browser, `${server.url}?user=browser-user`);
  await page.waitForFunction('window.flashSale && window.flashSale.ready === true', undefined, { timeout: 15_000 });
  t.match(await page.textContent('#connection'), 'live', 'the page is subscribed');

  await page.selectOption('#item', PAGE_ITEM);
  await page.click('#buy');
  await page.waitForSelector('#orders tr:nth-child(1) .result.accepted', { timeout: 15_000 });
  t.match(await page.textContent('#orders tr:nth-child(1) .result'), /^Accepted: 1 × page-item is yours \(4 left\)$/, 'an order with stock: accepted, shown');

  await page.selectOption('#item', RACE_ITEM);
  await page.click('#buy');
  await page.waitForSelector('#orders tr:nth-child(1) .result.rejected', { timeout: 15_000 });
  t.equal(await page.textContent('#orders tr:nth-child(1) .result'), 'Rejected: sold out', 'an order for the sold-out item: rejected, shown');
  const latencies = (await page.evaluate('window.flashSale.latencies')) as number[];
  t.equal(latencies.length, 2, 'two results shown');
  t.comment(`order → shown in the page: ${latencies.map((ms) => `${ms.toFixed(1)} ms`).join(', ')}`);

  const screenshots = join(projectRoot, 'dist', 'screenshots');
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, 'flash-sale.png') });
  t.same(pageErrors, [], 'no page errors');
  t.same(consoleErrors, [], 'no console errors');
});
