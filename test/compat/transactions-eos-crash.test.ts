// Exactly once through two crashes (issue 13's acceptance): confluent-kafka (librdkafka 2.0.2)
// runs a consume-transform-produce loop — read_committed input, each batch's output records
// and consumed offsets committed in one transaction (test/compat/python/txn_loop.py) — over
// 100,000 records while the broker is killed with kill -9 and restarted twice. The output
// topic, read by a read_committed confluent-kafka consumer, then holds every input record's
// result exactly once: none lost, none twice, though transactions were cut off, retried and
// aborted around each crash.
//
// The python scripts only print JSON lines; the checks are here.

import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines, parseLine } from '../helpers/json-lines.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';

const INPUT = 'eos-input';
const OUTPUT = 'eos-output';
const PARTITIONS = 3;
const RECORDS = 100_000;

t.test('a librdkafka consume-transform-produce loop writes each input exactly once through two kill -9s', async (t) => {
  const broker = await BrokerProcess.start(t, {
    overrides: { 'transaction.state.log.num.partitions': 3, 'offsets.topic.num.partitions': 3, 'group.initial.rebalance.delay.ms': 0, 'log.segment.bytes': 1024 * 1024 },
  });
  for (const topic of [INPUT, OUTPUT]) {
    const created = await run(PYTHON, [pythonScript('create_topic.py'), broker.bootstrap, topic, String(PARTITIONS), '1'], { timeoutMs: 60_000 });
    t.equal(jsonLines(created.stdout.toString()).find((line) => line.type === 'created')?.error, null, `${topic} created`, { stderr: created.stderr });
  }
  const produced = await run(PYTHON, [pythonScript('produce_stream.py'), broker.bootstrap, INPUT, String(RECORDS), '--acks=all', '--chunk=10000', '--pause-ms=0'], { timeoutMs: 120_000 });
  const producedDone = jsonLines(produced.stdout.toString()).find((line) => line.type === 'done');
  t.equal(producedDone?.delivered, RECORDS, 'the input is written', { stderr: produced.stderr });

  const loop = ClientProcess.spawn(t, PYTHON, ['-u', pythonScript('txn_loop.py'), broker.bootstrap, INPUT, OUTPUT, 'eos-loop', 'eos-loop-txn', String(PARTITIONS)]);
  const committedAtLeast = (count: number) => (line: string) => {
    const parsed = parseLine(line);
    return parsed.type === 'done' || (parsed.type === 'committed' && (parsed.total as number) >= count);
  };
  for (const crashAt of [RECORDS * 0.3, RECORDS * 0.65]) {
    const seen = parseLine(await loop.waitForLine(committedAtLeast(crashAt), 120_000));
    t.not(seen.type, 'done', `the loop was still running at ${crashAt} records`);
    await broker.kill();
    await broker.restart();
  }
  const done = parseLine(await loop.waitForLine((line) => parseLine(line).type === 'done', 240_000));
  const aborted = loop.lines.map(parseLine).filter((line) => line.type === 'aborted').length;
  t.equal(done.fatal, null, `the loop ended without a fatal error (${aborted} transaction(s) aborted on the way)`, { stderr: loop.stderr.slice(-4000) });
  t.ok((done.total as number) >= RECORDS, `it committed transactions covering every input (${done.total} records processed, re-processing after aborts included)`);

  // Read until nothing new comes for 5 s: a read_committed librdkafka consumer's position stops
  // before a partition's last COMMIT marker, so "reached the high watermark" never becomes true.
  const consumed = await run(PYTHON, [pythonScript('consume_all.py'), broker.bootstrap, OUTPUT, String(PARTITIONS), '5'], { timeoutMs: 180_000 });
  const lines = jsonLines(consumed.stdout.toString());
  t.same(lines.filter((line) => line.type === 'error'), [], 'the read_committed consumer read without errors', { stderr: consumed.stderr });
  const counts = new Map<string, number>();
  for (const line of lines) {
    if (line.type !== 'records') continue;
    for (const record of line.records as [number, number, string | null, string][]) counts.set(record[3], (counts.get(record[3]) ?? 0) + 1);
  }
  const missing: number[] = [];
  for (let index = 0; index < RECORDS; index++) if (!counts.has(`out-m-${index}`)) missing.push(index);
  const duplicated = [...counts].filter(([, count]) => count > 1).map(([value]) => value);
  const stray = [...counts.keys()].filter((value) => !/^out-m-\d+$/.test(value));
  t.same(missing.slice(0, 20), [], `no input is missing from the output (${missing.length} missing)`);
  t.same(duplicated.slice(0, 20), [], `no input is in the output twice (${duplicated.length} duplicated)`);
  t.same(stray.slice(0, 5), [], 'nothing else is in the output');
  t.equal(counts.size, RECORDS);
});
