// Restarts with many partitions and many segments: after a clean shutdown the broker
// reads no log data to start (indexes of closed segments are read on first use, nothing
// is rescanned), so the bytes it reads at startup do not grow with the data; after
// kill -9 it rescans only what was not flushed (the active segment of each partition).

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { run } from '../helpers/run.js';

const PARTITIONS = 100;
const KiB = 1024;
const MiB = 1024 * KiB;

/** Bytes the process has read through read(2)-like calls (files and sockets), from /proc. */
function bytesRead(pid: number): number {
  const match = /^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (match === null) throw new Error(`no rchar in /proc/${pid}/io`);
  return Number(match[1]);
}

async function fill(t: Test, broker: BrokerProcess, megabytes: number): Promise<number> {
  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 5, {
    topics: [{ name: 'bulk', numPartitions: PARTITIONS, replicationFactor: 1, configs: [{ name: 'segment.bytes', value: String(256 * KiB) }] }],
    timeoutMs: 10_000,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
  client.destroy();
  const record = 'm'.repeat(1000);
  const input = Array.from({ length: megabytes * 1024 }, () => record).join('\n') + '\n';
  const produced = await run('kcat', ['-b', broker.bootstrap, '-t', 'bulk', '-P', '-X', 'batch.num.messages=64', '-X', 'linger.ms=20'], { input, timeoutMs: 120_000 });
  t.equal(produced.code, 0, produced.stderr);
  let segments = 0;
  for (let partition = 0; partition < PARTITIONS; partition++) {
    segments += readdirSync(join(broker.dataDir, `bulk-${partition}`)).filter((name) => name.endsWith('.log')).length;
  }
  return segments;
}

/** Restarts cleanly and returns the bytes the new process read up to "broker ready". */
async function cleanRestartReads(broker: BrokerProcess): Promise<number> {
  await broker.restart();
  return bytesRead(broker.pid!);
}

t.test('clean restart reads no log data, however much there is; a crash rescans only active segments', async (t) => {
  const small = await BrokerProcess.start(t);
  const smallSegments = await fill(t, small, 1);
  const big = await BrokerProcess.start(t);
  const bigSegments = await fill(t, big, 160);
  t.ok(bigSegments > 4 * PARTITIONS, `the big broker has ${bigSegments} segments (the small one ${smallSegments})`);

  const smallRead = await cleanRestartReads(small);
  const bigRead = await cleanRestartReads(big);
  t.match(big.log.slice(big.log.lastIndexOf('starting broker')), /opened 100 partition\(s\) in \d+ ms after a clean shutdown/);
  t.notMatch(big.log.slice(big.log.lastIndexOf('starting broker')), /recovery checked/, 'nothing is rescanned after a clean shutdown');
  t.ok(
    bigRead - smallRead < 1 * MiB,
    `startup reads do not grow with the data: ${(bigRead / MiB).toFixed(1)} MiB with 160 MiB of data vs ${(smallRead / MiB).toFixed(1)} MiB with 1 MiB`,
  );

  await big.kill();
  await big.restart();
  const afterCrash = big.log.slice(big.log.lastIndexOf('starting broker'));
  t.match(afterCrash, /after an unclean shutdown/);
  const checked = Number(/recovery checked (\d+) segment\(s\)/.exec(afterCrash)?.[1] ?? -1);
  t.ok(checked > 0 && checked <= PARTITIONS, `after kill -9 recovery checked ${checked} segments: the active ones, not all ${bigSegments}`);

  const consumed = await run('kcat', ['-b', big.bootstrap, '-t', 'bulk', '-C', '-e', '-q', '-o', 'beginning', '-f', '%s\n'], { timeoutMs: 120_000 });
  t.equal(consumed.stdout.length, 160 * 1024 * 1001, 'every record is still there');
});
