// Consumer groups with confluent-kafka-python (librdkafka 2.0.2): three consumers in one
// group on a 6-partition topic, each a child process (test/compat/python/group_consumer.py)
// with subscribe(), enable.auto.commit=false and a synchronous commit after each batch it
// has processed (printed). Two consumers split the partitions 3 + 3; a third joins and
// they are rebalanced 2 + 2 + 2; one is killed with SIGKILL, and after its session timeout
// (6 s) the coordinator expires it and the two survivors get 3 + 3. 60,000 unique values
// are produced: 20,000 before the consumers start, 20,000 while the third joins and
// 20,000 while the killed member is expired. Every value is processed at least once (the
// union over the consumers is the produced set: nothing is lost, since a commit only ever
// follows processing), and at the end the group's committed offsets are the partitions'
// end offsets. Duplicates (re-processing after rebalances and the kill) are reported, not
// asserted.
//
// The python scripts only print JSON lines; the checks are here.

import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines, parseLine, sample, within, type Line } from '../helpers/json-lines.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';

const TOPIC = 'group-churn';
const GROUP = 'confluent-churn';
const PARTITIONS = 6;
const PER_PHASE = 20_000;
const MESSAGES = 3 * PER_PHASE;
const SESSION_TIMEOUT_MS = 6000;
const ALL_PARTITIONS = [0, 1, 2, 3, 4, 5];

/** A consumer's current assignment from its assigned/revoked/lost lines (eager protocol: revoke drops everything). */
function assignment(consumer: ClientProcess): number[] {
  let current: number[] = [];
  for (const raw of consumer.lines) {
    const line = parseLine(raw);
    if (line.type === 'assigned') current = line.partitions as number[];
    else if (line.type === 'revoked' || line.type === 'lost') current = [];
  }
  return current;
}

function linesOf(consumer: ClientProcess, type: string): Line[] {
  return consumer.lines.map(parseLine).filter((line) => line.type === type);
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every consumer has `size` partitions, none shared, all six covered. */
function splitEvenly(consumers: readonly ClientProcess[], size: number): boolean {
  const sets = consumers.map(assignment);
  const all = sets.flat().sort((a, b) => a - b);
  return sets.every((set) => set.length === size) && JSON.stringify(all) === JSON.stringify(ALL_PARTITIONS);
}

t.test('three confluent-kafka consumers share a topic through joins, a rebalance and a SIGKILL, at least once', async (t) => {
  const started = Date.now();
  const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0 } });

  const created = await run(PYTHON, [pythonScript('create_topic.py'), broker.bootstrap, TOPIC, String(PARTITIONS), '1'], { timeoutMs: 60_000 });
  t.equal(jsonLines(created.stdout).find((line) => line.type === 'created')?.error, null, 'the topic is created', { stderr: created.stderr });

  const producers: ClientProcess[] = [];
  const produce = (phase: number, chunk: number, pauseMs: number): ClientProcess => {
    const producer = ClientProcess.spawn(t, PYTHON, [
      '-u',
      pythonScript('group_produce.py'),
      broker.bootstrap,
      TOPIC,
      String(phase * PER_PHASE),
      String(PER_PHASE),
      `--chunk=${chunk}`,
      `--pause-ms=${pauseMs}`,
    ]);
    producers.push(producer);
    return producer;
  };
  const consumers = new Map<string, ClientProcess>();
  const consume = (name: string): ClientProcess => {
    const consumer = ClientProcess.spawn(t, PYTHON, [
      '-u',
      pythonScript('group_consumer.py'),
      broker.bootstrap,
      TOPIC,
      GROUP,
      name,
      `--session-timeout-ms=${SESSION_TIMEOUT_MS}`,
      '--heartbeat-interval-ms=1000',
      '--commit=sync',
    ]);
    consumers.set(name, consumer);
    return consumer;
  };
  const describe = (): string =>
    JSON.stringify([...consumers].map(([name, consumer]) => [name, assignment(consumer), consumer.stderr.slice(-300)]));

  // --- 20,000 before any consumer
  await within(produce(0, PER_PHASE, 0).exited, 60_000, 'the first producer');

  // --- two consumers: 3 + 3
  const c1 = consume('c1');
  const c2 = consume('c2');
  await waitUntil(() => splitEvenly([c1, c2], 3), 45_000, 'c1 and c2 hold 3 partitions each', describe);
  t.pass(`c1 and c2 split the partitions: ${JSON.stringify([assignment(c1), assignment(c2)])}`);

  // --- a third joins while messages are produced: 2 + 2 + 2
  const producerB = produce(1, 1000, 250);
  const joinedAt = Date.now() / 1000;
  const c3 = consume('c3');
  await waitUntil(() => splitEvenly([c1, c2, c3], 2), 45_000, 'c1, c2 and c3 hold 2 partitions each', describe);
  t.pass(`after c3 joined: ${JSON.stringify([assignment(c1), assignment(c2), assignment(c3)])}`);
  t.ok(
    [c1, c2].every((consumer) => linesOf(consumer, 'revoked').some((line) => line.t >= joinedAt)),
    'c1 and c2 had their partitions revoked when c3 joined',
  );

  // --- c2 is killed while messages are produced; after its session timeout, 3 + 3
  await waitUntil(() => linesOf(c2, 'committed').some((line) => line.t >= joinedAt), 30_000, 'c2 commits in the new generation', describe);
  const producingC = Date.now() / 1000;
  const producerC = produce(2, 1000, 400);
  // Kill c2 in the middle of its work: once it is processing messages of the third phase.
  await waitUntil(() => linesOf(c2, 'records').some((line) => line.t > producingC), 30_000, 'c2 processing new messages', describe);
  const victimPartitions = assignment(c2);
  const killedAt = Date.now() / 1000;
  c2.child.kill('SIGKILL');
  await c2.exited;
  await waitUntil(() => splitEvenly([c1, c3], 3), 45_000, 'c1 and c3 hold 3 partitions each after c2 was killed', describe);
  t.pass(`after c2 (${JSON.stringify(victimPartitions)}) was killed: ${JSON.stringify([assignment(c1), assignment(c3)])}`);
  const revokedAfterKill = [c1, c3].map((consumer) => linesOf(consumer, 'revoked').find((line) => line.t > killedAt)?.t as number | undefined);
  const firstRevoke = Math.min(...revokedAfterKill.map((time) => time ?? Infinity));
  const expiryDelay = firstRevoke - killedAt;
  t.comment(`the survivors were told to rebalance ${expiryDelay.toFixed(2)} s after the SIGKILL (session timeout ${SESSION_TIMEOUT_MS / 1000} s)`);
  t.ok(
    expiryDelay >= SESSION_TIMEOUT_MS / 1000 - 2 && expiryDelay <= SESSION_TIMEOUT_MS / 1000 + 12,
    `the killed member was expired after about its session timeout, not before (${expiryDelay.toFixed(2)} s)`,
  );
  t.match(broker.log, /member c2-\S+ expired after 6000 ms without a heartbeat/, 'the broker logged the session expiry of c2');

  // The new owners of c2's partitions start where the commits left them: not before the
  // last acknowledged commit (that would be a lost commit), not after the last offset
  // processed (that would skip messages) — c2's own, or its predecessor's when c2 had not
  // got to a partition yet. (commit() lists partitions whose offset did not move since the
  // previous commit as -1001.)
  const lastCommit = new Map<number, number>();
  const lastProcessed = new Map<number, number>();
  for (const consumer of consumers.values()) {
    for (const line of linesOf(consumer, 'committed').filter((each) => consumer === c2 || each.t <= killedAt)) {
      for (const [partition, offset] of line.offsets as [number, number][]) lastCommit.set(partition, Math.max(offset, lastCommit.get(partition) ?? -1));
    }
    for (const line of linesOf(consumer, 'records').filter((each) => consumer === c2 || each.t <= killedAt)) {
      for (const [partition, offset] of line.records as [number, number][]) lastProcessed.set(partition, Math.max(offset, lastProcessed.get(partition) ?? -1));
    }
  }
  await waitUntil(
    () => victimPartitions.every((partition) => [c1, c3].some((consumer) => linesOf(consumer, 'records').some((line) => line.t > killedAt && (line.records as number[][]).some(([p]) => p === partition)))),
    30_000,
    'the survivors consume the partitions of c2',
    describe,
  );
  for (const partition of victimPartitions) {
    const firstAfterKill = [c1, c3]
      .flatMap((consumer) => linesOf(consumer, 'records').filter((line) => line.t > killedAt))
      .flatMap((line) => (line.records as [number, number][]).filter(([p]) => p === partition))[0]?.[1];
    const committed = lastCommit.get(partition) ?? -1;
    const processedUpTo = lastProcessed.get(partition) ?? -1;
    t.ok(
      firstAfterKill !== undefined && firstAfterKill >= committed && firstAfterKill <= processedUpTo + 1,
      `partition ${partition} resumes at ${firstAfterKill}: last committed ${committed}, processed up to ${processedUpTo} before the kill`,
    );
  }

  // --- every producer delivered everything
  for (const producer of producers) {
    const code = await within(producer.exited, 60_000, 'a producer finishing');
    const done = producer.lines.map(parseLine).find((line) => line.type === 'done');
    t.same(
      done && { delivered: done.delivered, failed: done.failed },
      { delivered: PER_PHASE, failed: 0 },
      `producer of m-${done?.start}.. delivered all ${PER_PHASE} (exit ${code}, ${done?.seconds} s) ${JSON.stringify(done?.errors)}`,
      { stderr: producer.stderr.slice(-1000) },
    );
  }
  const lastDeliveryB = producerB.lines.map(parseLine).find((line) => line.type === 'done')?.last_delivery as number;
  const lastDeliveryC = producerC.lines.map(parseLine).find((line) => line.type === 'done')?.last_delivery as number;
  t.ok(lastDeliveryB > joinedAt && lastDeliveryC > killedAt, 'messages were still being produced while c3 joined and after c2 was killed');

  // --- every value processed at least once
  const processed = new Set<number>();
  let total = 0;
  const atOffset = new Map<string, string>();
  const problems: string[] = [];
  const scan = (): void => {
    processed.clear();
    total = 0;
    for (const [name, consumer] of consumers) {
      for (const line of linesOf(consumer, 'records')) {
        for (const [partition, offset, value] of line.records as [number, number, string][]) {
          total++;
          const match = /^m-(\d+)$/.exec(value);
          if (match === null || Number(match[1]) >= MESSAGES) {
            problems.push(`${name} got ${JSON.stringify(value)} at ${partition}/${offset}`);
            continue;
          }
          processed.add(Number(match[1]));
          const where = `${partition}/${offset}`;
          const before = atOffset.get(where);
          if (before !== undefined && before !== value) problems.push(`${where} was ${before}, then ${value} (${name})`);
          atOffset.set(where, value);
        }
      }
    }
  };
  await waitUntil(
    () => {
      scan();
      return processed.size === MESSAGES || problems.length > 0;
    },
    45_000,
    'all messages processed',
    () => `${processed.size} of ${MESSAGES} processed`,
  ).catch(() => undefined);
  scan();
  const missing: number[] = [];
  for (let index = 0; index < MESSAGES && missing.length < 20; index++) if (!processed.has(index)) missing.push(index);
  t.equal(problems.length, 0, `every processed record is a produced value, one value per offset ${sample(problems)}`);
  t.equal(processed.size, MESSAGES, `every one of the ${MESSAGES} values was processed at least once (missing: ${sample(missing.map((i) => `m-${i}`), 10)})`);

  const perConsumer = [...consumers].map(([name, consumer]) => {
    const count = linesOf(consumer, 'records').reduce((sum, line) => sum + (line.records as unknown[]).length, 0);
    return `${name}: ${count} processed, ${linesOf(consumer, 'committed').length} commits, ${linesOf(consumer, 'commit_error').length} failed commits`;
  });
  t.comment(`duplicates: ${total - processed.size} (${total} processed for ${processed.size} distinct values); ${perConsumer.join('; ')}`);
  const commitErrors = [...consumers.values()].flatMap((consumer) => linesOf(consumer, 'commit_error').map((line) => line.error as string));
  if (commitErrors.length > 0) t.comment(`failed commits (expected around rebalances): ${sample([...new Set(commitErrors)], 5)}`);
  const fatal = [...consumers.values()].flatMap((consumer) => linesOf(consumer, 'client_error').filter((line) => line.fatal === true));
  t.equal(fatal.length, 0, `no fatal client error ${sample(fatal)}`);

  // --- the group's committed offsets reach the end offsets
  let offsets: Line | undefined;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const fetched = await run(PYTHON, [pythonScript('group_offsets.py'), broker.bootstrap, GROUP, TOPIC, String(PARTITIONS)], { timeoutMs: 60_000 });
    offsets = jsonLines(fetched.stdout).find((line) => line.type === 'offsets');
    const ends = (offsets?.watermarks as [number, number, number][] | undefined)?.map(([partition, , high]) => [partition, high]);
    if (offsets?.error === null && JSON.stringify(offsets.committed) === JSON.stringify(ends)) break;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  t.equal(offsets?.error, null, 'OffsetFetch succeeds');
  const watermarks = offsets?.watermarks as [number, number, number][];
  t.equal(
    watermarks.reduce((sum, [, , high]) => sum + high, 0),
    MESSAGES,
    `the end offsets add up to ${MESSAGES} ${JSON.stringify(watermarks)}`,
  );
  t.same(offsets?.committed, watermarks.map(([partition, , high]) => [partition, high]), 'the committed offsets are the end offsets');

  // --- the survivors leave cleanly
  for (const consumer of [c1, c3]) {
    consumer.child.kill('SIGTERM');
    t.equal(await within(consumer.exited, 30_000, 'a consumer closing'), 0, 'a survivor closes and exits 0', { stderr: consumer.stderr.slice(-1000) });
    t.ok(linesOf(consumer, 'closed').length === 1, 'it printed closed');
  }
  t.comment(`test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
