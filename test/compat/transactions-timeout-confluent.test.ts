// A producer killed inside its transaction (issue 13's acceptance): confluent-kafka
// (librdkafka) opens a transaction, writes a record and is killed with SIGKILL. Until the
// transaction's timeout, read_committed readers wait at the last stable offset (the record's
// offset), while read_uncommitted ones see the record; then the coordinator aborts the
// transaction, fencing its producer, and read_committed readers proceed past it — without
// the aborted record, and with what was committed after it.

import t from 'tap';
import { listOffsetsApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines, parseLine } from '../helpers/json-lines.js';
import { RawClient } from '../helpers/raw-client.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';

const TOPIC = 'dead-producer';
const TIMEOUT_MS = 3000;
const READ_COMMITTED = 1;
const READ_UNCOMMITTED = 0;

t.test('a transaction whose producer was killed holds read_committed readers until its timeout, then is aborted', async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: { 'transaction.state.log.num.partitions': 2, 'transaction.abort.timed.out.transaction.cleanup.interval.ms': 200 } });
  const created = await run(PYTHON, [pythonScript('create_topic.py'), broker.bootstrap, TOPIC, '1', '1'], { timeoutMs: 60_000 });
  t.equal(jsonLines(created.stdout.toString()).find((line) => line.type === 'created')?.error, null, { stderr: created.stderr });
  const producer = ClientProcess.spawn(t, PYTHON, ['-u', pythonScript('txn_hang.py'), broker.bootstrap, TOPIC, 'doomed-producer', String(TIMEOUT_MS)]);
  const open = parseLine(await producer.waitForLine((line) => parseLine(line).type === 'open', 60_000));
  const killedAt = Date.now();
  producer.child.kill('SIGKILL');
  await producer.exited;

  const raw = await RawClient.connect(t, broker.port);
  const latest = async (isolationLevel: number): Promise<number> =>
    (await raw.request(listOffsetsApi, 5, { replicaId: -1, isolationLevel, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }] })).topics[0]!.partitions[0]!.offset;
  t.equal(await latest(READ_COMMITTED), open.offset, 'read_committed readers wait at the open transaction\'s first offset');
  t.equal(await latest(READ_UNCOMMITTED), (open.offset as number) + 1);
  const before = await run(PYTHON, [pythonScript('consume_all.py'), broker.bootstrap, TOPIC, '1', '1'], { timeoutMs: 60_000 });
  t.same(jsonLines(before.stdout.toString()).filter((line) => line.type === 'records').flatMap((line) => line.records as unknown[]), [], 'a read_committed librdkafka consumer gets nothing yet');

  const deadline = Date.now() + 20_000;
  while ((await latest(READ_COMMITTED)) === open.offset && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  t.ok(Date.now() - killedAt >= TIMEOUT_MS - 500, `not aborted before its timeout (${Date.now() - killedAt} ms after the kill)`);
  t.equal(await latest(READ_COMMITTED), await latest(READ_UNCOMMITTED), 'then the coordinator aborted it: the LSO is past its marker');
  t.match(broker.log, /aborting the transaction of transactional id doomed-producer/);

  const after = await run(PYTHON, [pythonScript('consume_all.py'), broker.bootstrap, TOPIC, '1', '3'], { timeoutMs: 60_000 });
  const values = jsonLines(after.stdout.toString()).filter((line) => line.type === 'records').flatMap((line) => (line.records as [number, number, string | null, string][]).map((record) => record[3]));
  t.same(values, [], 'and the aborted record is never delivered to read_committed readers');
});
