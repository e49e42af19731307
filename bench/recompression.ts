// What compression.type costs a shard: Log.append of the same produced batches (validation,
// offsets, the write to the page cache) into a topic that stores them as produced
// (compression.type=producer, the baseline) and into topics that recompress them to each
// codec, as Kafka's LogValidator does when the codecs differ. The batches come uncompressed
// (librdkafka's default) and lz4-compressed.
//
//   npm run build && node dist/bench/recompression.js
//   node dist/bench/recompression.js [--runs 3] [--seconds 1] [--records 100] [--message-bytes 1024] …
//
// Records are JSON-like lines of about --message-bytes (gzip compresses them about 4:1),
// --records to a batch, --batches-per-task batches to one append call as in a shard's append
// command, the event loop turning between calls. Each measurement appends the corpus to a fresh
// log in a temporary directory, again and again for at least --seconds; the table shows medians
// over the runs. Writes bench/results/recompression.json.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildBrokerConfig, resolveTopicConfig } from '../src/config/broker-config.js';
import { loadCrc32c } from '../src/native/crc32c.js';
import { CodecId, codecName, compress } from '../src/protocol/compression.js';
import { installCrc32c } from '../src/protocol/crc32c.js';
import { ErrorCode } from '../src/protocol/errors.js';
import { BATCH_HEADER_BYTES, BatchField, LOG_OVERHEAD, computeBatchCrc, encodeRecordBatch } from '../src/protocol/record-batch.js';
import { Log } from '../src/storage/log.js';
import {
  BenchError,
  bytesOption,
  findProjectRoot,
  fixed,
  formatTable,
  gitRevision,
  integerOption,
  machineInfo,
  median,
  outOption,
  parseOptions,
  runBenchmark,
  waitForQuiet,
  writeResults,
} from './lib/bench-common.js';

const USAGE = `usage: node dist/bench/recompression.js [options]

  --runs N             rounds over every (produced codec, compression.type) pair (default 3)
  --seconds S          at least this long per pair and round (default 1)
  --records N          records per batch (default 100)
  --message-bytes N    about this many bytes per record value (default 1024)
  --corpus-bytes SIZE  records per corpus (default 16MiB)
  --batches-per-task N batches per append call, as in one append command (default 16)
  --quiet-wait S       wait up to S seconds for an idle machine first (default 10)
  --out PATH           results file (default bench/results/recompression.json; - for none)
`;

const PRODUCED = [CodecId.none, CodecId.lz4] as const;
const TYPES = ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const WORDS = ['order', 'payment', 'shipment', 'user', 'session', 'click', 'search', 'cart', 'refund', 'login', 'error', 'warning'];

function messageText(index: number, bytes: number): string {
  let text = `{"id":${index},"type":"${WORDS[index % WORDS.length]}","ts":${1_700_000_000_000 + index * 37},"fields":{`;
  let field = 0;
  while (text.length < bytes - 40) {
    const word = WORDS[(index * 7 + field * 13) % WORDS.length]!;
    text += `"${word}_${field}":"${word}-${(index * 2654435761 + field * 40503) % 1_000_003}",`;
    field++;
  }
  return `${text}"end":true}}`;
}

interface Corpus {
  readonly codec: number;
  readonly batches: readonly Buffer[];
  readonly wireBytes: number;
  readonly recordBytes: number;
}

function buildCorpus(codec: number, records: number, messageBytes: number, corpusBytes: number, nowMs: number): Corpus {
  const batches: Buffer[] = [];
  let recordBytes = 0;
  for (let batchIndex = 0; recordBytes < corpusBytes; batchIndex++) {
    const plain = encodeRecordBatch({
      records: Array.from({ length: records }, (_, index) => ({ key: `key-${(batchIndex * records + index) % 1000}`, value: messageText(batchIndex * records + index, messageBytes), timestamp: nowMs - 1000 + index })),
    });
    recordBytes += plain.length - BATCH_HEADER_BYTES;
    if (codec === CodecId.none) {
      batches.push(plain);
      continue;
    }
    const batch = Buffer.concat([plain.subarray(0, BATCH_HEADER_BYTES), compress(codec, plain.subarray(BATCH_HEADER_BYTES))]);
    batch.writeInt32BE(batch.length - LOG_OVERHEAD, BatchField.batchLength);
    batch.writeInt16BE(codec, BatchField.attributes);
    batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
    batches.push(batch);
  }
  return { codec, batches, wireBytes: batches.reduce((sum, batch) => sum + batch.length, 0), recordBytes };
}

interface Measurement {
  readonly produced: string;
  readonly compressionType: string;
  readonly recordBytes: number;
  readonly storedBytes: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

const nextTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Appends the corpus once to a fresh log; returns the bytes stored. */
async function appendAll(corpus: Corpus, compressionType: string, batchesPerTask: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'spate-bench-recompression-'));
  try {
    const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;
    const log = Log.create(join(dir, 'bench-0'), 'AAAAAAAAAAAAAAAAAAAAAB', resolveTopicConfig(defaults, { 'compression.type': compressionType, 'max.message.bytes': String(64 * 1024 * 1024) }));
    for (let index = 0; index < corpus.batches.length; index += batchesPerTask) {
      await nextTask();
      const results = log.append(corpus.batches.slice(index, index + batchesPerTask), Date.now());
      const refused = results.find((result) => result.errorCode !== ErrorCode.NONE);
      if (refused !== undefined) throw new BenchError(`compression.type=${compressionType}: a batch was refused: ${refused.errorMessage}`);
    }
    const stored = log.sizeBytes;
    log.close();
    return stored;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(corpus: Corpus, compressionType: string, seconds: number, batchesPerTask: number): Promise<Measurement> {
  await appendAll(corpus, compressionType, batchesPerTask); // warm up
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let passes = 0;
  let storedBytes = 0;
  do {
    storedBytes = await appendAll(corpus, compressionType, batchesPerTask);
    passes++;
  } while (performance.now() - started < seconds * 1000);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    produced: codecName(corpus.codec),
    compressionType,
    recordBytes: passes * corpus.recordBytes,
    storedBytes,
    wallSeconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

async function main(): Promise<void> {
  const projectRoot = findProjectRoot(import.meta.url);
  const values = parseOptions(process.argv.slice(2), ['runs', 'seconds', 'records', 'message-bytes', 'corpus-bytes', 'batches-per-task', 'quiet-wait', 'out'], USAGE);
  const runs = integerOption(values, 'runs', 3, 1);
  const seconds = integerOption(values, 'seconds', 1, 1);
  const records = integerOption(values, 'records', 100, 1);
  const messageBytes = integerOption(values, 'message-bytes', 1024, 64);
  const corpusBytes = bytesOption(values, 'corpus-bytes', 16 * 1024 * 1024, 1024);
  const batchesPerTask = integerOption(values, 'batches-per-task', 16, 1);
  const quietWait = integerOption(values, 'quiet-wait', 10, 0);
  const out = outOption(values, projectRoot, 'recompression.json');

  const crc = loadCrc32c((message) => process.stderr.write(`${message}\n`));
  installCrc32c(crc.crc32c); // as a shard thread does
  const nowMs = Date.now();
  const corpora = PRODUCED.map((codec) => buildCorpus(codec, records, messageBytes, corpusBytes, nowMs));
  if (quietWait > 0) await waitForQuiet(quietWait);

  const pairs = corpora.flatMap((corpus) => TYPES.map((type) => ({ corpus, type })));
  const measurements: Measurement[][] = pairs.map(() => []);
  for (let run = 0; run < runs; run++) {
    for (let step = 0; step < pairs.length; step++) {
      const index = (step + run) % pairs.length; // rotate the order every run
      const { corpus, type } = pairs[index]!;
      const measurement = await measure(corpus, type, seconds, batchesPerTask);
      measurements[index]!.push(measurement);
      process.stdout.write(
        `run ${run + 1}/${runs}  produced ${measurement.produced.padEnd(4)} → ${type.padEnd(12)} ${fixed(measurement.recordBytes / measurement.wallSeconds / 1e6, 0).padStart(6)} MB/s of records  ${fixed(measurement.cpuSeconds / (measurement.recordBytes / 1e9), 2).padStart(6)} CPU s/GB\n`,
      );
    }
  }
  const summaries = pairs.map(({ corpus, type }, index) => {
    const runsOf = measurements[index]!;
    const baseline = measurements[pairs.findIndex((pair) => pair.corpus === corpus && pair.type === 'producer')]!;
    const cpuPerGB = median(runsOf.map((run) => run.cpuSeconds / (run.recordBytes / 1e9)));
    return {
      produced: codecName(corpus.codec),
      compressionType: type,
      storedRatio: corpus.recordBytes / runsOf[0]!.storedBytes,
      recordMBps: median(runsOf.map((run) => run.recordBytes / run.wallSeconds / 1e6)),
      cpuSecondsPerRecordGB: cpuPerGB,
      addedCpuSecondsPerRecordGB: cpuPerGB - median(baseline.map((run) => run.cpuSeconds / (run.recordBytes / 1e9))),
    };
  });
  process.stdout.write(`\nMedians of ${runs} runs (MB and GB = 10^6 and 10^9 bytes of records, uncompressed; "added" is over compression.type=producer for the same batches)\n\n`);
  process.stdout.write(
    `${formatTable(
      ['produced', 'compression.type', 'records/stored', 'MB/s', 'CPU s/GB', 'added CPU s/GB'],
      summaries.map((summary) => [
        summary.produced,
        summary.compressionType,
        fixed(summary.storedRatio, 2),
        fixed(summary.recordMBps, 0),
        fixed(summary.cpuSecondsPerRecordGB, 2),
        fixed(summary.addedCpuSecondsPerRecordGB, 2),
      ]),
    )}\n`,
  );
  if (out !== null) {
    const shown = writeResults(out, {
      benchmark: 'recompression',
      settings: { runs, seconds, records, messageBytes, corpusBytes, batchesPerTask, crc32c: crc.name },
      medians: summaries,
      runs: pairs.map(({ corpus, type }, index) => ({ produced: codecName(corpus.codec), compressionType: type, measurements: measurements[index] })),
      machine: machineInfo(),
      revision: gitRevision(projectRoot),
      finishedAt: new Date().toISOString(),
    });
    process.stdout.write(`\nresults: ${shown}\n`);
  }
}

runBenchmark('recompression', USAGE, main);
