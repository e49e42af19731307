// `spate produce`, `spate consume`, `spate log-dirs` and `spate delete-records` against a
// real broker through the real binary, cross-checked with kcat (librdkafka); `spate consume`
// reads batches kcat and confluent-kafka compressed in every codec.
// Independent subtests run in parallel (each CLI run is a process).

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines } from '../helpers/json-lines.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';
import { murmur2 } from '../../src/cli/produce.js';
import { CodecId } from '../../src/protocol/compression.js';
import { Attribute, readBatchHeader, splitBatches } from '../../src/protocol/record-batch.js';
import { cliMain, describe, spate } from './fixtures/spate.js';

const CONFLUENT_CODECS = { gzip: CodecId.gzip, snappy: CodecId.snappy, lz4: CodecId.lz4, zstd: CodecId.zstd } as const;
const CONFLUENT_MESSAGES = 400;

/** The compression codecs of the record batches stored in a partition's segment files. */
function storedCodecs(partitionDir: string): Set<number> {
  const codecs = new Set<number>();
  for (const name of readdirSync(partitionDir).filter((file) => file.endsWith('.log'))) {
    for (const batch of splitBatches(readFileSync(join(partitionDir, name)))) codecs.add(readBatchHeader(batch).attributes & Attribute.compressionMask);
  }
  return codecs;
}

/** 20,000 lines: ASCII, UTF-8, tabs, a '\r', empty lines, growing lengths. */
function sampleLines(count: number): string {
  const lines: string[] = [];
  for (let index = 0; index < count; index++) {
    if (index % 997 === 0) lines.push('');
    else lines.push(`line ${index}\t${'x'.repeat(index % 150)} ✓ ünïcödé${index % 10 === 0 ? '\r' : ''}`);
  }
  return lines.join('\n') + '\n';
}

t.test('produce, consume, log-dirs, delete-records', async (t) => {
  const broker = await BrokerProcess.start(t);
  const b = broker.bootstrap;
  const created = await Promise.all(
    [
      ['cli-lines', '1'],
      ['cli-keyed', '3'],
      ['cli-kcat-keyed', '3'],
      ['cli-follow', '1'],
      ['cli-codecs', '1'],
      ['cli-three', '3'],
    ].map(([name, partitions]) => spate(b, ['topics', 'create', name!, '--partitions', partitions!])),
  );
  for (const result of created) t.equal(result.code, 0, describe(result));
  t.jobs = 3;

  t.test('20,000 lines: produce, consume back byte-identical, log-dirs, delete-records', async (t) => {
    const input = sampleLines(20_000);
    const lines = input.split('\n');
    const produced = await spate(b, ['produce', 'cli-lines', '--batch-size', '500'], { input });
    t.equal(produced.code, 0, describe(produced));
    t.match(produced.stderr, /^produced 20000 records \(.*\) to cli-lines in /m, 'summary line on stderr');
    t.equal(produced.out, '', 'nothing on stdout');

    const [kcat, consumed, fromOffset, idle, latest, dirsJson, dirsText] = await Promise.all([
      run('kcat', ['-b', b, '-t', 'cli-lines', '-C', '-e', '-q', '-o', 'beginning']),
      spate(b, ['consume', 'cli-lines', '--from-beginning', '--max-messages', '20000']),
      spate(b, ['consume', 'cli-lines', '--partition', '0', '--offset', '1234', '--max-messages', '3', '--print-offset']),
      spate(b, ['consume', 'cli-lines', '--from-beginning', '--timeout-ms', '3000']),
      spate(b, ['consume', 'cli-lines', '--timeout-ms', '500']),
      spate(b, ['log-dirs', '--topic', 'cli-lines', '--topic', 'cli-keyed', '--json']),
      spate(b, ['log-dirs']),
    ]);
    t.equal(kcat.code, 0, 'kcat -C exits 0');
    t.ok(kcat.stdout.equals(Buffer.from(input)), `kcat reads the same bytes (${kcat.stdout.length} of ${Buffer.byteLength(input)})`);
    t.equal(consumed.code, 0, describe(consumed));
    t.ok(consumed.stdout.equals(Buffer.from(input)), `spate consume prints the same bytes (${consumed.stdout.length} of ${Buffer.byteLength(input)})`);
    t.match(consumed.stderr, /Processed a total of 20000 messages/);
    t.equal(fromOffset.code, 0, describe(fromOffset));
    t.equal(fromOffset.out, [1234, 1235, 1236].map((offset) => `0:${offset}\t${lines[offset]}\n`).join(''), '--offset, --max-messages, --print-offset');
    t.equal(idle.code, 0, `--timeout-ms ends the run: ${describe(idle)}`);
    t.ok(idle.stdout.equals(Buffer.from(input)), 'after printing everything');
    t.equal(latest.code, 0, describe(latest));
    t.equal(latest.out, '', 'without --from-beginning only new records are printed');

    t.equal(dirsJson.code, 0, describe(dirsJson));
    const dirs = JSON.parse(dirsJson.out) as any[];
    t.equal(dirs.length, 1, 'one log directory');
    t.equal(dirs[0].logDir, broker.dataDir);
    t.ok(dirs[0].totalBytes > 0 && dirs[0].usableBytes > 0, 'total and usable bytes');
    const partitions = dirs[0].partitions.map((p: any) => `${p.topic}-${p.partition}`);
    t.same(partitions, ['cli-keyed-0', 'cli-keyed-1', 'cli-keyed-2', 'cli-lines-0'], 'only the topics asked for');
    const size = dirs[0].partitions.find((p: any) => p.topic === 'cli-lines').sizeBytes;
    t.ok(size > Buffer.byteLength(input), `cli-lines takes ${size} bytes`);
    t.equal(dirsText.code, 0, describe(dirsText));
    t.match(dirsText.out, new RegExp(`^${broker.dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} {2}\\(total .*, usable .*\\)$`, 'm'));
    t.match(dirsText.out, new RegExp(`^ {2}cli-lines +0 +${size} `, 'm'));

    const deleted = await spate(b, ['delete-records', 'cli-lines', '--partition', '0', '--offset', '15000']);
    t.equal(deleted.code, 0, describe(deleted));
    t.match(deleted.out, /^Partition 0 of cli-lines: log start offset is now 15000\.$/m);
    const [beginning, belowStart, tooFar] = await Promise.all([
      spate(b, ['consume', 'cli-lines', '--from-beginning', '--max-messages', '2', '--print-offset']),
      spate(b, ['consume', 'cli-lines', '--partition', '0', '--offset', '10', '--max-messages', '1', '--print-offset']),
      spate(b, ['delete-records', 'cli-lines', '--partition', '0', '--offset', '999999']),
    ]);
    t.equal(beginning.code, 0, describe(beginning));
    t.equal(beginning.out, `0:15000\t${lines[15000]}\n0:15001\t${lines[15001]}\n`, '--from-beginning starts at the new log start');
    t.equal(belowStart.code, 0, describe(belowStart));
    t.match(belowStart.stderr, /^OFFSET_OUT_OF_RANGE: offset 10 of partition 0 is outside the log \(15000 to 20000\); continuing at 15000$/m);
    t.equal(belowStart.out, `0:15000\t${lines[15000]}\n`);
    t.equal(tooFar.code, 1, describe(tooFar));
    t.match(tooFar.stderr, /^error: OFFSET_OUT_OF_RANGE: partition 0 of topic "cli-lines"/m);
  });

  t.test('consume follows the topic until SIGINT', async (t) => {
    // --from-beginning, so that records produced before its first fetch count too.
    const follower = ClientProcess.spawn(t, process.execPath, [cliMain, '--bootstrap-server', b, 'consume', 'cli-follow', '--from-beginning', '--print-key']);
    const stillRunning = await Promise.race([follower.exited.then(() => false), new Promise((resolve) => setTimeout(() => resolve(true), 1_000))]);
    t.ok(stillRunning, `the follower keeps running: ${follower.stderr}`);
    const produced = await spate(b, ['produce', 'cli-follow', '--key-separator', ':'], { input: 'k:first\nsecond\n' });
    t.equal(produced.code, 0, describe(produced));
    await follower.waitForLine((line) => line === 'null\tsecond', 15_000);
    t.same(follower.lines, ['k\tfirst', 'null\tsecond']);
    follower.child.kill('SIGINT');
    t.equal(await follower.exited, 0, 'SIGINT ends it with exit 0');
    t.match(follower.stderr, /Processed a total of 2 messages/);
  });

  t.test('keyed records go to the partition the Java client would choose', async (t) => {
    const keys = Array.from({ length: 30 }, (_, index) => `key-${index}`);
    const keyedInput = keys.map((key, index) => `${key}\tvalue ${index}\n`).join('');
    const produced = await spate(b, ['produce', 'cli-keyed', '--key-separator', '\\t'], { input: keyedInput });
    t.equal(produced.code, 0, describe(produced));
    // librdkafka's murmur2_random partitioner is the Java client's default partitioner.
    const kcatProduced = await run('kcat', ['-b', b, '-t', 'cli-kcat-keyed', '-P', '-K', '\t', '-X', 'partitioner=murmur2_random'], { input: keyedInput });
    t.equal(kcatProduced.code, 0, kcatProduced.stderr);
    const format = ['-C', '-e', '-q', '-o', 'beginning', '-f', '%p %k %s\n'];
    const [ours, theirs] = await Promise.all([
      run('kcat', ['-b', b, '-t', 'cli-keyed', ...format]),
      run('kcat', ['-b', b, '-t', 'cli-kcat-keyed', ...format]),
    ]);
    const sorted = (text: Buffer): string[] => text.toString().trim().split('\n').sort();
    t.same(sorted(ours.stdout), sorted(theirs.stdout), 'same partition, key and value for every record');
    t.equal(sorted(ours.stdout).length, 30);
    for (const line of sorted(ours.stdout)) {
      const [partition, key] = line.split(' ');
      t.equal(Number(partition), (murmur2(Buffer.from(key!)) & 0x7fffffff) % 3, `${key} in partition ${partition}`);
    }
    const withKeys = await spate(b, ['consume', 'cli-keyed', '--from-beginning', '--max-messages', '30', '--print-key', '--key-separator', '=']);
    t.equal(withKeys.code, 0, describe(withKeys));
    t.same(withKeys.out.trim().split('\n').sort(), keys.map((key, index) => `${key}=value ${index}`).sort());
  });

  t.test('produce and consume errors, --partition and --acks', async (t) => {
    const [badPartition, acks0, acks1, unknownTopic, unknownDirs] = await Promise.all([
      spate(b, ['produce', 'cli-three', '--partition', '7'], { input: 'x\n' }),
      spate(b, ['produce', 'cli-acks', '--acks', '0', '--partition', '0'], { input: 'a0\nb0\n' }),
      spate(b, ['produce', 'cli-three', '--acks', '1', '--partition', '2'], { input: 'on-two\n' }),
      spate(b, ['consume', 'cli-missing', '--timeout-ms', '100']),
      spate(b, ['log-dirs', '--topic', 'cli-missing']),
    ]);
    t.equal(badPartition.code, 1, describe(badPartition));
    t.match(badPartition.stderr, /^error: UNKNOWN_TOPIC_OR_PARTITION: partition 7 of topic "cli-three"/m);
    t.equal(acks0.code, 0, describe(acks0));
    t.equal(acks1.code, 0, describe(acks1));
    t.equal(unknownTopic.code, 1, describe(unknownTopic));
    t.match(unknownTopic.stderr, /^error: UNKNOWN_TOPIC_OR_PARTITION: topic "cli-missing"/m);
    t.equal(unknownDirs.code, 1, describe(unknownDirs));
    t.match(unknownDirs.stderr, /^error: UNKNOWN_TOPIC_OR_PARTITION: /m);
    const [read0, onTwo] = await Promise.all([
      spate(b, ['consume', 'cli-acks', '--from-beginning', '--max-messages', '2', '--timeout-ms', '10000']),
      spate(b, ['consume', 'cli-three', '--from-beginning', '--timeout-ms', '1000', '--print-offset']),
    ]);
    t.equal(read0.out, 'a0\nb0\n', 'acks=0 records arrived (the topic was auto-created)');
    t.equal(onTwo.out, '2:0\ton-two\n', '--partition 2 put it there');
  });

  t.test('compressed batches of every codec are read', async (t) => {
    const codecs = ['gzip', 'snappy', 'lz4', 'zstd'];
    const body = (codec: string): string => Array.from({ length: 50 }, (_, index) => `${codec} ${'a'.repeat(60)} ${index}\n`).join('');
    for (const codec of codecs) {
      const result = await run('kcat', ['-b', b, '-t', 'cli-codecs', '-P', '-z', codec, '-p', '0'], { input: body(codec) });
      t.equal(result.code, 0, result.stderr);
    }
    const plain = await spate(b, ['produce', 'cli-codecs'], { input: 'plain after\n' });
    t.equal(plain.code, 0, describe(plain));
    const consumed = await spate(b, ['consume', 'cli-codecs', '--from-beginning', '--max-messages', '201', '--print-offset']);
    t.equal(consumed.code, 0, describe(consumed));
    const expected = codecs.flatMap((codec) => body(codec).split('\n').slice(0, 50)).map((line, index) => `0:${index}\t${line}\n`).join('');
    t.equal(consumed.out, `${expected}0:200\tplain after\n`, 'every record of every codec, in order');
    t.notMatch(consumed.stderr, /skipping/, 'nothing skipped');
  });

  t.test('batches confluent-kafka compressed in each codec are read as kcat reads them', async (t) => {
    for (const [codec, codecId] of Object.entries(CONFLUENT_CODECS)) {
      const topic = `cli-confluent-${codec}`;
      const produced = await run(PYTHON, [pythonScript('produce_keyed.py'), b, topic, codec, String(CONFLUENT_MESSAGES), '7'], { timeoutMs: 60_000 });
      t.equal(produced.code, 0, `produce_keyed.py ${codec} exits 0`, { stderr: produced.stderr });
      t.match(jsonLines(produced.stdout).find((line) => line.type === 'done'), { delivered: CONFLUENT_MESSAGES, failed: 0 }, `${codec}: every message delivered`);
      const codecs = storedCodecs(join(broker.dataDir, `${topic}-0`));
      // librdkafka sends a batch uncompressed when the codec does not make it smaller, so
      // an uncompressed batch may sit among the compressed ones; the codec must be there.
      t.ok(codecs.has(codecId) && [...codecs].every((stored) => stored === codecId || stored === 0), `${codec}: the stored batches are ${codec}-compressed (or, where it would not shrink them, uncompressed): ${[...codecs].join(',')}`);

      const [consumed, kcat] = await Promise.all([
        spate(b, ['consume', topic, '--from-beginning', '--max-messages', String(CONFLUENT_MESSAGES), '--print-offset', '--print-key']),
        run('kcat', ['-b', b, '-t', topic, '-C', '-e', '-q', '-o', 'beginning', '-f', '%p:%o\t%k\t%s\n']),
      ]);
      t.equal(consumed.code, 0, describe(consumed));
      t.notMatch(consumed.stderr, /skipping/, `${codec}: nothing skipped`);
      t.equal(consumed.out.split('\n').length - 1, CONFLUENT_MESSAGES, `${codec}: every record printed`);
      t.equal(consumed.out, kcat.stdout.toString(), `${codec}: the same lines as kcat prints`);
    }
  });

});
