// Connection creation rates enforced against broker processes with real sockets (KIP-612).
// An IP entity's connection_creation_rate, set through AlterClientQuotas: connections from that
// address beyond the rate are refused — closed without an answer, after a delay of at most a quota
// window as Kafka delays the close — and are not counted, so the accepted ones keep to the rate;
// another address (127.0.0.2, also loopback) is not limited. The broker-wide
// max.connection.creation.rate: every connection is served, but they are taken up no faster
// than the rate (the ones behind wait, unread, as in Kafka's listen backlog).
//
// The brokers run with quota.window.num=2 (windows of 1 s): the rate is counted over at least one
// window, so a new address may first make one window's worth of connections at once.

import { connect, type Socket } from 'node:net';
import t from 'tap';
import { errorName } from '../../src/protocol/errors.js';
import { alterClientQuotasApi, apiVersionsApi, describeClientQuotasApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const RATE = 5;
const WINDOWS = { 'quota.window.num': 2, 'quota.window.size.seconds': 1 };

interface Attempt {
  readonly answered: boolean;
  /** From the connect to the answer, or to the close of a refused connection. */
  readonly ms: number;
}

/** Connects from `localAddress`, asks ApiVersions: answered, or closed without an answer. */
async function attempt(port: number, localAddress: string, timeoutMs = 5_000): Promise<Attempt> {
  const started = Date.now();
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.once('error', reject);
  });
  const client = RawClient.over(socket);
  try {
    client.send(apiVersionsApi, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    await client.nextResponse(timeoutMs);
    return { answered: true, ms: Date.now() - started };
  } catch {
    return { answered: false, ms: Date.now() - started };
  } finally {
    client.destroy();
  }
}

t.test("an IP's connection_creation_rate: connections over it are refused after a delay, another address is not limited", async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: WINDOWS });
  const admin = await RawClient.connect(t, broker.port);
  const altered = await admin.request(alterClientQuotasApi, 1, {
    entries: [{ entity: [{ entityType: 'ip', entityName: '127.0.0.1' }], ops: [{ key: 'connection_creation_rate', value: RATE, remove: false }] }],
    validateOnly: false,
  });
  t.same(altered.entries.map((entry) => errorName(entry.errorCode)), ['NONE'], `connection_creation_rate=${RATE} for ip 127.0.0.1`);
  const described = await admin.request(describeClientQuotasApi, 1, { components: [{ entityType: 'ip', matchType: 2, match: null }], strict: false });
  t.same(described.entries?.map((entry) => [entry.entity, entry.values]), [[[{ entityType: 'ip', entityName: '127.0.0.1' }], [{ key: 'connection_creation_rate', value: RATE }]]], 'described');

  const started = Date.now();
  const limited: Attempt[] = [];
  while (Date.now() - started < 3_000) limited.push(await attempt(broker.port, '127.0.0.1'));
  const elapsedS = (Date.now() - started) / 1000;
  const answered = limited.filter((a) => a.answered);
  const refused = limited.filter((a) => !a.answered);
  const refusedDelays = refused.map((a) => a.ms).sort((a, b) => a - b);
  t.comment(`127.0.0.1: ${limited.length} attempts in ${elapsedS.toFixed(1)} s, ${answered.length} answered (${(answered.length / elapsedS).toFixed(1)}/s), ${refused.length} refused, closed after ${refusedDelays[0]}–${refusedDelays.at(-1)} ms`);
  t.ok(refused.length > 0, 'connections over the rate are refused');
  // At most a window's burst, then the rate (a connection is taken back from the rate when refused).
  t.ok(answered.length <= RATE * (elapsedS + 1) + 2, `${answered.length} answered: at most ${RATE}/s over ${elapsedS.toFixed(1)} s plus one window`);
  t.ok(answered.length >= RATE, `and the rate's worth is served (${answered.length} ≥ ${RATE})`);
  t.ok(refusedDelays[0]! >= 20, `a refused connection is closed after its throttle time, not at once (the shortest after ${refusedDelays[0]} ms)`);
  t.ok(refusedDelays.at(-1)! <= 1_500, 'and within a quota window (Kafka bounds it so)');

  const other: Attempt[] = [];
  for (let i = 0; i < 20; i++) other.push(await attempt(broker.port, '127.0.0.2'));
  t.equal(other.filter((a) => a.answered).length, 20, 'another address, without a quota, is not limited (20 connections at once)');

  const removed = await admin.request(alterClientQuotasApi, 1, {
    entries: [{ entity: [{ entityType: 'ip', entityName: '127.0.0.1' }], ops: [{ key: 'connection_creation_rate', value: 0, remove: true }] }],
    validateOnly: false,
  });
  t.same(removed.entries.map((entry) => errorName(entry.errorCode)), ['NONE'], 'the quota removed');
  const after: Attempt[] = [];
  for (let i = 0; i < 20; i++) after.push(await attempt(broker.port, '127.0.0.1'));
  t.equal(after.filter((a) => a.answered).length, 20, 'then 127.0.0.1 is not limited either');
});

t.test('the default IP entity applies to every address without its own', async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: WINDOWS });
  const admin = await RawClient.connect(t, broker.port);
  const altered = await admin.request(alterClientQuotasApi, 1, {
    entries: [
      { entity: [{ entityType: 'ip', entityName: null }], ops: [{ key: 'connection_creation_rate', value: RATE, remove: false }] },
      { entity: [{ entityType: 'ip', entityName: '127.0.0.1' }], ops: [{ key: 'connection_creation_rate', value: 1000, remove: false }] },
    ],
    validateOnly: false,
  });
  t.same(altered.entries.map((entry) => errorName(entry.errorCode)), ['NONE', 'NONE'], `connection_creation_rate=${RATE} for the default IP, 1000 for 127.0.0.1`);
  const results: Attempt[] = [];
  for (let i = 0; i < 30; i++) results.push(await attempt(broker.port, '127.0.0.3'));
  const answered = results.filter((a) => a.answered).length;
  t.comment(`127.0.0.3: ${answered} of 30 answered`);
  t.ok(answered < 30 && answered >= RATE, `127.0.0.3 is held by the default IP's rate (${answered} of 30 answered)`);
  const own: Attempt[] = [];
  for (let i = 0; i < 30; i++) own.push(await attempt(broker.port, '127.0.0.1'));
  t.equal(own.filter((a) => a.answered).length, 30, "127.0.0.1 has its own, higher rate");
});

t.test('max.connection.creation.rate: every connection is served, no faster than the broker-wide rate', async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: { ...WINDOWS, 'max.connection.creation.rate': RATE } });
  const count = 20;
  const started = Date.now();
  // All at once, each from its own socket.
  const results = await Promise.all(Array.from({ length: count }, () => attempt(broker.port, '127.0.0.1', 20_000)));
  const elapsedS = (Date.now() - started) / 1000;
  t.comment(`${count} connections at once: the last answered after ${elapsedS.toFixed(2)} s (${(count / elapsedS).toFixed(1)}/s)`);
  t.equal(results.filter((a) => a.answered).length, count, 'every connection answered: the rate delays, it does not refuse');
  // Up to two windows' worth may go at once (the rate is counted over at least one window, 1–2 s); the rest at most at the rate.
  const leastS = (count - 2 * RATE) / RATE;
  t.ok(elapsedS >= leastS * 0.8, `the connections took ${elapsedS.toFixed(2)} s: no less than the ${leastS} s the rate of ${RATE}/s allows after two windows' burst (less 20 %)`);
});

t.test('connection_creation_rate is refused with user or client id, and for a name that is not an address', async (t) => {
  const broker = await BrokerProcess.start(t);
  const admin = await RawClient.connect(t, broker.port);
  const altered = await admin.request(alterClientQuotasApi, 1, {
    entries: [
      { entity: [{ entityType: 'ip', entityName: 'example.invalid' }], ops: [{ key: 'connection_creation_rate', value: 1, remove: false }] },
      { entity: [{ entityType: 'ip', entityName: '10.0.0.1' }, { entityType: 'client-id', entityName: 'c' }], ops: [{ key: 'connection_creation_rate', value: 1, remove: false }] },
      { entity: [{ entityType: 'client-id', entityName: 'c' }], ops: [{ key: 'connection_creation_rate', value: 1, remove: false }] },
    ],
    validateOnly: false,
  });
  t.same(
    altered.entries.map((entry) => [errorName(entry.errorCode), entry.errorMessage]),
    [
      ['INVALID_REQUEST', 'example.invalid is not a valid IP or resolvable host.'],
      ['INVALID_REQUEST', 'Invalid quota entity combination, IP entity should not be used with user/client ID entity.'],
      ['INVALID_REQUEST', 'Invalid configuration key connection_creation_rate'],
    ],
  );
});
