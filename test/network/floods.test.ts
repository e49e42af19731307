// Floods from many connections leave the broker serving a well-behaved client, within a
// stated memory bound (Hardening findings 7 and 8; acceptance: 5,000 idle connections, 100
// clients pipelining 256 requests without reading, one connection writing 3,000 requests
// at once). The requests are Metadata for a topic of 10,000 partitions, so each answer is
// ~250 KB: without bounds, 100 × 256 unread answers alone would be over 6 GB.
// A witness producer and consumer (test/helpers/witness.ts, in a thread of its own) run
// throughout; the broker's resident memory is sampled every 100 ms.

import { connect, type Socket } from 'node:net';
import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, metadataApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient, encodeRequest } from '../helpers/raw-client.js';
import { processUsage } from '../helpers/process-usage.js';
import { FETCH_MAX_WAIT_MS, checkSequences } from '../helpers/witness.js';
import { WitnessThread } from '../helpers/witness-thread.js';

const MiB = 1024 * 1024;
const WIDE_PARTITIONS = 10_000;
/**
 * What the attacks may add to the broker's resident memory. The broker's own bounds
 * (README "Bounds"): 128 MiB of queued responses broker-wide, plus what the connections
 * admitted before that bound stopped them can still produce (here at most 64 answers of
 * ~250 KB for a connection, one for each other), plus per-connection state for 5,100
 * connections; the rest is headroom for V8, whose heap is not returned to the system at once.
 * Without these bounds the floods below hold gigabytes (100 × 256 unread answers alone are 6.5 GB).
 */
const RSS_GROWTH_BOUND_BYTES = 512 * MiB;
/** The longest a witness request may take while the attacks run. */
const WITNESS_LATENCY_BOUND_MS = 10_000;

const broker = await BrokerProcess.start(t);
const pid = broker.pid!;
/** Connections that outlive one subtest are torn down with the whole file. */
const rootTeardown = { teardown: (fn: () => void | Promise<void>) => t.teardown(fn) };

let witness: WitnessThread;
let baseline: { rssBytes: number; descriptors: number };
let rssMax = 0;
const sampler = setInterval(() => {
  try {
    rssMax = Math.max(rssMax, processUsage(pid).rssBytes);
  } catch {
    // the process is gone: the assertions below say so
  }
}, 100);
t.teardown(() => clearInterval(sampler));

t.test('setup: a topic of 10,000 partitions and a witness', async (t) => {
  const admin = await RawClient.connect(t, broker.port);
  const created = await admin.request(
    createTopicsApi,
    5,
    { topics: [{ name: 'wide', numPartitions: WIDE_PARTITIONS, replicationFactor: 1 }, { name: 'witness', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 120_000 },
    { timeoutMs: 120_000 },
  );
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE, `a topic of ${WIDE_PARTITIONS} partitions`);
  t.equal(created.topics[1]!.errorCode, ErrorCode.NONE, 'and one for the witness');
  const sample = await admin.request(metadataApi, 12, { topics: [{ name: 'wide' }], allowAutoTopicCreation: false });
  t.equal(sample.topics[0]!.partitions.length, WIDE_PARTITIONS, 'its Metadata lists every partition');
  admin.destroy();
  // In a thread of its own, so that what it measures is the broker, not this test's flood sockets.
  witness = new WitnessThread(rootTeardown, { port: broker.port, topic: 'witness', latencyMsMax: WITNESS_LATENCY_BOUND_MS });
  t.ok(await witness.advance(20), 'the witness runs before the attacks');
  baseline = processUsage(pid);
  rssMax = baseline.rssBytes;
});

const metadataRequest = (correlationId: number): Buffer =>
  encodeRequest(metadataApi, 12, { topics: [{ name: 'wide' }], allowAutoTopicCreation: false }, { correlationId, clientId: 'flood' });

/** Opens `count` plain sockets, `batch` at a time; destroyed on teardown. */
async function openSockets(count: number, batch = 250): Promise<Socket[]> {
  // Held until the end of the file: the idle connections stay open while the other floods run.
  const sockets: Socket[] = [];
  for (let start = 0; start < count; start += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ port: broker.port, host: '127.0.0.1' });
          socket.once('connect', () => resolve(socket));
          socket.once('error', reject);
        }),
      ),
    );
    sockets.push(...opened);
  }
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
  });
  return sockets;
}

t.test('5,000 idle connections', async (t) => {
  const idle = await openSockets(5000);
  t.equal(idle.length, 5000);
  t.ok(await witness.advance(20), 'the witness keeps producing and consuming');
  const usage = processUsage(pid);
  t.ok(usage.descriptors >= 5000, `the broker holds them (${usage.descriptors} descriptors open)`);
  t.ok(idle.every((socket) => !socket.destroyed), 'none was dropped');
});

t.test('100 clients each pipelining 256 requests without reading a response', async (t) => {
  const flooders = await openSockets(100, 100);
  for (const socket of flooders) {
    socket.pause(); // never read: responses pile up on the broker's side
    socket.write(Buffer.concat(Array.from({ length: 256 }, (_unused, index) => metadataRequest(index + 1))));
  }
  // Let the broker take in as much as it will, then check it still serves the witness.
  t.ok(await witness.advance(50), 'the witness keeps producing and consuming');
  t.ok(flooders.every((socket) => !socket.destroyed), 'the flooders are throttled, not dropped');
});

t.test('one connection writing 3,000 requests at once is answered in order, 64 at a time', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const frames = Array.from({ length: 3000 }, () => client.frameFor(metadataApi, 12, { topics: [{ name: 'wide' }], allowAutoTopicCreation: false }));
  client.write(Buffer.concat(frames));
  let answered = 0;
  for (const frame of frames) {
    const response = await client.nextResponse<{ topics: { partitions: unknown[] }[] }>(60_000);
    if (response.correlationId !== frame.readInt32BE(8) || response.body.topics[0]!.partitions.length !== WIDE_PARTITIONS) break;
    answered++;
  }
  t.equal(answered, 3000, 'every request is answered whole and in order');
  t.ok(await witness.advance(20), 'the witness keeps producing and consuming');
});

t.test('throughout: the witness was served within bounds, and memory stayed bounded', async (t) => {
  const report = await witness.finish(20_000);
  clearInterval(sampler);
  t.same(report.events.map((event) => event.message), [], 'no witness request failed, timed out or took longer than the bound');
  t.ok(report.caughtUp, 'the witness consumer caught up with the last acknowledged record');
  t.same(checkSequences(report.consumed, report.acknowledged), [], 'every acknowledged witness record was consumed, once, in order');
  t.ok(report.acknowledged.length > 100, `the witness produced ${report.acknowledged.length} records`);
  t.ok(report.produceLatencyMsMax <= WITNESS_LATENCY_BOUND_MS, `slowest witness produce: ${report.produceLatencyMsMax} ms`);
  t.ok(report.fetchLatencyMsMax <= WITNESS_LATENCY_BOUND_MS + FETCH_MAX_WAIT_MS, `slowest witness fetch (with its ${FETCH_MAX_WAIT_MS} ms wait): ${report.fetchLatencyMsMax} ms`);
  const growth = rssMax - baseline.rssBytes;
  t.ok(
    growth <= RSS_GROWTH_BOUND_BYTES,
    `resident memory grew by ${(growth / MiB).toFixed(0)} MiB at most (from ${(baseline.rssBytes / MiB).toFixed(0)} MiB; bound ${RSS_GROWTH_BOUND_BYTES / MiB} MiB)`,
  );
  t.notOk(/ERROR/.test(broker.log), 'the broker logged no ERROR');
});
