// kill -9 in the middle of a stream of acks=1 produces from confluent-kafka (librdkafka
// 2.0.2, enable.idempotence=false): after the broker restarts and recovers its logs,
// every record whose successful delivery report the producer printed is fetched back
// intact at the partition and offset the report named.
//
// Order of events: the producer streams and prints every delivery report (batched per
// poll, flushed line by line); once 20,000 are reported, the broker is SIGKILLed,
// then the producer too (so it cannot deliver anything to the restarted broker), then the
// broker starts again on the same data directory and a consumer reads everything.
//
// The python scripts (test/compat/python/) only print JSON lines; the checks are here.

import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { type Line, jsonLines, parseLine, sample } from '../helpers/json-lines.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';

const TOPIC = 'crash';
const PARTITIONS = 3;
const KILL_AFTER = 20_000;
const VALUE_SIZE = 200;

/** Mirrors stream_value() in test/compat/python/spate_compat.py. */
function streamValue(index: number, size: number): string {
  const head = `m-${index}`;
  return size <= head.length ? head : `${head}|${'.'.repeat(size - head.length - 1)}`;
}

type Report = [partition: number, offset: number, index: number];

function deliveries(lines: readonly Line[]): Report[] {
  return lines.filter((line) => line.type === 'delivered').flatMap((line) => line.records as Report[]);
}

t.test('every delivery reported before a kill -9 is fetched back intact after recovery', async (t) => {
  // Small segments, so that recovery has several segments per partition to go through.
  const broker = await BrokerProcess.start(t, { overrides: { 'log.segment.bytes': 256 * 1024 } });

  const created = await run(PYTHON, [pythonScript('create_topic.py'), broker.bootstrap, TOPIC, String(PARTITIONS), '1'], { timeoutMs: 60_000 });
  const creation = jsonLines(created.stdout.toString()).find((line) => line.type === 'created');
  t.equal(creation?.error, null, 'the AdminClient creates the topic', { stderr: created.stderr });

  // An endless stream (it is killed, it never finishes), held back only by a small
  // librdkafka queue: the producer always has messages waiting and in flight.
  const producer = ClientProcess.spawn(t, PYTHON, [
    '-u',
    pythonScript('produce_stream.py'),
    broker.bootstrap,
    TOPIC,
    '100000000',
    '--acks=1',
    '--chunk=1000',
    '--pause-ms=0',
    '--queue-max=10000',
    `--value-size=${VALUE_SIZE}`,
    '--report-deliveries',
    '--message-timeout-ms=120000',
  ]);
  let reportedSoFar = 0;
  let linesScanned = 0;
  await producer.waitForLine(() => {
    for (; linesScanned < producer.lines.length; linesScanned++) {
      const line = parseLine(producer.lines[linesScanned]!);
      if (line.type === 'delivered') reportedSoFar += line.records.length;
    }
    return reportedSoFar >= KILL_AFTER;
  }, 60_000);

  // Everything the producer printed up to here was printed before the kill.
  const linesBeforeKill = producer.lines.length;
  await broker.kill();
  producer.child.kill('SIGKILL');
  await producer.exited;
  t.comment(`producer printed ${linesBeforeKill} lines before the kill, ${producer.lines.length - linesBeforeKill} after`);

  const before = producer.lines.slice(0, linesBeforeKill).map(parseLine);
  const after = producer.lines.slice(linesBeforeKill).map(parseLine);
  const reported = deliveries(before);
  // Reports that were in the pipe when the broker died: acked by the dead broker too
  // (the producer was killed before the broker came back), so they must survive as well.
  const reportedLate = deliveries(after);
  t.ok(reported.length >= KILL_AFTER, `at least ${KILL_AFTER} deliveries reported before the kill (${reported.length})`);
  // The last delivery line before the kill carries the totals at that moment.
  const last = before.filter((line) => line.type === 'delivered').at(-1);
  t.ok(
    last !== undefined && last.produced > last.delivered,
    `the stream was still going when the broker was killed (produced ${last?.produced}, delivered ${last?.delivered})`,
  );
  const earlyFailures = before.filter((line) => line.type === 'failed').flatMap((line) => line.records as unknown[]);
  t.equal(earlyFailures.length, 0, `no delivery failed before the kill ${sample(earlyFailures)}`);

  // --- restart and recovery
  await broker.restart();
  const secondRun = broker.log.slice(broker.log.lastIndexOf('starting broker'));
  t.match(secondRun, /unclean shutdown/, 'the restarted broker recovers from an unclean shutdown', { log: secondRun });
  t.comment(secondRun.split('\n').filter((line) => /recovered|opened/.test(line)).join('\n'));

  // --- read everything back
  const consumed = await run(PYTHON, [pythonScript('consume_all.py'), broker.bootstrap, TOPIC, String(PARTITIONS)], { timeoutMs: 120_000 });
  t.equal(consumed.code, 0, 'consume_all.py exits 0', { stderr: consumed.stderr });
  const consumerLines = jsonLines(consumed.stdout.toString());
  const consumerErrors = consumerLines.filter((line) => line.type === 'error');
  t.equal(consumerErrors.length, 0, `no consumer errors ${sample(consumerErrors)}`);
  t.equal(consumerLines.find((line) => line.type === 'done')?.complete, true, 'the consumer reached every high watermark');
  const watermarks = consumerLines.find((line) => line.type === 'watermarks')?.partitions as [number, number, number][] | undefined;
  t.comment(`watermarks after recovery: ${JSON.stringify(watermarks)}`);

  const records = consumerLines.filter((line) => line.type === 'records').flatMap((line) => line.records as [number, number, string | null, string][]);
  const valueAt = new Map<string, string>();
  const lastOffset = [-1, -1, -1];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [partition, offset, , value] of records) {
    if (!(offset > lastOffset[partition]!)) problems.push(`partition ${partition}: offset ${offset} after ${lastOffset[partition]}`);
    lastOffset[partition] = offset;
    valueAt.set(`${partition}/${offset}`, value);
    const match = /^m-(\d+)\|/.exec(value);
    if (match === null || value !== streamValue(Number(match[1]), VALUE_SIZE)) {
      problems.push(`${partition}/${offset}: damaged value ${JSON.stringify(value.slice(0, 60))}… (${value.length} chars)`);
    } else if (seen.has(match[1]!)) {
      problems.push(`${partition}/${offset}: m-${match[1]} stored twice`);
    }
    if (match !== null) seen.add(match[1]!);
  }
  t.equal(problems.length, 0, `offsets increase, every stored value is intact and stored once ${sample(problems)}`);

  function check(reports: readonly Report[]): string[] {
    const wrong: string[] = [];
    for (const [partition, offset, index] of reports) {
      const value = valueAt.get(`${partition}/${offset}`);
      if (value !== streamValue(index, VALUE_SIZE)) {
        wrong.push(`m-${index} reported at ${partition}/${offset}, found ${value === undefined ? 'nothing' : JSON.stringify(value.slice(0, 30))}`);
      }
    }
    return wrong;
  }
  const lost = check(reported);
  t.equal(lost.length, 0, `all ${reported.length} deliveries reported before the kill are at their offsets, intact ${sample(lost)}`);
  const lostLate = check(reportedLate);
  t.equal(lostLate.length, 0, `the ${reportedLate.length} reports that arrived after the kill are at their offsets too ${sample(lostLate)}`);

  for (let partition = 0; partition < PARTITIONS; partition++) {
    const maxReported = Math.max(-1, ...[...reported, ...reportedLate].filter(([p]) => p === partition).map(([, offset]) => offset));
    const high = watermarks?.find(([p]) => p === partition)?.[2] ?? -1;
    t.ok(high > maxReported, `partition ${partition}: high watermark ${high} is past the last reported offset ${maxReported}`);
  }
});
