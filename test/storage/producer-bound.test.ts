// A partition remembers a bounded number of idempotent producers (found while documenting
// the hardening): any client can put any producer id in a batch, and before, every one was
// held until producer.id.expiration.ms (a day) — 100,000 ids made a 17 MB snapshot. Past
// limits.producersPerPartitionMax the least recently written is forgotten; the producers
// still writing keep their duplicate detection.

import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { limits } from '../../src/config/limits.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { Log } from '../../src/storage/log.js';
import { temporaryDirectory } from '../helpers/broker-process.js';

const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;

t.test('producers past the bound: the least recently written are forgotten, the active one still deduplicates', async (t) => {
  const log = Log.create(join(temporaryDirectory(t), 'p-0'), 'AAAAAAAAAAAAAAAAAAAAAD', resolveTopicConfig(defaults, {}));
  const now = Date.now();
  const steady = (sequence: number) => encodeRecordBatch({ records: [{ value: `steady-${sequence}` }], producerId: 1, producerEpoch: 0, baseSequence: sequence });
  let sequence = 0;
  let lastSteadyOffset = log.append([steady(sequence++)], now)[0]!.baseOffset;
  const total = limits.producersPerPartitionMax + 2_000;
  for (let index = 0; index < total; index++) {
    const [result] = log.append([encodeRecordBatch({ records: [{ value: 'x' }], producerId: 1_000 + index, producerEpoch: 0, baseSequence: 0 })], now);
    if (result!.errorCode !== ErrorCode.NONE) t.fail(`producer ${1_000 + index}: error ${result!.errorCode}`);
    if (index % 1_000 === 0) lastSteadyOffset = log.append([steady(sequence++)], now)[0]!.baseOffset; // the steady producer keeps writing
  }
  t.ok(log.producerState.size <= limits.producersPerPartitionMax, `${log.producerState.size} producers held (bound ${limits.producersPerPartitionMax})`);
  t.equal(log.producerState.entry(1_000), undefined, 'the first of the flood is forgotten');
  t.ok(log.producerState.entry(1) !== undefined, 'the producer still writing is remembered');
  const end = log.logEndOffset;
  const [retry] = log.append([steady(sequence - 1)], now);
  t.same([retry!.errorCode, retry!.baseOffset], [ErrorCode.NONE, lastSteadyOffset], 'a retry of its last batch is answered with its original offset');
  t.equal(log.logEndOffset, end, 'and not appended again');
  log.close();
});
