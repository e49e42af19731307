// kafka-python (Debian's python3-kafka, 2.0.2) on a SASL_PLAINTEXT listener. kafka-python 2.0.x
// sends SaslHandshake v0 and then the exchange as raw size-prefixed tokens, with no
// SaslAuthenticate around them (kafka/conn.py, _try_authenticate_plain and _scram); it learns of
// a failed login only from the closed connection, as from Kafka. With PLAIN, SCRAM-SHA-256 and
// SCRAM-SHA-512 it produces with acks=all and reads the records back in a consumer group; a wrong
// password and an unknown user end in NoBrokersAvailable, the broker's log names the real cause,
// and the broker serves others on.
//
// Which api_version: left unset, kafka-python logs in and then probes with ApiVersions v0,
// taking the newest broker version whose marker request the answer covers — 2.4.0 or later
// (Produce v8; 2.5.0's marker is DescribeAcls v2, served since the ACL APIs) — and speaks the
// Produce and Fetch versions of that release. Pinned, it must be (0, 11, 0) or later, written with three parts: below 0.11
// kafka-python sends Produce v2 and Fetch v3 with message format v0/v1, which Spate does not
// serve (record batches v2 only: Produce 3+, Fetch 4+) and closes the connection for; and
// (0, 11) sorts below (0, 11, 0) in Python, so with it the producer works but the consumer
// still sends Fetch v3. The SCRAM cases pin (2, 4, 0), a version the probe's answer covers, which spares the
// probe's extra connection and its 2-second budget.

import t, { type Test } from 'tap';
import { jsonLines, type Line } from '../helpers/json-lines.js';
import { RawClient } from '../helpers/raw-client.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';
import { login, setScramCredential, type MechanismName, startSaslBroker } from '../helpers/sasl-client.js';

const { broker, plainPort, saslPort } = await startSaslBroker(t, { 'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 });

t.test('alice gets SCRAM-SHA-256 and SCRAM-SHA-512 credentials (PLAIN is checked against them)', async (t) => {
  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    t.equal(await setScramCredential(t, plainPort, 'alice', mechanism, 'alice-secret'), 'NONE', `alice has a ${mechanism} credential`);
  }
});

interface Outcome {
  readonly lines: Line[];
  readonly stderr: string;
}

async function kafkaPython(topic: string, count: number, mechanism: MechanismName, user: string, password: string, apiVersion: number[] | null): Promise<Outcome> {
  const config = {
    bootstrap_servers: `127.0.0.1:${saslPort}`,
    security_protocol: 'SASL_PLAINTEXT',
    sasl_mechanism: mechanism,
    sasl_plain_username: user,
    sasl_plain_password: password,
    api_version: apiVersion,
  };
  const result = await run(PYTHON, [pythonScript('kafka_python_sasl.py'), topic, String(count), JSON.stringify(config)], { timeoutMs: 90_000 });
  if (result.code !== 0) throw new Error(`kafka_python_sasl.py exited ${result.code}:\n${result.stderr}`);
  return { lines: jsonLines(result.stdout), stderr: result.stderr };
}

const values = (count: number): string[] => Array.from({ length: count }, (_, index) => `m-${index}`);

/** The broker still logs in a client and serves it, and has not exited. */
async function stillServing(t: Test): Promise<void> {
  const client = await RawClient.connect(t, saslPort);
  t.same((await login(client, 'SCRAM-SHA-256', 'alice', 'alice-secret')).errors, ['NONE', 'NONE', 'NONE'], 'a good login still succeeds');
  client.destroy();
  t.ok(broker.running, 'the broker is running');
}

t.test('PLAIN with api_version probed: kafka-python finds 2.4.0 or later, produces and consumes', async (t) => {
  const { lines, stderr } = await kafkaPython('kafka-python-plain', 5, 'PLAIN', 'alice', 'alice-secret', null);
  const produced = lines[0] as { type: string; offsets: number[]; api_version: number[] } | undefined;
  t.same(produced && { type: produced.type, offsets: produced.offsets }, { type: 'produced', offsets: [0, 1, 2, 3, 4] }, `five records acknowledged (${stderr.slice(-500)})`);
  const found = produced?.api_version ?? [];
  t.ok(found.length === 3 && (found[0]! > 2 || (found[0] === 2 && found[1]! >= 4)), `the probe found ${found.join('.')}, 2.4.0 or later`);
  t.same(lines[1], { type: 'consumed', values: values(5) }, 'and read back in a consumer group');
  t.match(stderr, /Authenticated as alice via PLAIN/, 'kafka-python logged in with PLAIN');
});

t.test('SCRAM-SHA-256 and SCRAM-SHA-512 with api_version pinned to (2, 4, 0)', async (t) => {
  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    const topic = `kafka-python-${mechanism.toLowerCase()}`;
    const { lines, stderr } = await kafkaPython(topic, 5, mechanism, 'alice', 'alice-secret', [2, 4, 0]);
    t.same(lines[0], { type: 'produced', offsets: [0, 1, 2, 3, 4], api_version: [2, 4, 0] }, `${mechanism}: five records acknowledged (${stderr.slice(-500)})`);
    t.same(lines[1], { type: 'consumed', values: values(5) }, `${mechanism}: read back in a consumer group`);
    // kafka-python checks the server-final signature (scram.py) and raises when it is wrong.
    t.match(stderr, new RegExp(`Authenticated as alice via ${mechanism}`), `${mechanism}: the server's signature verified`);
  }
});

t.test('a wrong password or an unknown user fails cleanly, and the broker serves on', async (t) => {
  const cases = [
    ['PLAIN', 'alice', 'guessed-pw'],
    ['PLAIN', 'mallory', 'x'],
    ['SCRAM-SHA-512', 'alice', 'guessed-pw'],
    ['SCRAM-SHA-256', 'mallory', 'x'],
  ] as const;
  for (const [mechanism, user, password] of cases) {
    const { lines, stderr } = await kafkaPython('kafka-python-refused', 1, mechanism, user, password, null);
    t.same(lines, [{ type: 'error', name: 'NoBrokersAvailable', message: 'NoBrokersAvailable' }], `${mechanism} ${user}/${password}: NoBrokersAvailable`);
    // The raw-token framing has no error answer: the broker closes the connection, as Kafka does.
    t.match(stderr, /Connection reset during recv/, `${mechanism} ${user}/${password}: kafka-python saw the connection closed`);
  }
  // The broker logs one failed login per interval, whatever the number: the first one's cause is there.
  t.ok(await broker.waitForLog(/on listener SASL_PLAINTEXT failed: PLAIN login failed: wrong password/), 'the broker logged the cause of the first failure');
  t.notMatch(broker.log, /alice-secret|guessed-pw/, 'no password reached the log');
  await stillServing(t);
});
