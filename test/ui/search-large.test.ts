// The issue's acceptance point "a search over a 1 GiB topic shows progress, can be cancelled, and
// the broker keeps serving producers meanwhile", in Debian's Chromium against a broker process:
// 1 GiB of 1 KB JSON records produced with large batches (bench/lib/topic-filler.ts), a search
// started from the Messages page whose regex matches nothing (so every record is read), its
// progress bar seen to move, a producer served while it runs, then Cancel: the search ends
// `cancelled` with less than the topic scanned, and its scanned bytes no longer grow. The
// producer throughput with and without a search is measured by bench/ui-search.ts.

import kafkajs from 'kafkajs';
import t from 'tap';
import { fillTopic } from '../../bench/lib/topic-filler.js';
import { launchChromium } from '../helpers/browser.js';
import { OPERATOR, openUi, startUiBroker } from '../helpers/admin-ui.js';

const { Kafka, logLevel } = kafkajs;
const GIB = 1024 ** 3;

const browser = await launchChromium(t);

t.test('a search over 1 GiB: progress, producers served, cancel', async (t) => {
  const { plainPort, httpUrl } = await startUiBroker(t);
  const filled = await fillTopic({ bootstrap: `127.0.0.1:${plainPort}`, topic: 'big', partitions: 4, bytes: GIB });
  t.ok(filled.bytes >= GIB, `${(filled.bytes / 1024 ** 2).toFixed(0)} MiB produced in ${filled.seconds.toFixed(1)} s`);

  const { page } = await openUi(browser, httpUrl, OPERATOR, '/topics/big/messages?tab=search');
  await page.getByTestId('search-field').selectOption('value');
  await page.getByTestId('search-mode').selectOption('regex');
  await page.getByTestId('search-pattern').fill('"kind":"needle-[0-9]+"');
  await page.getByTestId('search-start').click();
  await page.getByTestId('search-state').filter({ hasText: 'running' }).waitFor();
  const progress = page.getByTestId('search-progress');
  const fraction = async (): Promise<number> => Number(await progress.getAttribute('data-value'));
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await until('the progress bar to start', async () => (await fraction()) > 0);
  const first = await fraction();

  // A producer is served while the search runs.
  const producer = new Kafka({ brokers: [`127.0.0.1:${plainPort}`], clientId: 'search-large-test', logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  const sendStarted = Date.now();
  for (let i = 0; i < 20; i++) await producer.send({ topic: 'big', acks: -1, messages: Array.from({ length: 100 }, (_, n) => ({ value: `during the search ${i}-${n}` })) });
  const sendMs = Date.now() - sendStarted;
  await producer.disconnect();
  t.pass(`20 produce requests of 100 records acknowledged during the search in ${sendMs} ms`);

  await until('the progress bar to move', async () => (await fraction()) > first);
  const moved = await fraction();
  t.ok(moved > first && moved < 1, `the progress bar moved: ${(first * 100).toFixed(1)} % -> ${(moved * 100).toFixed(1)} %`);
  t.equal(await page.getByTestId('search-state').textContent(), 'running', 'still running');

  await page.getByTestId('search-cancel').click();
  await page.getByTestId('search-state').filter({ hasText: 'cancelled' }).waitFor();
  t.pass('Cancel: the page shows it cancelled');
  const id = new URLSearchParams(new URL(page.url()).hash.split('?')[1] ?? '').get('search');
  t.ok(id, 'the search id is in the URL');
  const authorization = `Basic ${Buffer.from(`${OPERATOR.user}:${OPERATOR.password}`).toString('base64')}`;
  const get = async (): Promise<any> => (await fetch(`${httpUrl}/api/v1/searches/${id}`, { headers: { authorization } })).json();
  const stopped = await get();
  t.equal(stopped.state, 'cancelled');
  t.ok(stopped.bytesScanned > 0 && stopped.bytesScanned < filled.bytes, `it had scanned ${(stopped.bytesScanned / 1024 ** 2).toFixed(0)} MiB of ${(filled.bytes / 1024 ** 2).toFixed(0)} MiB`);
  t.ok(stopped.endedAt !== null, 'it has ended (the API answers cancel once the search has stopped)');
  t.same([stopped.bytesTotal, stopped.bytesTotalFromSizes], [filled.bytes, true], 'the bytes in the range: the partitions\' sizes (the operator may DescribeLogDirs)');
  // Another request through the broker, then the search again: nothing more was scanned.
  await fetch(`${httpUrl}/api/v1/topics/big`, { headers: { authorization } });
  const later = await get();
  t.same([later.state, later.bytesScanned, later.recordsScanned], ['cancelled', stopped.bytesScanned, stopped.recordsScanned], 'its scanned bytes do not grow');
});
