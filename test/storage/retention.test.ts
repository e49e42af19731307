// Retention against a real broker: a topic with segment.bytes 1 MiB and retention.bytes
// 5 MiB fed 50 MiB keeps at most the retained bytes plus one active segment; a consumer
// from offset 0 is answered OFFSET_OUT_OF_RANGE and resumes at the log start offset; and
// ListOffsets earliest follows. DeleteRecords advances the start on request. A topic whose
// retention.ms is lowered loses every segment older than that, the active one included.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, deleteRecordsApi, fetchApi, incrementalAlterConfigsApi, listOffsetsApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines } from '../helpers/json-lines.js';
import { RawClient } from '../helpers/raw-client.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';

const MiB = 1024 * 1024;
/** IncrementalAlterConfigs: the TOPIC resource type and the SET operation. */
const TOPIC_RESOURCE = 2;
const SET_OPERATION = 0;

/** The partition's segment files now; retention runs meanwhile, so a file listed may be gone by the time it is measured. */
function segmentBytes(dir: string): { logBytes: number; segments: number } {
  let logBytes = 0;
  let segments = 0;
  for (const name of readdirSync(dir).filter((entry) => entry.endsWith('.log'))) {
    const size = statSync(join(dir, name), { throwIfNoEntry: false })?.size;
    if (size === undefined) continue; // deleted by retention after the listing
    logBytes += size;
    segments++;
  }
  return { logBytes, segments };
}

async function earliest(client: RawClient, topic: string): Promise<number> {
  const response = await client.request(listOffsetsApi, 5, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -2, currentLeaderEpoch: -1 }] }],
  });
  return response.topics[0]!.partitions[0]!.offset;
}

async function fetchFrom(client: RawClient, topic: string, offset: number) {
  const response = await client.request(fetchApi, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: MiB, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: MiB, logStartOffset: -1, currentLeaderEpoch: -1 }] }],
  });
  return response.responses[0]!.partitions[0]!;
}

t.test('retention.bytes keeps the configured bytes plus one active segment', async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: { 'log.retention.check.interval.ms': 300 } });
  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 5, {
    topics: [{ name: 'retained', numPartitions: 1, replicationFactor: 1, configs: [{ name: 'segment.bytes', value: String(MiB) }, { name: 'retention.bytes', value: String(5 * MiB) }] }],
    timeoutMs: 5000,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE);

  const line = 'r'.repeat(1023);
  const input = Array.from({ length: 51_200 }, () => line).join('\n') + '\n'; // 50 MiB of values
  const produced = await run('kcat', ['-b', broker.bootstrap, '-t', 'retained', '-P', '-X', 'acks=all', '-X', 'batch.num.messages=256'], { input, timeoutMs: 120_000 });
  t.equal(produced.code, 0, produced.stderr);

  const dir = join(broker.dataDir, 'retained-0');
  const deadline = Date.now() + 15_000;
  let usage = segmentBytes(dir);
  while (usage.logBytes > 6 * MiB && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    usage = segmentBytes(dir);
  }
  t.ok(usage.logBytes <= 5 * MiB + MiB, `the log holds ${(usage.logBytes / MiB).toFixed(2)} MiB in ${usage.segments} segments (≤ 5 MiB + one 1 MiB segment)`);
  t.ok(usage.logBytes >= 4 * MiB, 'and keeps close to retention.bytes, not less');

  const logStart = await earliest(client, 'retained');
  t.ok(logStart > 40_000, `the log start offset moved to ${logStart}`);
  const below = await fetchFrom(client, 'retained', 0);
  t.equal(below.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'a fetch from offset 0 is OFFSET_OUT_OF_RANGE');
  t.equal(below.logStartOffset, logStart, 'and names the log start offset');

  const consumer = await run(PYTHON, [pythonScript('consume_from_offset.py'), broker.bootstrap, 'retained', '0', '0', '100'], { timeoutMs: 60_000 });
  const lines = jsonLines(consumer.stdout);
  t.equal(lines.find((entry) => entry.type === 'first')?.offset, logStart, 'a confluent-kafka consumer from offset 0 resumes at the log start offset');
  t.ok((lines.find((entry) => entry.type === 'done')?.count ?? 0) >= 100, 'and keeps reading from there');

  const deleted = await client.request(deleteRecordsApi, 2, { topics: [{ name: 'retained', partitions: [{ partitionIndex: 0, offset: logStart + 1000 }] }], timeoutMs: 5000 });
  t.same([deleted.topics[0]!.partitions[0]!.errorCode, deleted.topics[0]!.partitions[0]!.lowWatermark], [ErrorCode.NONE, logStart + 1000], 'DeleteRecords moves the start');
  t.equal(await earliest(client, 'retained'), logStart + 1000, 'ListOffsets earliest follows');
  t.equal((await fetchFrom(client, 'retained', logStart)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  const tooFar = await client.request(deleteRecordsApi, 2, { topics: [{ name: 'retained', partitions: [{ partitionIndex: 0, offset: 10_000_000 }] }], timeoutMs: 5000 });
  t.equal(tooFar.topics[0]!.partitions[0]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'past the high watermark is refused');

  await broker.restart();
  const again = await RawClient.connect(t, broker.port);
  t.equal(await earliest(again, 'retained'), logStart + 1000, 'the log start offset survives a restart (log-start-offset-checkpoint)');
});

t.test('retention.ms deletes segments whose newest record is older than the limit', async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: { 'log.retention.check.interval.ms': 200 } });
  const client = await RawClient.connect(t, broker.port);
  // Created with the default retention (7 days), so that nothing can expire while it is
  // filled however slowly the producer runs; retention.ms is lowered once the segments are counted.
  await client.request(createTopicsApi, 5, {
    topics: [{ name: 'aging', numPartitions: 1, replicationFactor: 1, configs: [{ name: 'segment.bytes', value: String(64 * 1024) }] }],
    timeoutMs: 5000,
  });
  const input = Array.from({ length: 2000 }, (_, index) => `old-${index}-${'o'.repeat(200)}`).join('\n') + '\n';
  t.equal((await run('kcat', ['-b', broker.bootstrap, '-t', 'aging', '-P', '-X', 'batch.num.messages=64'], { input })).code, 0);
  t.ok(segmentBytes(join(broker.dataDir, 'aging-0')).segments > 3, 'several segments before retention');
  t.equal(await earliest(client, 'aging'), 0, 'nothing deleted under the default retention');

  const altered = await client.request(incrementalAlterConfigsApi, 1, {
    resources: [{ resourceType: TOPIC_RESOURCE, resourceName: 'aging', configs: [{ name: 'retention.ms', configOperation: SET_OPERATION, value: '1500' }] }],
    validateOnly: false,
  });
  t.equal(altered.responses[0]!.errorCode, ErrorCode.NONE, 'retention.ms lowered to 1.5 s');
  const deadline = Date.now() + 10_000;
  while ((await earliest(client, 'aging')) < 2000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(await earliest(client, 'aging'), 2000, 'every expired record is gone (the active segment was rolled and deleted too)');
  t.match(broker.log, /broker ready/);
});
