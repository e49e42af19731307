// A shard keeps a bounded set of segment files open (Hardening finding 4): a log of many
// segments never holds more descriptors than the bound, reads and appends reopen what was
// closed, a rolled segment closes its descriptor, and fsync still covers data written
// through a descriptor that was closed meanwhile.

import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { limits } from '../../src/config/limits.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { Log } from '../../src/storage/log.js';
import { segmentFiles } from '../../src/storage/segment-files.js';

const { config } = buildBrokerConfig(new Map(), new Map());
const topicConfig = resolveTopicConfig(config.topicDefaults, { 'segment.bytes': '1024' });

/** Reads a planned region as the main thread does: through a descriptor of its own. */
function readRegion(path: string, position: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const bytes = Buffer.alloc(length);
    return bytes.subarray(0, readSync(fd, bytes, 0, length, position));
  } finally {
    closeSync(fd);
  }
}

function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

t.test('many logs of many segments stay within the bound, and every record reads back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-segment-files-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  segmentFiles.setOpenMax(4);
  t.teardown(() => segmentFiles.setOpenMax(10_000));
  const before = openDescriptors();
  const logs = Array.from({ length: 5 }, (_unused, index) => Log.create(join(dir, `p-${index}`), 'topic-id', topicConfig));
  let maxOpen = 0;
  for (let round = 0; round < 40; round++) {
    for (const [index, log] of logs.entries()) {
      const batch = encodeRecordBatch({ records: Array.from({ length: 5 }, (_unused, at) => ({ value: `${index}:${round * 5 + at}:${'x'.repeat(30)}` })) });
      const [result] = log.append([batch], Date.now());
      if (result!.errorCode !== 0) t.fail(`append ${index}/${round}: ${result!.errorCode}`);
      maxOpen = Math.max(maxOpen, segmentFiles.openCount);
    }
  }
  t.ok(logs.every((log) => log.segmentCount > 10), `each log rolled ${logs[0]!.segmentCount} segments`);
  t.ok(maxOpen <= 4, `at most ${maxOpen} segment files were open at once (bound 4)`);
  // The bound, and the rolled segments' syncs in flight on the thread pool (their own descriptors).
  const bound = 4 + limits.rolledSegmentSyncsInFlight;
  t.ok(openDescriptors() - before <= bound, `the process holds ${openDescriptors() - before} more descriptors (at most ${bound})`);
  for (const [index, log] of logs.entries()) {
    const values: string[] = [];
    let offset = 0;
    while (offset < log.logEndOffset) {
      const { region } = log.read(offset, 1 << 20, true, log.logEndOffset);
      const bytes = region === null ? Buffer.alloc(0) : readRegion(region.path, region.position, region.length);
      const records = splitBatches(bytes).flatMap((batch) => decodeRecords(batch)).filter((record) => record.offset >= offset);
      if (records.length === 0) break;
      values.push(...records.map((record) => record.value!.toString().split(':')[1]!));
      offset = records.at(-1)!.offset + 1;
    }
    t.same(values, Array.from({ length: 200 }, (_unused, at) => String(at)), `log ${index}: every record, in order`);
  }
  t.ok(segmentFiles.openCount <= 4, 'reads stay within the bound too');
  for (const log of logs) {
    log.flush(); // fsync through a reopened descriptor when the old one was closed
    log.close();
  }
  t.equal(segmentFiles.openCount, 0, 'closing the logs closes their files');
});
