// Builds librdkafka's own benchmark client, rdkafka_performance, from the example
// source Debian ships in librdkafka-dev, against the installed librdkafka. The example
// includes two librdkafka-internal headers (rd.h, rdtime.h); our stand-ins live in
// bench/rdkafka-perf/src. The binary goes to bench/.build (gitignored) and is rebuilt
// only when it is missing or older than its inputs. The same goes for the paced latency producer
// (bench/rdkafka-perf/paced-producer.c), a small librdkafka program of ours.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BenchError } from './bench-common.js';

export const EXAMPLE_SOURCE = '/usr/share/doc/librdkafka-dev/examples/rdkafka_performance.c';
const LIBRDKAFKA_INCLUDE = '/usr/include/librdkafka';

/** The client cannot be installed or built; the message says what to do (so no stack trace is shown). */
export class ClientSetupError extends BenchError {}

function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Installs librdkafka-dev (and a C compiler) with apt-get when they are missing; needs root. */
function installBuildDependencies(): void {
  const missing: string[] = [];
  if (!existsSync(EXAMPLE_SOURCE) || !existsSync(join(LIBRDKAFKA_INCLUDE, 'rdkafka.h'))) missing.push('librdkafka-dev');
  if (!commandExists('gcc')) missing.push('gcc', 'libc6-dev');
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new ClientSetupError(
      `the benchmark client needs ${missing.join(', ')} (for ${EXAMPLE_SOURCE} and a C compiler); ` +
        `install with: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
  process.stderr.write(`# installing ${missing.join(' ')} with apt-get (needed to build the benchmark clients)\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (update.status !== 0) throw new ClientSetupError(`apt-get update failed with status ${update.status}`);
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  if (install.status !== 0) throw new ClientSetupError(`apt-get install ${missing.join(' ')} failed with status ${install.status}`);
  if (!existsSync(EXAMPLE_SOURCE)) throw new ClientSetupError(`${EXAMPLE_SOURCE} is still missing after installing librdkafka-dev`);
}

function mtimeMs(path: string): number {
  return statSync(path).mtimeMs;
}

/** Builds `binary` with gcc `args` unless it is there and newer than every input. */
function buildWhenStale(name: string, binary: string, inputs: readonly string[], args: readonly string[]): string {
  installBuildDependencies();
  const fresh = existsSync(binary) && inputs.every((input) => mtimeMs(input) <= mtimeMs(binary));
  if (!fresh) {
    mkdirSync(dirname(binary), { recursive: true });
    process.stderr.write(`# building ${binary}: gcc ${args.join(' ')}\n`);
    const gcc = spawnSync('gcc', args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (gcc.status !== 0) throw new ClientSetupError(`building ${name} failed (gcc exit status ${gcc.status})`);
  }
  return binary;
}

/** Returns the path of a working rdkafka_performance binary, building it first when needed. */
export function ensureRdkafkaPerformance(projectRoot: string): string {
  const shimDir = join(projectRoot, 'bench', 'rdkafka-perf', 'src');
  const binary = join(projectRoot, 'bench', '.build', 'rdkafka_performance');
  if (!existsSync(join(shimDir, 'rd.h'))) throw new ClientSetupError(`missing shim headers in ${shimDir}`);
  const inputs = [EXAMPLE_SOURCE, ...readdirSync(shimDir).map((name) => join(shimDir, name))];
  // The example includes "../src/rd.h" and "rd.h": both resolve through -I<shimDir>.
  return buildWhenStale('rdkafka_performance', binary, inputs, ['-O2', '-Wall', `-I${shimDir}`, `-I${LIBRDKAFKA_INCLUDE}`, '-o', binary, EXAMPLE_SOURCE, '-lrdkafka', '-lpthread']);
}

/**
 * Returns the path of the paced latency producer (bench/rdkafka-perf/paced-producer.c: bursts of
 * what is due each millisecond, sleeping between them, payloads in rdkafka_performance's
 * LATENCY format), building it first when needed.
 */
export function ensurePacedProducer(projectRoot: string): string {
  const source = join(projectRoot, 'bench', 'rdkafka-perf', 'paced-producer.c');
  const binary = join(projectRoot, 'bench', '.build', 'paced-producer');
  return buildWhenStale('paced-producer', binary, [source], ['-O2', '-Wall', `-I${LIBRDKAFKA_INCLUDE}`, '-o', binary, source, '-lrdkafka']);
}

/** The librdkafka version the binary runs with, from its usage text (it prints it on a bad option). */
export function rdkafkaVersion(binary: string): string | null {
  const usage = spawnSync(binary, ['-h'], { encoding: 'utf8' });
  return /librdkafka version (\S+)/.exec(`${usage.stdout}${usage.stderr}`)?.[1] ?? null;
}
