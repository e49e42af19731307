// Record validation where appends happen (Log.append, in the shard thread): every poison
// batch of Hardening finding 5 is refused without taking offsets, good batches around them
// keep consecutive offsets; ListOffsets by timestamp finds the exact record inside a
// compressed batch; and a stored batch whose records cannot be decoded (written before
// validation existed) never makes the timestamp lookup throw.

import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Compression, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { Log } from '../../src/storage/log.js';
import { temporaryDirectory } from '../helpers/broker-process.js';
import { poisonBatches, rawBatch, rawRecord } from '../helpers/record-batches.js';

const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;

function createLog(t: Parameters<typeof temporaryDirectory>[0]): { log: Log; dir: string } {
  const dir = join(temporaryDirectory(t), 'validated-0');
  return { log: Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', resolveTopicConfig(defaults, {})), dir };
}

t.test('poison batches are refused with their error codes; good batches keep consecutive offsets', async (t) => {
  const { log, dir } = createLog(t);
  const nowMs = Date.now();
  let expectedOffset = 0;
  for (const poison of poisonBatches(nowMs)) {
    const good = encodeRecordBatch({ records: [{ value: `before ${poison.name}` }] });
    const [goodResult, poisonResult] = log.append([good, poison.batch], nowMs);
    t.same([goodResult!.errorCode, goodResult!.baseOffset], [ErrorCode.NONE, expectedOffset], `the good batch before "${poison.name}" at ${expectedOffset}`);
    expectedOffset++;
    t.equal(poisonResult!.errorCode, poison.errorCode, `${poison.name}: error ${poison.errorCode} (${poisonResult!.errorMessage})`);
    t.match(poisonResult!.errorMessage, poison.message, `${poison.name}: the message says what was wrong`);
    t.equal(poisonResult!.baseOffset, -1, `${poison.name}: no offset`);
  }
  t.equal(log.logEndOffset, expectedOffset, 'only the good records took offsets');
  const stored = splitBatches(readFileSync(join(dir, '00000000000000000000.log')));
  t.equal(stored.length, expectedOffset, 'only the good batches reached the segment');
  log.close();
});

t.test('ListOffsets by timestamp finds the exact record inside a compressed batch', async (t) => {
  const { log } = createLog(t);
  const base = Date.now() - 10_000;
  const records = Buffer.concat(Array.from({ length: 10 }, (_, index) => rawRecord({ offsetDelta: index, timestampDelta: index * 100, value: `r${index}` })));
  const batch = rawBatch({ payload: gzipSync(records), recordsCount: 10, attributes: Compression.gzip, baseTimestamp: base, maxTimestamp: base + 900 });
  log.append([encodeRecordBatch({ records: [{ value: 'first', timestamp: base - 50 }] }), batch], Date.now());
  t.same(log.offsetForTimestamp(base - 100), { offset: 0, timestamp: base - 50 }, 'before everything: the first record');
  t.same(log.offsetForTimestamp(base + 450), { offset: 6, timestamp: base + 500 }, 'inside the gzip batch: the first record at or after the time, not the batch start');
  t.same(log.offsetForTimestamp(base + 900), { offset: 10, timestamp: base + 900 }, 'the last record of the batch');
  t.same(log.offsetForTimestamp(base + 901), { offset: -1, timestamp: -1 }, 'after everything: none');
  log.close();
});

t.test('a stored batch that cannot be decoded never makes the timestamp lookup throw', async (t) => {
  const { log, dir } = createLog(t);
  const base = Date.now() - 10_000;
  log.append([encodeRecordBatch({ records: [{ value: 'good', timestamp: base }] })], Date.now());
  log.close();
  // As a broker before record validation stored them: CRC-valid, records malformed (offset 1 onwards).
  const stored = [
    rawBatch({ payload: Buffer.concat([rawRecord({ offsetDelta: 0 }), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80])]), recordsCount: 2, baseTimestamp: base + 100, maxTimestamp: base + 100 }),
    rawBatch({ payload: Buffer.from('not gzip at all, just garbage'), recordsCount: 1, attributes: Compression.gzip, baseTimestamp: base + 200, maxTimestamp: base + 200 }),
  ];
  let offset = 1;
  for (const batch of stored) {
    batch.writeBigInt64BE(BigInt(offset), 0);
    offset += batch.readInt32BE(57);
    // The CRC covers attributes onwards, so the base offset can change without breaking it.
    appendFileSync(join(dir, '00000000000000000000.log'), batch);
  }
  const { log: reopened } = Log.open({ dir, topicId: 'AAAAAAAAAAAAAAAAAAAAAB', config: resolveTopicConfig(defaults, {}), recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false });
  t.equal(reopened.logEndOffset, 4, 'recovery keeps the CRC-valid batches');
  let answer: unknown;
  t.doesNotThrow(() => (answer = reopened.offsetForTimestamp(base + 50)), 'a malformed uncompressed batch');
  t.same(answer, { offset: 1, timestamp: base + 100 }, 'answered by the batch itself');
  t.doesNotThrow(() => (answer = reopened.offsetForTimestamp(base + 150)), 'a gzip batch that does not decompress');
  t.same(answer, { offset: 3, timestamp: base + 200 }, 'answered by the batch itself');
  reopened.close();
});
