// What validating every record of a produced batch costs (Hardening finding 5), per codec,
// against the header-only check it replaced: checkProducedBatch alone (sizes, CRC-32C over
// the batch as produced) versus checkProducedBatch + validateRecordBatch (decompression and
// a walk of every record), on the same batches, in one thread as a shard runs them; and the
// full check with the records walked in JavaScript alone (no addon scan), what a shard does
// without the addon and what every shard did before native/record-scan.cc.
//
//   npm run bench:validation
//   node dist/bench/record-validation.js [--runs 5] [--seconds 1] [--records 100] [--message-bytes 1024] …
//
// The batches hold text records of roughly --message-bytes each (JSON-like lines with
// varying fields: gzip compresses them about 4:1), --records per batch, enough distinct
// batches for --corpus-bytes of records. Each codec compresses them as a producer would
// (snappy raw as librdkafka does). Batches are checked --batches-per-task to a synchronous
// task, as a shard's append command checks them, with the event loop turning between. Every
// run measures each (codec, check) pair for at least --seconds, in an order rotated every
// run; the table shows medians over the runs.
// Writes raw runs, medians, settings, the machine and the revision to
// bench/results/record-validation.json. bench/README.md explains the columns.

import { performance } from 'node:perf_hooks';
import { limits } from '../src/config/limits.js';
import { loadCrc32c } from '../src/native/crc32c.js';
import { loadRecordScanner } from '../src/native/record-scan.js';
import { CodecId, codecName, compress } from '../src/protocol/compression.js';
import { installCrc32c } from '../src/protocol/crc32c.js';
import { ErrorCode } from '../src/protocol/errors.js';
import { BATCH_HEADER_BYTES, BatchField, LOG_OVERHEAD, checkProducedBatch, computeBatchCrc, encodeRecordBatch } from '../src/protocol/record-batch.js';
import { installRecordScanner, validateRecordBatch, type RecordScanner, type ValidationOptions } from '../src/protocol/record-validation.js';
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

const USAGE = `usage: node dist/bench/record-validation.js [options]

  --runs N             rounds over every (codec, check) pair (default 5)
  --seconds S          at least this long per pair and round (default 1)
  --records N          records per batch (default 100)
  --message-bytes N    about this many bytes per record value (default 1024)
  --corpus-bytes SIZE  records in distinct batches per codec (default 32MiB)
  --batches-per-task N batches checked per synchronous task, as in one append command (default 16)
  --quiet-wait S       wait up to S seconds for an idle machine first (default 10)
  --out PATH           results file (default bench/results/record-validation.json; - for none)
`;

const CODECS = [CodecId.none, CodecId.gzip, CodecId.snappy, CodecId.lz4, CodecId.zstd] as const;
/** header: checkProducedBatch alone; full: and validateRecordBatch, as a shard runs it; full-js: the same without the addon's scan. */
type Check = 'header' | 'full' | 'full-js';
const CHECKS: readonly Check[] = ['header', 'full', 'full-js'];

interface Corpus {
  readonly codec: number;
  readonly batches: readonly Buffer[];
  /** Bytes of the batches as produced (compressed), and of their records uncompressed. */
  readonly wireBytes: number;
  readonly recordBytes: number;
}

interface Measurement {
  readonly codec: string;
  readonly check: Check;
  readonly batches: number;
  readonly wireBytes: number;
  readonly recordBytes: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

const WORDS = ['order', 'payment', 'shipment', 'user', 'session', 'click', 'search', 'cart', 'refund', 'login', 'error', 'warning'];

/** A JSON-like line: repeated field names, varying values, as application events look. */
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

/** A batch whose records section is compressed with `codec`, with a correct CRC. */
function compressedBatch(plain: Buffer, codec: number): Buffer {
  if (codec === CodecId.none) return plain;
  const payload = compress(codec, plain.subarray(BATCH_HEADER_BYTES));
  const batch = Buffer.concat([plain.subarray(0, BATCH_HEADER_BYTES), payload]);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BatchField.batchLength);
  batch.writeInt16BE(codec, BatchField.attributes);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

function buildCorpora(records: number, messageBytes: number, corpusBytes: number, nowMs: number): Corpus[] {
  const plain: Buffer[] = [];
  let recordBytes = 0;
  for (let batchIndex = 0; recordBytes < corpusBytes; batchIndex++) {
    const batch = encodeRecordBatch({
      records: Array.from({ length: records }, (_, index) => ({ key: `key-${(batchIndex * records + index) % 1000}`, value: messageText(batchIndex * records + index, messageBytes), timestamp: nowMs - 1000 + index })),
    });
    plain.push(batch);
    recordBytes += batch.length - BATCH_HEADER_BYTES;
  }
  return CODECS.map((codec) => {
    const batches = plain.map((batch) => compressedBatch(batch, codec));
    return { codec, batches, wireBytes: batches.reduce((sum, batch) => sum + batch.length, 0), recordBytes };
  });
}

function validationOptions(nowMs: number): ValidationOptions {
  return {
    nowMs,
    timestampType: 'CreateTime',
    timestampBeforeMaxMs: Infinity,
    timestampAfterMaxMs: 3_600_000,
    compacted: false,
    inflatedBytesMax: limits.batchInflatedBytesMax,
    libraryHeldBytesMax: limits.libraryHeldBytesPerTaskMax,
    recordErrorsMax: limits.recordErrorsReportedMax,
  };
}

const nextTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Checks every batch once, `batchesPerTask` to a synchronous task as a shard's append
 * command does (the event loop turns between, so memory freed from immediates is freed and
 * counted); throws if one is refused (the corpus is valid).
 */
async function checkAll(corpus: Corpus, check: Check, options: ValidationOptions, batchesPerTask: number): Promise<void> {
  for (let index = 0; index < corpus.batches.length; index++) {
    if (index % batchesPerTask === 0) await nextTask();
    const batch = corpus.batches[index]!;
    const header = checkProducedBatch(batch, 1 << 30);
    if (header.errorCode !== ErrorCode.NONE) throw new BenchError(`${codecName(corpus.codec)} batch refused by the header check: ${header.message}`);
    if (check !== 'header') {
      const verdict = validateRecordBatch(batch, options);
      if (verdict.errorCode !== ErrorCode.NONE) throw new BenchError(`${codecName(corpus.codec)} batch refused: ${verdict.message}`);
    }
  }
}

async function measurePair(corpus: Corpus, check: Check, seconds: number, options: ValidationOptions, batchesPerTask: number, scanner: RecordScanner | null): Promise<Measurement> {
  installRecordScanner(check === 'full-js' ? null : scanner);
  await checkAll(corpus, check, options, batchesPerTask); // warm up (JIT, codec libraries loaded)
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let passes = 0;
  do {
    await checkAll(corpus, check, options, batchesPerTask);
    passes++;
  } while (performance.now() - started < seconds * 1000);
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    codec: codecName(corpus.codec),
    check,
    batches: passes * corpus.batches.length,
    wireBytes: passes * corpus.wireBytes,
    recordBytes: passes * corpus.recordBytes,
    wallSeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

interface Summary {
  readonly codec: string;
  readonly check: Check;
  readonly batchWireBytes: number;
  readonly compressionRatio: number;
  /** Batches as produced (compressed) per second, in 10^6 bytes. */
  readonly wireMBps: number;
  /** Records (uncompressed) per second, in 10^6 bytes. */
  readonly recordMBps: number;
  /** CPU seconds (all threads) per 10^9 bytes of batches as produced. */
  readonly cpuSecondsPerWireGB: number;
  readonly cpuSecondsPerRecordGB: number;
}

function summarise(corpus: Corpus, check: Check, runs: readonly Measurement[]): Summary {
  return {
    codec: codecName(corpus.codec),
    check,
    batchWireBytes: Math.round(corpus.wireBytes / corpus.batches.length),
    compressionRatio: corpus.recordBytes / (corpus.wireBytes - corpus.batches.length * BATCH_HEADER_BYTES),
    wireMBps: median(runs.map((run) => run.wireBytes / run.wallSeconds / 1e6)),
    recordMBps: median(runs.map((run) => run.recordBytes / run.wallSeconds / 1e6)),
    cpuSecondsPerWireGB: median(runs.map((run) => run.cpuSeconds / (run.wireBytes / 1e9))),
    cpuSecondsPerRecordGB: median(runs.map((run) => run.cpuSeconds / (run.recordBytes / 1e9))),
  };
}

async function main(): Promise<void> {
  const projectRoot = findProjectRoot(import.meta.url);
  const values = parseOptions(process.argv.slice(2), ['runs', 'seconds', 'records', 'message-bytes', 'corpus-bytes', 'batches-per-task', 'quiet-wait', 'out'], USAGE);
  const runs = integerOption(values, 'runs', 5, 1);
  const seconds = integerOption(values, 'seconds', 1, 1);
  const records = integerOption(values, 'records', 100, 1);
  const messageBytes = integerOption(values, 'message-bytes', 1024, 64);
  const corpusBytes = bytesOption(values, 'corpus-bytes', 32 * 1024 * 1024, 1024);
  const batchesPerTask = integerOption(values, 'batches-per-task', 16, 1);
  const quietWait = integerOption(values, 'quiet-wait', 10, 0);
  const out = outOption(values, projectRoot, 'record-validation.json');

  const crc = loadCrc32c((message) => process.stderr.write(`${message}\n`));
  installCrc32c(crc.crc32c); // as a shard thread does
  const scanner = loadRecordScanner((message) => process.stderr.write(`${message}\n`));
  const nowMs = Date.now();
  const options = validationOptions(nowMs);
  process.stdout.write(`building ${corpusBytes} bytes of records in batches of ${records} × ~${messageBytes} bytes, for ${CODECS.length} codecs (CRC-32C: ${crc.name}; record scan: ${scanner === null ? 'none, JavaScript only' : 'the addon'})\n`);
  const corpora = buildCorpora(records, messageBytes, corpusBytes, nowMs);
  if (quietWait > 0) await waitForQuiet(quietWait);

  const pairs = corpora.flatMap((corpus) => CHECKS.map((check) => ({ corpus, check })));
  const measurements: Measurement[][] = pairs.map(() => []);
  for (let run = 0; run < runs; run++) {
    for (let step = 0; step < pairs.length; step++) {
      const index = (step + run) % pairs.length; // rotate the order every run
      const { corpus, check } = pairs[index]!;
      const measurement = await measurePair(corpus, check, seconds, options, batchesPerTask, scanner);
      measurements[index]!.push(measurement);
      process.stdout.write(
        `run ${run + 1}/${runs}  ${measurement.codec.padEnd(6)} ${check.padEnd(7)}  ${fixed(measurement.wireBytes / measurement.wallSeconds / 1e6, 0).padStart(6)} MB/s as produced  ${fixed(measurement.cpuSeconds / (measurement.wireBytes / 1e9), 2).padStart(6)} CPU s/GB\n`,
      );
    }
  }

  const summaries = pairs.map(({ corpus, check }, index) => summarise(corpus, check, measurements[index]!));
  const byCodec = corpora.map((corpus) => {
    const header = summaries.find((summary) => summary.codec === codecName(corpus.codec) && summary.check === 'header')!;
    const full = summaries.find((summary) => summary.codec === codecName(corpus.codec) && summary.check === 'full')!;
    const javascript = summaries.find((summary) => summary.codec === codecName(corpus.codec) && summary.check === 'full-js')!;
    return { codec: codecName(corpus.codec), header, full, javascript, addedCpuSecondsPerWireGB: full.cpuSecondsPerWireGB - header.cpuSecondsPerWireGB };
  });
  process.stdout.write(`\nMedians of ${runs} runs (MB = 10^6 bytes; "as produced" counts batches as they arrive, compressed; "records" counts them uncompressed)\n\n`);
  process.stdout.write(
    `${formatTable(
      ['codec', 'batch B', 'ratio', 'header MB/s', 'full MB/s', 'full rec MB/s', 'header CPU s/GB', 'full CPU s/GB', 'added CPU s/GB', 'JS walk CPU s/GB'],
      byCodec.map(({ codec, header, full, javascript, addedCpuSecondsPerWireGB }) => [
        codec,
        String(full.batchWireBytes),
        fixed(full.compressionRatio, 2),
        fixed(header.wireMBps, 0),
        fixed(full.wireMBps, 0),
        fixed(full.recordMBps, 0),
        fixed(header.cpuSecondsPerWireGB, 3),
        fixed(full.cpuSecondsPerWireGB, 3),
        fixed(addedCpuSecondsPerWireGB, 3),
        fixed(javascript.cpuSecondsPerWireGB, 3),
      ]),
    )}\n`,
  );
  if (out !== null) {
    const shown = writeResults(out, {
      benchmark: 'record-validation',
      settings: { runs, seconds, records, messageBytes, corpusBytes, batchesPerTask, crc32c: crc.name, recordScan: scanner === null ? 'javascript' : 'native', inflatedBytesMax: limits.batchInflatedBytesMax },
      medians: byCodec,
      runs: pairs.map(({ corpus, check }, index) => ({ codec: codecName(corpus.codec), check, measurements: measurements[index] })),
      machine: machineInfo(),
      revision: gitRevision(projectRoot),
      finishedAt: new Date().toISOString(),
    });
    process.stdout.write(`\nresults: ${shown}\n`);
  }
}

runBenchmark('record-validation', USAGE, main);
