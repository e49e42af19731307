#!/usr/bin/env node
// Compiles the project into dist/ once, and only when it is out of date: `npm run build`,
// and the prepare, prestart and pretest steps all run this script. Plain JavaScript, because
// it runs before anything is compiled.
//
// Up to date means: the last compile succeeded (dist/.build-ok exists, dated when that
// compile started, so a file saved during a compile counts as changed), no input (a .ts file
// under tsconfig.json's include folders, a folder holding them — a file added, removed or
// renamed changes it — or tsconfig.json itself) is newer than it, and every input has its
// .js. That check reads only file times (a few ms, against about 0.5 s for `tsc --build` to
// load and decide the same). When it fails, `tsc --build` compiles incrementally (only what
// changed, with dist/.tsbuildinfo); a failed compile leaves no dist/.build-ok, so the next
// run compiles (and reports the errors) again; an output missing although the build info
// says otherwise, which tsc's own check would not notice, makes it rebuild everything.
//
// The admin UI (src/ui/, TSX for the browser, which tsconfig.json excludes) is built after the
// compile, by its own check: when a file under src/ui/ is newer than dist/ui/.build-ok (or that is
// missing), `tsc -p src/ui` type-checks it (DOM types, Preact's JSX; no output) and esbuild bundles
// src/ui/main.tsx with Preact and uPlot into dist/ui/app.js and app.css, next to a copy of
// index.html. A failed check or bundle leaves no dist/ui/.build-ok.
//
// Several processes may start at once from one checkout (three `npm start`s): the compile
// runs under a lock file in dist/, so one process compiles and the others wait, then find
// dist/ up to date and start nothing of their own. A process that finds the lock held by a
// dead process (a killed build) takes it over.

import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(projectRoot, 'dist');
const builtStampPath = join(distDir, '.build-ok');
const lockPath = join(distDir, '.build-lock');
/** Taken only to remove a dead process's lock, so two processes never both remove one and take it. */
const breakLockPath = `${lockPath}-break`;
/** A full compile takes about a minute on a busy 2-core machine; waiting longer means something is wrong. */
const LOCK_WAIT_MS_MAX = 10 * 60_000;
const LOCK_POLL_MS = 100;
/** Removing a dead process's lock takes microseconds; a break lock older than this was left by a killed process. */
const BREAK_LOCK_STALE_MS = 10_000;

function say(message) {
  process.stderr.write(`build: ${message}\n`);
}

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw error;
  }
}

const uiDir = join(projectRoot, 'src', 'ui');
const uiDistDir = join(distDir, 'ui');
const uiStampPath = join(uiDistDir, '.build-ok');

/** The folders tsconfig.json leaves out (its `exclude` entries naming a folder), as absolute paths. */
function excludedFolders() {
  const config = JSON.parse(readFileSync(join(projectRoot, 'tsconfig.json'), 'utf8'));
  return new Set((config.exclude ?? []).filter((entry) => /^[\w./-]+$/.test(entry)).map((entry) => join(projectRoot, entry)));
}

/** The folders tsconfig.json compiles, from include patterns of the form `folder/**\/*.ts`; null when a pattern is of another form. */
function inputFolders() {
  const config = JSON.parse(readFileSync(join(projectRoot, 'tsconfig.json'), 'utf8'));
  const folders = [];
  for (const pattern of config.include ?? []) {
    const match = /^([\w.-]+)\/\*\*\/\*\.ts$/.exec(pattern);
    if (match === null) return null;
    folders.push(match[1]);
  }
  return folders;
}

/** Why dist/ must be compiled, or null when it is up to date. */
function staleReason() {
  const builtMs = mtimeMs(builtStampPath);
  if (builtMs === null) return 'no successful compile yet';
  if (mtimeMs(join(projectRoot, 'tsconfig.json')) > builtMs) return 'tsconfig.json changed';
  const folders = inputFolders();
  if (folders === null) return 'tsconfig.json includes more than folder/**/*.ts; left to tsc';
  const excluded = excludedFolders();
  for (const folder of folders) {
    const reason = staleIn(join(projectRoot, folder), builtMs, excluded);
    if (reason !== null) return reason;
  }
  return null;
}

function staleIn(dir, builtMs, excluded) {
  if (excluded.has(dir)) return null;
  const dirMs = mtimeMs(dir);
  if (dirMs === null) return null; // an include folder that does not exist holds no input
  if (dirMs > builtMs) return `${relative(projectRoot, dir)}/ changed`;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules') continue;
      const reason = staleIn(path, builtMs, excluded);
      if (reason !== null) return reason;
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      if (mtimeMs(path) > builtMs) return `${relative(projectRoot, path)} changed`;
      const output = join(distDir, relative(projectRoot, path)).replace(/\.ts$/, '.js');
      if (mtimeMs(output) === null) return `missing output ${relative(projectRoot, output)}`;
    }
  }
  return null;
}

/** Why the UI must be built, or null when dist/ui/ is up to date. */
function uiStaleReason() {
  const builtMs = mtimeMs(uiStampPath);
  if (builtMs === null) return 'no UI build yet';
  const newest = (dir) => {
    let latest = mtimeMs(dir) ?? 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      latest = Math.max(latest, entry.isDirectory() ? newest(path) : (mtimeMs(path) ?? 0));
    }
    return latest;
  };
  return newest(uiDir) > builtMs ? 'src/ui/ changed' : null;
}

async function buildUi(reason) {
  say(`building the UI (${reason})`);
  const startedMs = Date.now();
  removeIfPresent(uiStampPath);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const check = spawnSync(process.execPath, [tsc, '-p', join('src', 'ui', 'tsconfig.json')], { cwd: projectRoot, stdio: 'inherit' });
  if (check.error !== undefined) throw check.error;
  if (check.status !== 0) {
    say(`the UI's type check failed (${check.signal ?? `status ${check.status}`})`);
    return check.status ?? 1;
  }
  const esbuild = await import('esbuild');
  mkdirSync(uiDistDir, { recursive: true });
  await esbuild.build({
    entryPoints: [join(uiDir, 'main.tsx')],
    bundle: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    outfile: join(uiDistDir, 'app.js'),
    logLevel: 'warning',
  });
  writeFileSync(join(uiDistDir, 'index.html'), readFileSync(join(uiDir, 'index.html')));
  writeFileSync(uiStampPath, `built by process ${process.pid}\n`);
  const startedSeconds = startedMs / 1000;
  utimesSync(uiStampPath, startedSeconds, startedSeconds);
  say(`built the UI in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
  return 0;
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM'; // alive, owned by someone else
  }
}

/** Creates `path` holding this process's id; false when it exists. */
function createExclusive(path) {
  let fd;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if (error.code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

function readHolder(path) {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw error;
  }
}

function removeIfPresent(path) {
  try {
    unlinkSync(path);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
}

/**
 * Removes the lock if the process holding it `holder` is gone. Under the break lock, and
 * only if the lock still names that process, so a lock just taken by a live process is
 * never removed.
 */
function breakDeadLock(holder) {
  if (!createExclusive(breakLockPath)) {
    const breakMs = mtimeMs(breakLockPath);
    if (breakMs !== null && Date.now() - breakMs > BREAK_LOCK_STALE_MS) removeIfPresent(breakLockPath);
    return;
  }
  try {
    if (readHolder(lockPath) === holder) {
      say(`removing the lock of process ${holder}, which is gone`);
      removeIfPresent(lockPath);
    }
  } finally {
    removeIfPresent(breakLockPath);
  }
}

async function acquireLock() {
  mkdirSync(distDir, { recursive: true });
  const deadlineMs = Date.now() + LOCK_WAIT_MS_MAX;
  let announced = false;
  for (;;) {
    if (createExclusive(lockPath)) return;
    const holder = readHolder(lockPath);
    // An empty lock is one being written this instant; a number is its holder.
    if (holder !== null && holder !== '' && !processAlive(Number(holder))) {
      breakDeadLock(holder);
      continue;
    }
    if (!announced && holder !== null) {
      say(`waiting for the build of process ${holder}`);
      announced = true;
    }
    if (Date.now() > deadlineMs) {
      throw new Error(`waited ${LOCK_WAIT_MS_MAX / 1000} s for ${lockPath} (held by process ${holder}); remove it if that process is not building`);
    }
    await sleep(LOCK_POLL_MS);
  }
}

function compile(reason) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  // Build info that claims outputs which are gone would make tsc skip them: rebuild all.
  const force = reason.startsWith('missing output');
  say(`compiling (${reason})`);
  const startedMs = Date.now();
  removeIfPresent(builtStampPath);
  const result = spawnSync(process.execPath, [tsc, '--build', 'tsconfig.json', ...(force ? ['--force'] : [])], {
    cwd: projectRoot,
    stdio: 'inherit',
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) {
    say(`tsc failed (${result.signal ?? `status ${result.status}`})`);
    return result.status ?? 1;
  }
  writeFileSync(builtStampPath, `compiled by process ${process.pid}\n`);
  const startedSeconds = startedMs / 1000;
  utimesSync(builtStampPath, startedSeconds, startedSeconds);
  say(`compiled in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
  return 0;
}

async function main() {
  // Checked before and after: a build that starts while we read the file times holds the
  // lock before it writes anything, so seeing no lock after the check means no build overlapped it.
  if (mtimeMs(lockPath) === null) {
    const reason = staleReason() ?? uiStaleReason();
    if (reason === null && mtimeMs(lockPath) === null) {
      say('up to date');
      return 0;
    }
  }
  await acquireLock();
  try {
    const reason = staleReason();
    const uiReason = uiStaleReason();
    if (reason === null && uiReason === null) {
      say('up to date');
      return 0;
    }
    if (reason !== null) {
      const status = compile(reason);
      if (status !== 0) return status;
    }
    return uiReason === null ? 0 : await buildUi(uiReason);
  } finally {
    removeIfPresent(lockPath);
  }
}

const releaseOnSignal = (signal) => {
  // The lock is ours only if it names us; tsc, our child, gets the same signal from the terminal.
  if (readHolder(lockPath) === String(process.pid)) removeIfPresent(lockPath);
  process.exit(signal === 'SIGINT' ? 130 : 143);
};
process.once('SIGINT', releaseOnSignal);
process.once('SIGTERM', releaseOnSignal);

main().then(
  (code) => process.exit(code),
  (error) => {
    say(`failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
