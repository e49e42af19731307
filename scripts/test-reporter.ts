// The test suite's reporter (package.json's tap.reporter): one line per test file as it
// finishes (PASS, FAIL or SKIP, its time, its assertions), each failed assertion of a failed
// file under it (its subtest path, where it is, the diff or the error), and a closing
// summary. Plain text with no cursor codes, so a terminal, a log file and CI read the same.
// tap's own reporters redraw the screen (hundreds of lines of escape codes when captured).
//
// tap pipes the whole run to it as TAP: one subtest per file, files buffered whole, so the
// results that arrive between a file's "# Subtest" and its closing test point are that
// file's. Comments and passing assertions are left out here; every file's full TAP is in
// .tap/test-results/<file>.tap.

import { Transform, type TransformCallback } from 'node:stream';
import { Parser, type Result } from 'tap-parser';

/** Lines of a stack shown for a thrown error; the full one is in .tap/test-results. */
const STACK_LINES_MAX = 12;
const TIME_COLUMN_WIDTH = 8;

interface FileState {
  readonly name: string;
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
  readonly failures: Result[];
}

function newFile(name: string): FileState {
  return { name, passed: 0, failed: 0, skipped: 0, todo: 0, failures: [] };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function duration(ms: number): string {
  const totalSeconds = Math.round(ms / 1000);
  return totalSeconds < 60 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(totalSeconds / 60)} min ${totalSeconds % 60} s`;
}

function plural(count: number, word: string): string {
  return `${count.toLocaleString('en-US')} ${word}${count === 1 ? '' : 's'}`;
}

function indent(text: string, prefix: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** Where an assertion is, from tap's `at` (the TypeScript source when source maps resolve it). */
function location(diag: Record<string, unknown>): string | null {
  const at = diag['at'] as { fileName?: string; lineNumber?: number; columnNumber?: number } | undefined;
  if (at?.fileName === undefined) return null;
  return `${at.fileName}:${at.lineNumber ?? '?'}:${at.columnNumber ?? '?'}`;
}

/** The lines that say why an assertion failed: the diff, or found/wanted, or the error. */
function explanation(diag: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const where = location(diag);
  if (where !== null) lines.push(`at ${where}`);
  if (typeof diag['diff'] === 'string') {
    lines.push(diag['diff'].trimEnd());
  } else {
    for (const key of ['found', 'wanted', 'pattern', 'doesNotWant']) {
      if (key in diag) lines.push(`${key}: ${indent(show(diag[key]), '  ').trimStart()}`);
    }
  }
  for (const key of ['timeout', 'expired', 'signal', 'exitCode', 'code', 'errno', 'syscall']) {
    if (diag[key] !== undefined && diag[key] !== null && diag[key] !== 0) lines.push(`${key}: ${show(diag[key])}`);
  }
  // A thrown error's stack says where it came from; a failed assertion's `at` already says where it is.
  if (typeof diag['stack'] === 'string' && (where === null || diag['tapCaught'] !== undefined)) {
    const stack = diag['stack'].trimEnd().split('\n');
    lines.push('stack:', ...stack.slice(0, STACK_LINES_MAX).map((line) => `  ${line}`));
    if (stack.length > STACK_LINES_MAX) lines.push(`  … ${stack.length - STACK_LINES_MAX} more`);
  }
  return lines;
}

export default class SpateTestReporter extends Transform {
  private readonly parser = new Parser();
  private readonly startedMs = Date.now();
  private current: FileState | null = null;
  /** The file-level test point just seen, so its own result event is not counted as an assertion. */
  private fileResult: Result | null = null;
  private readonly finished: FileState[] = [];
  private readonly failedFiles: string[] = [];
  private skippedFiles = 0;
  private bailout: string | null = null;

  constructor() {
    super({ decodeStrings: false, encoding: 'utf8' });
    this.parser.on('child', (child: Parser) => {
      this.current = newFile(child.name);
    });
    this.parser.on('assert', (result: Result) => this.fileDone(result));
    this.parser.on('result', (result: Result) => this.count(result));
    this.parser.on('bailout', (reason: string) => {
      this.bailout = reason;
      this.line(`BAIL OUT: ${reason}`);
    });
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.parser.write(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.parser.end();
    this.summary();
    callback();
  }

  private line(text: string): void {
    this.push(`${text}\n`);
  }

  private count(result: Result): void {
    if (result === this.fileResult) return;
    const file = this.current;
    if (file === null) return; // a result outside any file: the runner's own
    if (result.skip !== false) file.skipped++;
    else if (result.todo !== false) file.todo++;
    else if (result.ok) file.passed++;
    else {
      file.failed++;
      file.failures.push(result);
    }
  }

  /** A file's closing test point: print its line, and its failures if it failed. */
  private fileDone(result: Result): void {
    this.fileResult = result;
    const file = this.current ?? newFile(result.name);
    this.current = null;
    this.finished.push(file);
    const time = seconds(result.time ?? 0).padStart(TIME_COLUMN_WIDTH);
    const assertions = plural(file.passed + file.failed, 'assertion');
    if (result.skip !== false) {
      this.skippedFiles++;
      this.line(`SKIP ${time}  ${result.name}${typeof result.skip === 'string' && result.skip !== '' ? `  (${result.skip})` : ''}`);
      return;
    }
    if (result.ok) {
      const skipped = file.skipped + file.todo > 0 ? `, ${file.skipped} skipped, ${file.todo} todo` : '';
      this.line(`PASS ${time}  ${result.name}  (${assertions}${skipped})`);
      return;
    }
    this.failedFiles.push(result.name);
    // No failed assertion: the process failed on its own (a crash, a timeout); its stderr went to the terminal above.
    const summary = file.failed > 0 ? `${file.failed} of ${assertions} failed` : `after ${assertions} passed; see its stderr above`;
    this.line(`FAIL ${time}  ${result.name}  (${summary})`);
    // A file that crashed or timed out may have no failed assertion of its own: its closing point says why.
    const failures = file.failures.length > 0 ? file.failures : [result];
    for (const failure of failures) {
      const path = failure.fullname.startsWith(`${result.name} > `) ? failure.fullname.slice(result.name.length + 3) : failure.fullname;
      this.line(`     ✗ ${path === result.name ? 'the test file failed' : path}`);
      const diag = (failure.diag ?? {}) as Record<string, unknown>;
      for (const text of explanation(diag)) this.line(indent(text, '         '));
    }
    const fileDiag = (result.diag ?? {}) as Record<string, unknown>;
    if (failures[0] !== result) {
      // How the test process ended, when that is part of the story (a crash, a timeout's signal).
      // (Exit code 1 is what any failed assertion gives, so it says nothing more.)
      const ending = ['exitCode', 'signal', 'timeout'].filter((key) => fileDiag[key] !== undefined && fileDiag[key] !== null && fileDiag[key] !== 0 && !(key === 'exitCode' && fileDiag[key] === 1));
      if (ending.length > 0) this.line(`       the test process ended with ${ending.map((key) => `${key} ${show(fileDiag[key])}`).join(', ')}`);
    }
    this.line(`       full output: .tap/test-results/${result.name}.tap`);
  }

  private summary(): void {
    const total = (key: 'passed' | 'failed' | 'skipped' | 'todo'): number => this.finished.reduce((sum, file) => sum + file[key], 0);
    const files = this.finished.length;
    const failedFiles = this.failedFiles.length;
    const passedFiles = files - failedFiles - this.skippedFiles;
    this.line('');
    this.line(
      `${plural(files, 'test file')}: ${passedFiles} passed, ${failedFiles} failed, ${this.skippedFiles} skipped; ` +
        `assertions: ${total('passed').toLocaleString('en-US')} passed, ${total('failed')} failed, ${total('skipped')} skipped, ${total('todo')} todo; ` +
        duration(Date.now() - this.startedMs),
    );
    if (this.bailout !== null) this.line(`Bailed out: ${this.bailout}`);
    if (failedFiles > 0) this.line(`FAILED: ${this.failedFiles.join(' ')}`);
    else if (this.bailout === null) this.line('All test files passed.');
  }
}
