// Broker-wide bounds on what clients make the broker hold (Hardening finding 8):
// queued.max.request.bytes, max.connections, max.connections.per.ip (with overrides) and
// queued.max.requests (delayed fetches parked for data not counting, as in Kafka's
// purgatory). Before: 20 connections each sending 99 MiB of an unfinished frame added
// 2 GiB that was not released, and nothing bounded connections.

import { connect, type Socket } from 'node:net';
import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { apiVersionsApi, createTopicsApi, fetchApi, findCoordinatorApi, joinGroupApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient, encodeRequest } from '../helpers/raw-client.js';
import { processUsage } from '../helpers/process-usage.js';

const MiB = 1024 * 1024;

function openSocket(t: { teardown(fn: () => void): void }, port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    t.teardown(() => socket.destroy());
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

t.test('queued.max.request.bytes: 20 connections each sending 99 MiB of an unfinished frame', async (t) => {
  const broker = await BrokerProcess.start(t); // socket.request.max.bytes 100 MiB, queued.max.request.bytes 256 MiB
  const baseline = processUsage(broker.pid!).rssBytes;
  const frameBytes = 99 * MiB;
  // One shared buffer: a size prefix announcing 100 MiB, then 99 MiB of a Metadata request that never ends.
  const unfinished = Buffer.alloc(4 + frameBytes);
  unfinished.writeInt32BE(100 * MiB - 8, 0);
  unfinished.writeInt16BE(3, 4);
  const sockets = await Promise.all(Array.from({ length: 20 }, () => openSocket(t, broker.port)));
  for (const socket of sockets) socket.write(unfinished);
  // The broker admits what fits the bound (two such frames) and stops reading the others: wait for the two.
  const deadline = Date.now() + 60_000;
  let rssMax = baseline;
  while (sockets.filter((socket) => socket.writableLength === 0).length < 2 && Date.now() < deadline) {
    rssMax = Math.max(rssMax, processUsage(broker.pid!).rssBytes);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const drained = sockets.filter((socket) => socket.writableLength === 0).length;
  const heldBack = sockets.filter((socket) => socket.writableLength > 90 * MiB).length;
  rssMax = Math.max(rssMax, processUsage(broker.pid!).rssBytes);
  t.ok(drained >= 2, `${drained} frames were read`);
  t.ok(heldBack >= 17, `${heldBack} of 20 connections are held back unread (the broker stopped reading them)`);
  const growth = rssMax - baseline;
  t.ok(growth <= 256 * MiB + 64 * MiB, `resident memory grew by ${(growth / MiB).toFixed(0)} MiB (bound: queued.max.request.bytes 256 MiB and slack)`);
  for (const socket of sockets) socket.destroy();
  // Their reservations are released: a request as large as the largest allowed is read and answered.
  const client = await RawClient.connect(t, broker.port);
  await client.request(createTopicsApi, 5, { topics: [{ name: 'large', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });
  const big = encodeRecordBatch({ records: [{ value: Buffer.alloc(99 * MiB) }] });
  const response = await client.request(produceApi, 9, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'large', partitionData: [{ index: 0, records: big }] }] }, { timeoutMs: 60_000 });
  t.equal(response.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.MESSAGE_TOO_LARGE, 'a 99 MiB request is read and answered (MESSAGE_TOO_LARGE) once the others are gone');
});

/** Sends ApiVersions v0 on a raw socket: true when answered, false when the broker closes it instead. */
function served(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) {
      resolve(false);
      return;
    }
    const onData = (): void => {
      socket.off('end', onClosed);
      socket.off('close', onClosed);
      resolve(true);
    };
    const onClosed = (): void => {
      socket.off('data', onData);
      resolve(false);
    };
    socket.once('data', onData);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
    socket.write(encodeRequest(apiVersionsApi, 0, {}, { correlationId: 1 }));
  });
}

async function openMany(t: { teardown(fn: () => void): void }, port: number, addresses: readonly string[]): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (const address of addresses) sockets.push(await openSocket(t, port, address));
  return sockets;
}

t.test('max.connections and max.connections.per.ip (with overrides) close connections over the quota', async (t) => {
  const broker = await BrokerProcess.start(t, {
    overrides: { 'max.connections': 20, 'max.connections.per.ip': 5, 'max.connections.per.ip.overrides': '127.0.0.2:8' },
  });
  const fromFirst = await openMany(t, broker.port, Array(7).fill('127.0.0.1'));
  t.same(await Promise.all(fromFirst.map(served)), [true, true, true, true, true, false, false], '127.0.0.1: five served, the sixth and seventh closed');
  const fromSecond = await openMany(t, broker.port, Array(9).fill('127.0.0.2'));
  t.same(await Promise.all(fromSecond.map(served)), [...Array(8).fill(true), false], '127.0.0.2 (override 8): eight served, the ninth closed');
  const others = await openMany(t, broker.port, Array.from({ length: 8 }, (_unused, index) => `127.0.0.${3 + index}`));
  t.same(await Promise.all(others.map(served)), [...Array(7).fill(true), false], 'over all addresses, the 21st connection is closed (max.connections 20)');
  t.ok(await broker.waitForLog(/refusing a connection from .*max\.connections\.per\.ip \(5\) reached/), 'refusals are logged');
  t.ok(await broker.waitForLog(/refusing a connection from .*max\.connections \(20\) reached/), 'the broker-wide refusal too');
  t.same(await Promise.all(fromFirst.slice(0, 5).map(served)), Array(5).fill(true), 'the five connections admitted from 127.0.0.1 are still served after the refusals');
  for (const socket of fromFirst.slice(0, 5)) socket.destroy();
  // The broker sees the closes a moment later: until then a new connection may still be refused.
  let admitted = false;
  for (let attempt = 0; attempt < 50 && !admitted; attempt++) {
    admitted = await served(await openSocket(t, broker.port, '127.0.0.1'));
    if (!admitted) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(admitted, 'closing connections makes room again');
});

t.test('queued.max.requests: requests beyond it wait; delayed fetches parked for data do not count', async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: { 'queued.max.requests': 2, 'group.initial.rebalance.delay.ms': 1500 } });
  const admin = await RawClient.connect(t, broker.port);
  await admin.request(createTopicsApi, 5, { topics: [{ name: 'quiet', numPartitions: 1, replicationFactor: 1 }, { name: 'busy', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });

  // Three fetches wait for data that does not come: parked, they leave room for others.
  const fetchers = await Promise.all([0, 1, 2].map(() => RawClient.connect(t, broker.port)));
  const fetches = fetchers.map((fetcher) =>
    fetcher.request(fetchApi, 11, {
      replicaId: -1, maxWaitMs: 8000, minBytes: 1, maxBytes: MiB, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'quiet', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: MiB, logStartOffset: -1, currentLeaderEpoch: -1 }] }],
    }, { timeoutMs: 20_000 }),
  );
  let fetchesAnswered = 0;
  for (const fetch of fetches) void fetch.then(() => fetchesAnswered++, () => undefined);
  await new Promise((resolve) => setTimeout(resolve, 300)); // let them park
  const producer = await RawClient.connect(t, broker.port);
  const produced = await producer.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'busy', partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: 'x' }] }) }] }] });
  t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE, 'a produce is answered');
  t.equal(fetchesAnswered, 0, 'while the three parked fetches (more than queued.max.requests) still wait');

  // Two joins that wait for the rebalance delay fill queued.max.requests: a third request waits for one to finish.
  for (const group of ['slow-0', 'slow-1']) {
    for (let attempt = 0; ; attempt++) {
      const found = await admin.request(findCoordinatorApi, 1, { key: group, keyType: 0 });
      if (found.errorCode === ErrorCode.NONE) break;
      t.ok(attempt < 100, `the coordinator of ${group} becomes available`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const joiners = await Promise.all([0, 1].map(() => RawClient.connect(t, broker.port)));
  const started = Date.now();
  const joins = joiners.map((joiner, index) =>
    joiner.request(joinGroupApi, 2, {
      groupId: `slow-${index}`, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    }, { timeoutMs: 20_000 }),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  const versions = await producer.request(apiVersionsApi, 3, { clientSoftwareName: 'waiting', clientSoftwareVersion: '1' }, { timeoutMs: 20_000 });
  const waitedMs = Date.now() - started;
  t.equal(versions.errorCode, ErrorCode.NONE);
  t.ok(waitedMs >= 1000, `the third request was answered only once a join finished (${waitedMs} ms; the joins wait 1,500 ms)`);
  for (const join of await Promise.all(joins)) t.equal(join.errorCode, ErrorCode.NONE, 'the joins complete');
  await Promise.all(fetches);
});
