// Malformed input never takes the broker down. Against one real broker process
// (socket.request.max.bytes=1 MiB), raw TCP connections send garbage, truncated frames,
// oversized and negative sizes, unknown API keys, unsupported versions, batches with a
// bad CRC (acks=1 and acks=0) and a pipeline of 50 requests. Each case runs on its own
// connection and checks what Kafka does (close the connection, or answer with an error);
// after each case a separate, healthy client must still be served (ApiVersions and
// Metadata on a new connection). At the end kcat produces and consumes a round trip, and
// the broker's log must hold no ERROR line (a handler that threw is logged as one).
// Every wait is bounded (WAIT_MS) so a hang fails instead of blocking.

import { randomBytes } from 'node:crypto';
import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient, WAIT_MS, encodeBody, encodeRawRequest, encodeRequest, sizePrefixed } from '../helpers/raw-client.js';
import { run } from '../helpers/run.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  apiVersionsApi,
  createTopicsApi,
  fetchApi,
  listOffsetsApi,
  metadataApi,
  produceApi,
} from '../../src/protocol/generated/index.js';
import type { ApiVersionsResponse } from '../../src/protocol/generated/api-versions-response.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata-response.js';
import type { ChunkList } from '../../src/protocol/chunks.js';
import type { ApiSchema } from '../../src/protocol/message.js';
import { decodeRecords, encodeRecordBatch, splitBatches, BATCH_HEADER_BYTES } from '../../src/protocol/record-batch.js';

/** What the helpers below use of a test (the root TAP object and subtests alike). */
type Test = Pick<typeof t, 'ok' | 'notOk' | 'equal' | 'same' | 'teardown'>;

const MAX_REQUEST_BYTES = 1024 * 1024;
/** "Promptly": a connection the broker should drop at once must be gone well within this. */
const PROMPT_CLOSE_MS = 2_000;

const broker = await BrokerProcess.start(t, { overrides: { 'socket.request.max.bytes': MAX_REQUEST_BYTES } });

function processAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch {
    return false;
  }
}

/** A separate, well-behaved client is still served: ApiVersions v3 and Metadata v12 on a new connection. */
async function assertHealthy(t: Test, label: string): Promise<void> {
  t.ok(processAlive(broker.pid), `${label}: the broker process is still running`);
  const client = await RawClient.connect(t, broker.port);
  try {
    const versions = await client.request(apiVersionsApi, 3, { clientSoftwareName: 'spate-health', clientSoftwareVersion: '1.0' });
    t.equal(versions.errorCode, ErrorCode.NONE, `${label}: a healthy client's ApiVersions succeeds`);
    const metadata = await client.request(metadataApi, 12, { topics: null, allowAutoTopicCreation: false });
    t.same(
      metadata.brokers.map((b) => `${b.host}:${b.port}`),
      [broker.bootstrap],
      `${label}: a healthy client's Metadata lists the broker`,
    );
  } finally {
    client.destroy();
  }
}

/** Asserts that the broker closes `client`'s connection within `withinMs`. */
async function assertClosed(t: Test, client: RawClient, what: string, withinMs = WAIT_MS): Promise<void> {
  const started = Date.now();
  const closed = await client.waitForClose(withinMs);
  t.ok(closed, `${what}: the broker closes the connection (within ${withinMs} ms; took ${Date.now() - started} ms, ${client.closeReason})`);
  t.equal(client.bufferedFrames, 0, `${what}: and sends no response`);
}

/** What a normal ApiVersions v3 advertises (filled by the first test), as [key, min, max]. */
let servedRanges: number[][] = [];
let servedKeys: Set<number> = new Set();

async function createTopic(t: Test, name: string, partitions = 1): Promise<void> {
  const client = await RawClient.connect(t, broker.port);
  try {
    const created = await client.request(createTopicsApi, 7, {
      topics: [{ name, numPartitions: partitions, replicationFactor: 1 }],
      timeoutMs: WAIT_MS,
    });
    t.equal(created.topics[0]?.errorCode, ErrorCode.NONE, `topic ${name} created`);
  } finally {
    client.destroy();
  }
}

async function latestOffset(client: RawClient, topic: string, partition = 0): Promise<number> {
  const response = await client.request(listOffsetsApi, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] }],
  });
  const result = response.topics[0]!.partitions[0]!;
  if (result.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets ${topic}-${partition}: error ${result.errorCode}`);
  return result.offset;
}

async function latestOffsetOnNewConnection(t: Test, topic: string): Promise<number> {
  const client = await RawClient.connect(t, broker.port);
  try {
    return await latestOffset(client, topic);
  } finally {
    client.destroy();
  }
}

/** Every record of partition 0 from offset 0, read with Fetch v11 and decoded. */
async function fetchAll(t: Test, topic: string): Promise<{ key: string; value: string }[]> {
  const client = await RawClient.connect(t, broker.port);
  try {
    const response = await client.request(fetchApi, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1024 * 1024 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const partition = response.responses[0]!.partitions[0]!;
    if (partition.errorCode !== ErrorCode.NONE) throw new Error(`Fetch ${topic}: error ${partition.errorCode}`);
    const records = partition.records;
    const bytes = records === null ? Buffer.alloc(0) : Buffer.isBuffer(records) ? records : Buffer.concat((records as ChunkList).chunks as Buffer[]);
    return splitBatches(bytes).flatMap((batch) =>
      decodeRecords(batch).map((record) => ({ key: record.key?.toString() ?? '', value: record.value?.toString() ?? '' })),
    );
  } finally {
    client.destroy();
  }
}

function batchOf(prefix: string, count: number): { batch: Buffer; records: { key: string; value: string }[] } {
  const records = Array.from({ length: count }, (_, i) => ({ key: `${prefix}-key-${i}`, value: `${prefix} value ${i} ${'v'.repeat(20)}` }));
  return { batch: encodeRecordBatch({ records }), records };
}

/** A valid batch with one byte flipped inside its records (past the 61-byte header), so only the CRC catches it. */
function corrupted(batch: Buffer): Buffer {
  const bad = Buffer.from(batch);
  const at = BATCH_HEADER_BYTES + Math.floor((bad.length - BATCH_HEADER_BYTES) / 2);
  bad[at] = bad[at]! ^ 0x5a;
  return bad;
}

function produceBody(topic: string, records: Buffer, acks: number) {
  return { transactionalId: null, acks, timeoutMs: WAIT_MS, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] };
}

t.test('the broker is up and advertises its API ranges', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const versions = await client.request(apiVersionsApi, 3, { clientSoftwareName: 'spate-test', clientSoftwareVersion: '1.0' });
  t.equal(versions.errorCode, ErrorCode.NONE);
  servedRanges = versions.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion]);
  servedKeys = new Set(versions.apiKeys.map((k) => k.apiKey));
  t.ok(servedKeys.has(0) && servedKeys.has(3) && servedKeys.has(18), 'Produce, Metadata and ApiVersions are served');
  const produce = versions.apiKeys.find((k) => k.apiKey === 0)!;
  // Advertised from v0 although served from v3, as Kafka 4.0 does (KAFKA-18659): librdkafka
  // enables gzip, snappy and lz4 only when Produce v0 is listed.
  t.same([produce.minVersion, produce.maxVersion], [0, 11], 'Produce is advertised 0-11');
  t.ok(servedKeys.has(10), 'FindCoordinator is advertised (librdkafka enables lz4 only then)');
  t.ok(versions.apiKeys.every((k) => k.maxVersion < 99), 'no API is served at v99');
  client.destroy();
});

t.test('garbage bytes: the broker closes the connection', async (t) => {
  for (let round = 0; round < 5; round++) {
    // 64 random bytes. The first four are the frame size: when they happen to announce a
    // plausible size (0 .. max) the broker rightly waits for the rest, so draw again.
    let garbage: Buffer;
    do garbage = randomBytes(64);
    while (garbage.readInt32BE(0) >= 0 && garbage.readInt32BE(0) <= MAX_REQUEST_BYTES);
    const client = await RawClient.connect(t, broker.port);
    client.write(garbage);
    await assertClosed(t, client, `random bytes ${garbage.subarray(0, 8).toString('hex')}…`, PROMPT_CLOSE_MS);
  }
  for (let round = 0; round < 5; round++) {
    // A frame of the right size whose contents are random: header garbage (an API key the
    // broker does not serve, a client id length that may run past the end).
    let payload: Buffer;
    do payload = randomBytes(60);
    while (servedKeys.has(payload.readInt16BE(0)));
    const client = await RawClient.connect(t, broker.port);
    client.write(sizePrefixed(payload));
    await assertClosed(t, client, `a 60-byte frame of random bytes ${payload.subarray(0, 8).toString('hex')}…`, PROMPT_CLOSE_MS);
  }
  await assertHealthy(t, 'after garbage');
});

t.test('truncated frames: the connection is closed, the broker survives', async (t) => {
  await t.test('a size of 100 followed by 20 bytes, then the client half-closes', async (t) => {
    const client = await RawClient.connect(t, broker.port);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(100);
    client.write(Buffer.concat([prefix, randomBytes(20)]));
    t.notOk(await client.waitForClose(300), 'the broker waits for the rest of the frame');
    client.end();
    await assertClosed(t, client, 'half-closed mid-frame');
    await assertHealthy(t, 'after a truncated frame');
  });

  await t.test('a Metadata v1 request whose body stops in the middle of a topic name', async (t) => {
    const client = await RawClient.connect(t, broker.port);
    const body = Buffer.alloc(4 + 2 + 3);
    body.writeInt32BE(1, 0); // one topic
    body.writeInt16BE(10, 4); // a name of 10 bytes…
    body.write('abc', 6); // …of which 3 arrive
    client.write(encodeRawRequest(3, 1, body, { correlationId: 7 }));
    await assertClosed(t, client, 'Metadata v1 cut short');
    await assertHealthy(t, 'after a cut-short Metadata v1');
  });

  await t.test('a Metadata v12 (flexible) request whose header stops half-way through the client id', async (t) => {
    const client = await RawClient.connect(t, broker.port);
    const frame = encodeRequest(metadataApi, 12, { topics: null }, { correlationId: 8, clientId: 'a-long-client-id' });
    // size + api key + version + correlation id + int16 length + 5 of the 16 client id bytes
    const cut = frame.subarray(0, 4 + 2 + 2 + 4 + 2 + 5);
    const resized = Buffer.from(cut);
    resized.writeInt32BE(cut.length - 4, 0);
    client.write(resized);
    await assertClosed(t, client, 'Metadata v12 header cut short');
    await assertHealthy(t, 'after a cut-short header');
  });

  await t.test('a Produce v9 (flexible) whose records claim more bytes than the frame holds', async (t) => {
    const client = await RawClient.connect(t, broker.port);
    const { batch } = batchOf('truncated', 3);
    const body = encodeBody(produceApi, 9, produceBody('never-created', batch, 1));
    const frame = encodeRawRequest(0, 9, body.subarray(0, body.length - 40), { correlationId: 9 });
    client.write(frame);
    await assertClosed(t, client, 'Produce v9 records cut short');
    await assertHealthy(t, 'after a cut-short Produce');
  });
});

t.test('a frame over socket.request.max.bytes is refused before its body is sent', async (t) => {
  for (const size of [2 * 1024 * 1024, MAX_REQUEST_BYTES + 1, -1, -2147483648]) {
    const client = await RawClient.connect(t, broker.port);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(size);
    client.write(prefix); // the size only: the body is never sent
    await assertClosed(t, client, `size prefix ${size}`, PROMPT_CLOSE_MS);
    await assertHealthy(t, `after size prefix ${size}`);
  }
  // Client mistakes of one kind are logged once per interval (the rest are counted, not printed).
  t.ok(await broker.waitForLog(/request size -?\d+ is outside 0\.\.1048576 \(socket\.request\.max\.bytes\)/), 'the broker logs why it closed the connection');
});

t.test('an unknown API key closes the connection', async (t) => {
  for (const apiKey of [9999, 57, -1]) {
    const client = await RawClient.connect(t, broker.port);
    client.write(encodeRawRequest(apiKey, 0, Buffer.alloc(0), { correlationId: 11 }));
    await assertClosed(t, client, `API key ${apiKey}`);
    await assertHealthy(t, `after API key ${apiKey}`);
  }
});

t.test('unsupported versions', async (t) => {
  await t.test('ApiVersions v99 is answered with v0, UNSUPPORTED_VERSION and the served ranges (KIP-511)', async (t) => {
    const client = await RawClient.connect(t, broker.port);
    // A newer client would send its newest ApiVersions (flexible: header v2, compact body). Send exactly that.
    const body = encodeBody(apiVersionsApi, 3, { clientSoftwareName: 'future-client', clientSoftwareVersion: '99.0' });
    const frame = encodeRawRequest(18, 99, body, { correlationId: 4242, headerVersion: 2 });
    client.sendFrame(frame, apiVersionsApi as ApiSchema<object, object>, 0);
    const answer = await client.nextResponse<ApiVersionsResponse>(); // decoded as v0, header v0
    t.equal(answer.correlationId, 4242, 'answered with the request\'s correlation id');
    t.equal(answer.body.errorCode, ErrorCode.UNSUPPORTED_VERSION, 'error UNSUPPORTED_VERSION (35)');
    t.same(
      answer.body.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion]),
      servedRanges,
      'it lists the same API keys and version ranges as a normal ApiVersions v3',
    );
    t.ok(answer.body.apiKeys.some((k) => k.apiKey === 18), 'ApiVersions itself is among them');
    // The client retries with a version it now knows is served, on the same connection.
    const retried = await client.request(apiVersionsApi, 3, { clientSoftwareName: 'future-client', clientSoftwareVersion: '99.0' });
    t.equal(retried.errorCode, ErrorCode.NONE, 'the connection stays open and serves ApiVersions v3');
    client.destroy();
    await assertHealthy(t, 'after ApiVersions v99');
  });

  await t.test('Produce v1 (advertised for librdkafka, but below the served 3-11) closes the connection', async (t) => {
    const client = await RawClient.connect(t, broker.port);
    client.write(encodeRequest(produceApi, 1, { acks: 1, timeoutMs: 1000, topicData: [] }, { correlationId: 21 }));
    await assertClosed(t, client, 'Produce v1');
    await assertHealthy(t, 'after Produce v1');
  });

  await t.test('Metadata v99 closes the connection', async (t) => {
    const client = await RawClient.connect(t, broker.port);
    const body = encodeBody(metadataApi, 12, { topics: null });
    client.write(encodeRawRequest(3, 99, body, { correlationId: 22, headerVersion: 2 }));
    await assertClosed(t, client, 'Metadata v99');
    await assertHealthy(t, 'after Metadata v99');
  });
});

t.test('a batch with a bad CRC gets CORRUPT_MESSAGE and is not appended', async (t) => {
  const topic = 'bad-crc';
  await createTopic(t, topic);
  const expected: { key: string; value: string }[] = [];
  for (const version of [7, 9]) {
    await t.test(`Produce v${version}, acks=1`, async (t) => {
      const client = await RawClient.connect(t, broker.port);
      const before = await latestOffset(client, topic);
      const bad = batchOf(`bad-v${version}`, 5);
      const badResponse = await client.request(produceApi, version, produceBody(topic, corrupted(bad.batch), 1));
      const badPartition = badResponse.responses[0]!.partitionResponses[0]!;
      t.equal(badPartition.errorCode, ErrorCode.CORRUPT_MESSAGE, 'partition error CORRUPT_MESSAGE (2)');
      t.equal(badPartition.baseOffset, -1, 'no base offset');
      t.equal(await latestOffset(client, topic), before, 'the high watermark did not move');

      const good = batchOf(`good-v${version}`, 5);
      const goodResponse = await client.request(produceApi, version, produceBody(topic, good.batch, 1));
      const goodPartition = goodResponse.responses[0]!.partitionResponses[0]!;
      t.equal(goodPartition.errorCode, ErrorCode.NONE, 'a valid batch afterwards on the same connection is accepted');
      t.equal(goodPartition.baseOffset, before, 'at the old high watermark');
      t.equal(await latestOffset(client, topic), before + 5, 'the high watermark moved by its 5 records');
      expected.push(...good.records);
      client.destroy();
      await assertHealthy(t, `after a bad CRC on Produce v${version}`);
    });
  }
  t.same(await fetchAll(t, topic), expected, 'a Fetch returns the valid batches only');
});

t.test('acks=0: a bad CRC closes the connection; a good batch gets no response but is appended', async (t) => {
  const topic = 'acks-zero';
  await createTopic(t, topic);

  await t.test('a bad CRC with acks=0 closes the connection', async (t) => {
    const client = await RawClient.connect(t, broker.port);
    client.send(produceApi, 9, produceBody(topic, corrupted(batchOf('bad-acks0', 4).batch), 0));
    await assertClosed(t, client, 'acks=0 with a bad CRC');
    t.equal(await latestOffsetOnNewConnection(t, topic), 0, 'nothing was appended');
    await assertHealthy(t, 'after acks=0 with a bad CRC');
  });

  await t.test('a good batch with acks=0 gets no response and is appended', async (t) => {
    const client = await RawClient.connect(t, broker.port);
    const produceId = client.send(produceApi, 9, produceBody(topic, batchOf('good-acks0', 4).batch, 0));
    const probeId = client.send(apiVersionsApi, 3, { clientSoftwareName: 'probe', clientSoftwareVersion: '1' });
    // Responses come in request order: had the produce been answered, its response would come first.
    const first = await client.nextResponse();
    t.equal(first.correlationId, probeId, `the first response is the ApiVersions probe's, not the produce's (${produceId})`);
    t.notOk(client.isClosed, 'the connection stays open');
    t.equal(await latestOffset(client, topic), 4, 'the 4 records were appended (ListOffsets latest)');
    t.equal(client.bufferedFrames, 0, 'no stray response arrived');
    client.destroy();
    await assertHealthy(t, 'after acks=0');
  });
});

t.test('pipelining: 50 requests sent back to back are answered in order', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  // Correlation ids in a scrambled (but distinct) order, so that sorting cannot pass for ordering.
  const ids = Array.from({ length: 50 }, (_, i) => 1_000_000 + ((i * 37) % 50) * 13 + i);
  const frames = ids.map((correlationId, i) => {
    switch (i % 5) {
      case 0:
        return client.frameFor(apiVersionsApi, 3, { clientSoftwareName: 'pipeline', clientSoftwareVersion: '1' }, { correlationId });
      case 1:
        return client.frameFor(apiVersionsApi, 0, {}, { correlationId });
      case 2:
        // Auto-creates a topic: the slowest handler in the mix, so later requests finish first.
        return client.frameFor(metadataApi, 12, { topics: [{ name: `pipeline-${i}` }], allowAutoTopicCreation: true }, { correlationId });
      case 3:
        return client.frameFor(metadataApi, 1, { topics: null }, { correlationId });
      default:
        return client.frameFor(metadataApi, 9, { topics: [], allowAutoTopicCreation: false }, { correlationId });
    }
  });
  client.write(Buffer.concat(frames)); // one write: the broker reads them all back to back
  const received: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const response = await client.nextResponse<ApiVersionsResponse | MetadataResponse>();
    received.push(response.correlationId);
    if (response.apiKey === 18) t.equal((response.body as ApiVersionsResponse).errorCode, ErrorCode.NONE);
    if (i % 5 === 2) t.equal((response.body as MetadataResponse).topics[0]?.errorCode, ErrorCode.NONE, `pipeline-${i} auto-created`);
  }
  t.same(received, ids, 'responses come back in request order');
  client.destroy();
  await assertHealthy(t, 'after pipelining');
});

t.test('after all of that, kcat still produces and consumes a round trip', async (t) => {
  const lines = Array.from({ length: 500 }, (_, i) => `after-abuse ${i}`).join('\n') + '\n';
  const produced = await run('kcat', ['-b', broker.bootstrap, '-t', 'after-abuse', '-P', '-X', 'acks=all'], { input: lines, timeoutMs: 30_000 });
  t.equal(produced.code, 0, `kcat -P exits 0 (${produced.stderr.trim()})`);
  const consumed = await run('kcat', ['-b', broker.bootstrap, '-t', 'after-abuse', '-C', '-e', '-q', '-o', 'beginning'], { timeoutMs: 30_000 });
  t.equal(consumed.code, 0, `kcat -C exits 0 (${consumed.stderr.trim()})`);
  t.equal(consumed.stdout.toString(), lines, 'the lines come back identical');
  const listing = await run('kcat', ['-b', broker.bootstrap, '-L'], { timeoutMs: 30_000 });
  t.match(listing.stdout.toString(), /topic "after-abuse" with 1 partitions:/, 'kcat -L lists the topic');
  t.ok(processAlive(broker.pid), 'the broker process is still running');
  const errors = broker.log.split('\n').filter((line) => / ERROR /.test(line));
  t.same(errors, [], 'the broker logged no ERROR (no handler threw)');
});
