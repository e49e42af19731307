// The project's own seeded mutation fuzzer, run as part of the suite with a fixed seed and
// a fixed number of cases (about a minute on a busy 2-core machine), against a real broker
// process, with a witness producer and consumer beside it. See test/fuzz/README.md.
// Every finding is printed with its seed, case number and the request's bytes (hex); replay
// one with `npm run fuzz -- --replay <seed>:<case>`. `npm run fuzz` runs many more cases.

import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { FUZZ_BROKER_OVERRIDES, FUZZ_INITIAL_REBALANCE_DELAY_MS, FuzzEngine } from './lib/engine.js';
import { findingDiagnostics, type Finding, type FindingKind } from './lib/findings.js';

/** Fixed, so that CI is reproducible. */
const SEED = 20_240_611;
/** Chosen to take about a minute on a busy 2-core machine (7,000 took 52 s here, at load 1.5, the whole test included). */
const CASES = 7_000;
const CONCURRENCY = 6;
const HEALTH_EVERY_CASES = 150;
/** Each crash costs a restart (about a second) and a new one replays; past this the run stops (and fails). */
const CRASHES_MAX = 25;

t.comment(`fuzz seed ${SEED}, ${CASES} cases (replay one: npm run fuzz -- --replay ${SEED}:<case>)`);
const broker = await BrokerProcess.start(t, { overrides: FUZZ_BROKER_OVERRIDES });
const summary = await new FuzzEngine({
  t,
  broker,
  seed: SEED,
  cases: CASES,
  concurrency: CONCURRENCY,
  healthEveryCases: HEALTH_EVERY_CASES,
  initialRebalanceDelayMs: FUZZ_INITIAL_REBALANCE_DELAY_MS,
  crashesMax: CRASHES_MAX,
  progress: (line) => t.comment(line),
}).run();

const resultsDir = join(tmpdir(), `spate-fuzz-${SEED}-${process.pid}`);
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
t.comment(`summary: ${join(resultsDir, 'summary.json')}`);
t.comment(`outcomes ${JSON.stringify(summary.outcomes)}; ${summary.batchesChecked} batches read back; broker rss max ${(summary.broker.rssBytesMax / 2 ** 20).toFixed(0)} MiB, fds max ${summary.broker.fdsMax}`);

function check(kinds: readonly FindingKind[], invariant: string): void {
  const found: Finding[] = summary.findings.filter((finding) => kinds.includes(finding.kind));
  if (found.length === 0) t.pass(invariant);
  for (const finding of found) t.fail(`${invariant}: ${finding.message}`, { ...findingDiagnostics(finding, resultsDir), stack: '', at: null });
}

t.equal(summary.casesRun, CASES, `all ${CASES} cases ran (${summary.stopReason})`);
check(['crash', 'stall'], 'zero crashes: the broker process stays alive and serving');
check(['hang'], `zero hangs: every fuzz request is answered or its connection closed in time`);
check(['handler-failure', 'log-error', 'node-warning'], 'the broker log shows no handler failure, uncaught error or warning');
check(['bad-response', 'amplification'], 'every response decodes, answers its request and stays within its size bound');
check(['corrupt-batch'], 'every batch the broker accepted reads back as valid records');
check(['rss', 'fds'], `the broker stays within its memory and descriptor bounds (rss ≤ ${(summary.broker.rssBytesBound / 2 ** 20).toFixed(0)} MiB, fds ≤ ${summary.broker.fdsBound})`);
check(['witness-latency', 'witness-error'], 'the witness is served within its latency bound throughout');
check(['witness-lost', 'witness-order', 'witness-corrupt'], 'the witness consumes every acknowledged record, in order, once (and again after a restart)');
check(['shutdown'], 'the broker stops gracefully at the end');
const witness = summary.witness;
t.ok(witness !== null && witness.acknowledged > 0, `the witness produced records (${witness?.acknowledged ?? 0} acknowledged, ${witness?.consumed ?? 0} consumed, ${witness?.readBackAfterRestart ?? 0} read back after the restart; produce latency max ${witness?.produceLatencyMsMax} ms, fetch ${witness?.fetchLatencyMsMax} ms)`);
