// An idempotent confluent-kafka producer (librdkafka 2.0.2, enable.idempotence=true,
// acks=all) streams 50,000 unique values to a 3-partition topic while the broker is
// restarted gracefully (SIGTERM, then a new process on the same port and data directory)
// in the middle of the stream. librdkafka reconnects and retries by itself; afterwards
// every delivery report is OK and the topic holds every value exactly once, at the
// offset its delivery report named, and the high watermarks add up to 50,000.
//
// The python scripts (test/compat/python/) only print JSON lines; the checks are here.

import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines, parseLine, sample, within } from '../helpers/json-lines.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';

const TOPIC = 'idempotent-restart';
const MESSAGES = 50_000;
const PARTITIONS = 3;
const RESTART_AFTER = 15_000;

t.test('an idempotent producer keeps going across a graceful broker restart, every message exactly once', async (t) => {
  const broker = await BrokerProcess.start(t);

  const created = await run(PYTHON, [pythonScript('create_topic.py'), broker.bootstrap, TOPIC, String(PARTITIONS), '1'], { timeoutMs: 60_000 });
  const creation = jsonLines(created.stdout.toString()).find((line) => line.type === 'created');
  t.equal(creation?.error, null, 'the AdminClient creates the topic', { stderr: created.stderr });

  // Paced at about 250 messages per 20 ms, so the 50,000 take several seconds and the
  // restart lands in the middle.
  const producer = ClientProcess.spawn(t, PYTHON, [
    '-u',
    pythonScript('produce_stream.py'),
    broker.bootstrap,
    TOPIC,
    String(MESSAGES),
    '--idempotence',
    '--acks=all',
    '--chunk=250',
    '--pause-ms=20',
    '--report-deliveries',
    '--message-timeout-ms=120000',
  ]);
  await producer.waitForLine((line) => {
    const parsed = parseLine(line);
    return parsed.type === 'progress' && parsed.delivered >= RESTART_AFTER;
  }, 60_000);

  // The producer's state when the restart begins: its last progress line so far.
  const linesBeforeRestart = producer.lines.length;
  const atRestart = producer.lines.map(parseLine).filter((line) => line.type === 'progress').at(-1)!;
  t.ok(atRestart.delivered >= RESTART_AFTER, `at least ${RESTART_AFTER} delivered when the restart begins (${atRestart.delivered})`);
  t.ok(atRestart.delivered < MESSAGES, `fewer than ${MESSAGES} delivered when the restart begins (${atRestart.delivered})`);
  t.ok(atRestart.produced < MESSAGES, `the producer had not yet produced everything when the restart begins (${atRestart.produced})`);

  const restartStarted = Date.now();
  await broker.restart();
  t.comment(`broker restarted in ${Date.now() - restartStarted} ms`);

  const code = await within(producer.exited, 150_000, 'the producer finishing');
  t.equal(code, 0, 'produce_stream.py exits 0', { stderr: producer.stderr.slice(-2000) });

  // --- the restart really happened, and the producer noticed it
  const log = broker.log;
  t.match(log, /SIGTERM: shutting down/, 'the broker got SIGTERM');
  t.match(log, /stopped cleanly/, 'the broker stopped cleanly');
  t.equal(log.match(/broker ready on/g)?.length, 2, 'the broker started twice');
  t.match(log.slice(log.lastIndexOf('starting broker')), /after a clean shutdown/, 'the second start found a clean shutdown');
  const lines = producer.lines.map(parseLine);
  const afterRestart = lines.slice(linesBeforeRestart);
  t.ok(
    afterRestart.some((line) => line.type === 'client_error'),
    'librdkafka saw its connection go away during the restart',
  );
  const fatal = lines.filter((line) => line.type === 'client_error' && line.fatal === true);
  t.equal(fatal.length, 0, `no fatal (idempotence) error ${sample(fatal)}`);
  t.ok(
    afterRestart.some((line) => line.type === 'progress' && line.produced > atRestart.produced && line.delivered > atRestart.delivered),
    'messages were produced and delivered after the restart began',
  );

  // --- every delivery report is OK
  const done = lines.find((line) => line.type === 'done');
  t.ok(done, 'the producer finished');
  t.same(
    done && { produced: done.produced, delivered: done.delivered, failed: done.failed, undelivered: done.undelivered, fatal: done.fatal },
    { produced: MESSAGES, delivered: MESSAGES, failed: 0, undelivered: 0, fatal: null },
    'all produced, all delivered, none failed, none left',
  );
  const failures = lines.filter((line) => line.type === 'failed').flatMap((line) => line.records as unknown[]);
  t.equal(failures.length, 0, `no delivery report has an error ${sample(failures)}`);
  const reports = lines.filter((line) => line.type === 'delivered').flatMap((line) => line.records as [number, number, number][]);
  t.equal(reports.length, MESSAGES, 'one delivery report per message');
  const reportedIndexAt = new Map<string, number>();
  const reportedIndexes = new Set<number>();
  const reportProblems: string[] = [];
  for (const [partition, offset, index] of reports) {
    if (!(partition >= 0 && partition < PARTITIONS && offset >= 0)) reportProblems.push(`m-${index} reported at ${partition}/${offset}`);
    if (reportedIndexes.has(index)) reportProblems.push(`m-${index} reported twice`);
    reportedIndexes.add(index);
    const where = `${partition}/${offset}`;
    if (reportedIndexAt.has(where)) reportProblems.push(`${where} reported for m-${reportedIndexAt.get(where)} and m-${index}`);
    reportedIndexAt.set(where, index);
  }
  t.equal(reportProblems.length, 0, `delivery reports name distinct messages at distinct offsets ${sample(reportProblems)}`);

  // --- the topic holds every message exactly once
  const consumed = await run(PYTHON, [pythonScript('consume_all.py'), broker.bootstrap, TOPIC, String(PARTITIONS)], { timeoutMs: 120_000 });
  t.equal(consumed.code, 0, 'consume_all.py exits 0', { stderr: consumed.stderr });
  const consumerLines = jsonLines(consumed.stdout.toString());
  const consumerErrors = consumerLines.filter((line) => line.type === 'error');
  t.equal(consumerErrors.length, 0, `no consumer errors ${sample(consumerErrors)}`);
  t.equal(consumerLines.find((line) => line.type === 'done')?.complete, true, 'the consumer reached every high watermark');
  const watermarks = consumerLines.find((line) => line.type === 'watermarks')?.partitions as [number, number, number][] | undefined;
  t.same(
    watermarks?.map(([partition, low]) => [partition, low]),
    [0, 1, 2].map((partition) => [partition, 0]),
    'every partition starts at offset 0',
  );
  t.equal(
    watermarks?.reduce((sum, [, , high]) => sum + high, 0),
    MESSAGES,
    `the high watermarks add up to ${MESSAGES} (${JSON.stringify(watermarks)})`,
  );

  const records = consumerLines.filter((line) => line.type === 'records').flatMap((line) => line.records as [number, number, string | null, string][]);
  t.equal(records.length, MESSAGES, `${MESSAGES} messages in the topic`);
  const seen = new Set<number>();
  const duplicates: string[] = [];
  const problems: string[] = [];
  const lastOffset = [-1, -1, -1];
  for (const [partition, offset, , value] of records) {
    if (!(offset > lastOffset[partition]!)) problems.push(`partition ${partition}: offset ${offset} after ${lastOffset[partition]}`);
    lastOffset[partition] = offset;
    const match = /^m-(\d+)$/.exec(value);
    if (match === null) {
      problems.push(`${partition}/${offset}: unexpected value ${JSON.stringify(value.slice(0, 80))}`);
      continue;
    }
    const index = Number(match[1]);
    if (seen.has(index)) duplicates.push(`${value} again at ${partition}/${offset}`);
    seen.add(index);
    const reported = reportedIndexAt.get(`${partition}/${offset}`);
    if (reported !== index) problems.push(`${partition}/${offset} holds ${value}, its delivery report said m-${reported}`);
  }
  t.equal(duplicates.length, 0, `no duplicates ${sample(duplicates)}`);
  const missing: number[] = [];
  for (let index = 0; index < MESSAGES; index++) if (!seen.has(index)) missing.push(index);
  t.equal(missing.length, 0, `none missing ${sample(missing.map((index) => `m-${index}`))}`);
  t.equal(problems.length, 0, `offsets increase and every message is where its delivery report said ${sample(problems)}`);
});
