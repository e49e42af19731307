// Runs Spate's own mutation fuzzer (test/fuzz/) for longer than the suite does, and
// replays what it finds.
//
//   npm run fuzz -- [--seed N] [--cases N] [--minutes M] [--first N] [--concurrency N]
//                   [--health-every N] [--crashes N] [--no-witness] [--no-restart] [--out DIR]
//   npm run fuzz -- --replay SEED:CASE[,CASE...] [--minimize]
//   npm run fuzz -- --replay-hex HEX|@FILE [--minimize]
//
// A run starts a broker (node dist/src/main.js, like the suite) on a free port with a
// temporary data directory, prints progress, and writes summary.json (and the hex of large
// requests) to --out (default: a new directory under the system's temp directory). It exits
// 0 when nothing was found, 1 when something was. --cases defaults to 10,000, or unbounded
// with --minutes.
//
// A replay starts a fresh broker, prepares the same fuzz topics, sends the case (by seed and
// number: regenerated exactly, except that topic ids come from the new broker; or given as
// bytes) and says what happened: answered, closed, hung, killed the broker, or made a
// handler throw. --minimize then shrinks the request field by field (decoded with the
// generated codec, shortened, re-encoded) while it still does the same thing, and prints
// the smallest request found.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess, type Teardownable } from '../test/helpers/broker-process.js';
import { FUZZ_BROKER_OVERRIDES, FUZZ_INITIAL_REBALANCE_DELAY_MS, FuzzEngine, describeFrame, prepareContext } from '../test/fuzz/lib/engine.js';
import { formatFinding } from '../test/fuzz/lib/findings.js';
import { generateCase, type FuzzContext } from '../test/fuzz/lib/cases.js';
import { minimizeFrame, Replayer } from '../test/fuzz/lib/replay.js';

interface Options {
  seed: number;
  cases: number | null;
  minutes: number | null;
  first: number;
  concurrency: number;
  healthEvery: number;
  crashes: number;
  witness: boolean;
  restart: boolean;
  out: string | null;
  replay: string | null;
  replayHex: string | null;
  minimize: boolean;
}

const USAGE = `usage: npm run fuzz -- [--seed N] [--cases N] [--minutes M] [--first N] [--concurrency N] [--health-every N]
                     [--crashes N] [--no-witness] [--no-restart] [--out DIR]
       npm run fuzz -- --replay SEED:CASE[,CASE...] [--minimize]
       npm run fuzz -- --replay-hex HEX|@FILE [--minimize]`;

function parseArguments(argv: readonly string[]): Options {
  const options: Options = {
    seed: Math.floor(Math.random() * 2 ** 31),
    cases: null,
    minutes: null,
    first: 0,
    concurrency: 6,
    healthEvery: 200,
    crashes: 100,
    witness: true,
    restart: true,
    out: null,
    replay: null,
    replayHex: null,
    minimize: false,
  };
  const number = (name: string, value: string | undefined): number => {
    const parsed = Number(value);
    if (value === undefined || !Number.isFinite(parsed) || parsed < 0) throw new Error(`${name} needs a non-negative number\n${USAGE}`);
    return parsed;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = (): string | undefined => argv[++i];
    switch (arg) {
      case '--seed':
        options.seed = Math.floor(number(arg, next()));
        break;
      case '--cases':
        options.cases = Math.floor(number(arg, next()));
        break;
      case '--minutes':
        options.minutes = number(arg, next());
        break;
      case '--first':
        options.first = Math.floor(number(arg, next()));
        break;
      case '--concurrency':
        options.concurrency = Math.max(1, Math.floor(number(arg, next())));
        break;
      case '--health-every':
        options.healthEvery = Math.max(1, Math.floor(number(arg, next())));
        break;
      case '--crashes':
        options.crashes = Math.max(1, Math.floor(number(arg, next())));
        break;
      case '--no-witness':
        options.witness = false;
        break;
      case '--no-restart':
        options.restart = false;
        break;
      case '--out':
        options.out = next() ?? null;
        break;
      case '--replay':
        options.replay = next() ?? null;
        break;
      case '--replay-hex':
        options.replayHex = next() ?? null;
        break;
      case '--minimize':
        options.minimize = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  return options;
}

/** Teardown for a script: what tap's t.teardown does in a test, run at the end. */
class Cleanup implements Teardownable {
  private readonly fns: (() => void | Promise<void>)[] = [];
  teardown(fn: () => void | Promise<void>): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.fns.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        process.stderr.write(`cleanup: ${(error as Error).message}\n`);
      }
    }
  }
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function fuzz(options: Options, cleanup: Cleanup): Promise<number> {
  const out = options.out ?? join(tmpdir(), `spate-fuzz-${options.seed}-${Date.now()}`);
  mkdirSync(out, { recursive: true });
  const cases = options.cases ?? (options.minutes !== null ? Number.MAX_SAFE_INTEGER : 10_000);
  say(`spate fuzz: seed ${options.seed}, ${options.minutes === null ? `${cases} cases` : `${options.minutes} min${options.cases === null ? '' : ` or ${cases} cases`}`}, results in ${out}`);
  const broker = await BrokerProcess.start(cleanup, { overrides: FUZZ_BROKER_OVERRIDES });
  const summary = await new FuzzEngine({
    t: cleanup,
    broker,
    seed: options.seed,
    cases,
    firstCase: options.first,
    durationMsMax: options.minutes === null ? undefined : options.minutes * 60_000,
    concurrency: options.concurrency,
    healthEveryCases: options.healthEvery,
    initialRebalanceDelayMs: FUZZ_INITIAL_REBALANCE_DELAY_MS,
    crashesMax: options.crashes,
    witness: options.witness,
    restartAtEnd: options.restart,
    progress: say,
  }).run();
  writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(out, 'broker.log'), broker.log);
  say('');
  say(`${summary.casesRun} cases in ${(summary.durationMs / 1000).toFixed(0)} s (${summary.stopReason}); outcomes ${JSON.stringify(summary.outcomes)}`);
  say(`broker: rss max ${(summary.broker.rssBytesMax / 2 ** 20).toFixed(0)} MiB (bound ${(summary.broker.rssBytesBound / 2 ** 20).toFixed(0)}), fds max ${summary.broker.fdsMax} (bound ${summary.broker.fdsBound}), ${summary.broker.restarts} restart(s)`);
  if (summary.witness !== null) say(`witness: ${JSON.stringify(summary.witness)}`);
  say(`${summary.findings.length} finding(s); summary in ${join(out, 'summary.json')}`);
  for (const finding of summary.findings) say(`\n${formatFinding(finding, out)}`);
  return summary.findings.length === 0 ? 0 : 1;
}

async function replay(options: Options, cleanup: Cleanup): Promise<number> {
  const broker = await BrokerProcess.start(cleanup, { overrides: FUZZ_BROKER_OVERRIDES });
  const frames: { label: string; frame: Buffer }[] = [];
  let context: FuzzContext;
  if (options.replay !== null) {
    const match = /^(\d+):([\d,]+)$/.exec(options.replay);
    if (match === null) throw new Error(`--replay takes SEED:CASE[,CASE...]\n${USAGE}`);
    context = await prepareContext(cleanup, broker.port, Number(match[1]), FUZZ_INITIAL_REBALANCE_DELAY_MS);
    for (const index of match[2]!.split(',').map(Number)) {
      const fuzzCase = generateCase(context, index);
      frames.push({ label: `seed ${fuzzCase.seed} case ${index}: ${fuzzCase.label} (${fuzzCase.mode})\n  - ${fuzzCase.notes.join('\n  - ')}`, frame: fuzzCase.frame });
    }
  } else {
    const text = options.replayHex!.startsWith('@') ? readFileSync(options.replayHex!.slice(1), 'utf8') : options.replayHex!;
    context = await prepareContext(cleanup, broker.port, 0, FUZZ_INITIAL_REBALANCE_DELAY_MS);
    frames.push({ label: 'request given as hex', frame: Buffer.from(text.replace(/\s+/g, ''), 'hex') });
  }
  const replayer = new Replayer(cleanup, broker, context);
  let found = false;
  for (const { label, frame } of frames) {
    say(label);
    say(`  ${describeFrame(frame)}`);
    const result = await replayer.play(frame);
    say(`  → ${result.summary}`);
    for (const line of result.evidence.slice(0, 30)) say(`  | ${line}`);
    if (result.kind === 'fine') continue;
    found = true;
    if (options.minimize) {
      const smallest = await minimizeFrame(frame, result, replayer, say);
      say(`  minimized to ${smallest.length} bytes (from ${frame.length}): ${describeFrame(smallest)}`);
      say(`  hex: ${smallest.length <= 4096 ? smallest.toString('hex') : `${smallest.toString('hex').slice(0, 512)}… (whole request in ${writeHex(smallest)})`}`);
    }
  }
  return found ? 1 : 0;
}

function writeHex(frame: Buffer): string {
  const dir = join(tmpdir(), 'spate-fuzz-minimized');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${Date.now()}.hex`);
  writeFileSync(file, `${frame.toString('hex')}\n`);
  return file;
}

async function main(): Promise<number> {
  const options = parseArguments(process.argv.slice(2));
  const cleanup = new Cleanup();
  const stop = (): void => {
    void cleanup.run().then(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return options.replay !== null || options.replayHex !== null ? await replay(options, cleanup) : await fuzz(options, cleanup);
  } finally {
    await cleanup.run();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`spate fuzz: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
