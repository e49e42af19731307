// Watching the broker process from outside: is it alive and serving a well-behaved client
// (ApiVersions and Metadata on a new connection, within a bound), how much memory and how
// many descriptors it holds (/proc/<pid>/status VmRSS, /proc/<pid>/fd), and what its log
// says that only a bug would say (a handler that threw, an uncaught error, an ERROR line,
// a Node warning such as TimeoutOverflowWarning).

import { apiVersionsApi, metadataApi } from '../../../src/protocol/generated/index.js';
import { ErrorCode, errorName } from '../../../src/protocol/errors.js';
import type { Teardownable } from '../../helpers/broker-process.js';
import { processUsage } from '../../helpers/process-usage.js';
import { RawClient } from '../../helpers/raw-client.js';

export interface ProcessStats {
  readonly rssBytes: number;
  readonly fds: number;
}

/** The broker's resident memory and open descriptors, or null when the process is gone. */
export function processStats(pid: number | undefined): ProcessStats | null {
  if (pid === undefined) return null;
  try {
    const usage = processUsage(pid);
    return { rssBytes: usage.rssBytes, fds: usage.descriptors };
  } catch {
    return null; // gone between the check and the read: the engine's crash check says so
  }
}

export type Health = { ok: true; latencyMs: number; partitions: number; topics: number } | { ok: false; error: string };

/** A separate, well-behaved client is served: ApiVersions v3 then Metadata v12 (every topic), within `timeoutMs` each. */
export async function healthCheck(t: Teardownable, port: number, timeoutMs: number): Promise<Health> {
  const started = Date.now();
  let client: RawClient | null = null;
  try {
    client = await RawClient.connect(t, port, '127.0.0.1', timeoutMs);
    const versions = await client.request(apiVersionsApi, 3, { clientSoftwareName: 'spate-fuzz-health', clientSoftwareVersion: '1.0' }, { timeoutMs });
    if (versions.errorCode !== ErrorCode.NONE) return { ok: false, error: `ApiVersions: ${errorName(versions.errorCode)}` };
    const metadata = await client.request(metadataApi, 12, { topics: null, allowAutoTopicCreation: false }, { timeoutMs });
    const partitions = metadata.topics.reduce((sum, topic) => sum + topic.partitions.length, 0);
    return { ok: true, latencyMs: Date.now() - started, partitions, topics: metadata.topics.length };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    client?.destroy();
  }
}

export type LogFindingKind = 'handler-failure' | 'log-error' | 'node-warning';

export interface LogFinding {
  readonly kind: LogFindingKind;
  /** What distinguishes this bug from others (numbers and names normalized away). */
  readonly signature: string;
  readonly lines: string[];
  /** The client port named in the line, when it names one. */
  readonly peerPort: number | null;
}

/** Numbers, quoted text, hex and UUID-like tokens replaced so that one bug has one signature. */
export function normalize(text: string): string {
  return text
    .replace(/\b(group|topic) .*? (failed|is|has|was)\b/g, '$1 … $2')
    .replace(/(.)\1{15,}/g, '$1…')
    .replace(/"[^"]*"|'[^']*'/g, '"…"')
    .replace(/\b[0-9a-f]{8}-[0-9a-f-]{27}\b/gi, '<uuid>')
    .replace(/0x[0-9a-f]+/gi, '#')
    .replace(/-?\d+(\.\d+)?/g, '#')
    .slice(0, 300);
}

/** Protocol primitives: a frame in them says little about which caller went wrong. */
const PRIMITIVE_FILES = /src\/protocol\/(writer|reader|message)\.js$/;

/**
 * Where in the project's own code an error was thrown, "file.js:line": the first stack frame
 * in dist/src/, followed by the first one outside the protocol primitives when that is a
 * different one (a string too long for the writer is a different bug in each response).
 */
export function firstOwnFrame(lines: readonly string[]): string {
  const frames: string[] = [];
  for (const line of lines) {
    const match = /\/dist\/(src\/[^:)]+):(\d+)/.exec(line);
    if (match === null) continue;
    frames.push(`${match[1]}:${match[2]}`);
    if (!PRIMITIVE_FILES.test(match[1]!)) break;
  }
  if (frames.length <= 1) return frames[0] ?? '';
  return `${frames[0]} < ${frames[frames.length - 1]}`;
}

/** Reads the broker's log incrementally and reports the lines that show bugs. */
export class LogScanner {
  private offset = 0;

  constructor(private readonly source: () => string) {}

  /** Skips everything logged so far. */
  skipToEnd(): void {
    this.offset = this.source().length;
  }

  scan(): LogFinding[] {
    const text = this.source();
    const end = text.lastIndexOf('\n') + 1;
    if (end <= this.offset) return [];
    const lines = text.slice(this.offset, end).split('\n');
    this.offset = end;
    const findings: LogFinding[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const stack: string[] = [];
      while (i + 1 < lines.length && /^\s+at |^\s*\[cause\]|^\s*\}|^\s+code:/.test(lines[i + 1]!)) stack.push(lines[++i]!);
      const failed = /(\w+) handler failed for [^\s:]+:(\d+): (.*)$/.exec(line);
      if (failed !== null) {
        findings.push({
          kind: 'handler-failure',
          signature: `${failed[1]}: ${normalize(failed[3]!)} @ ${firstOwnFrame(stack)}`,
          lines: [line, ...stack.slice(0, 12)],
          peerPort: Number(failed[2]),
        });
        continue;
      }
      const warning = /\(node:\d+\) (\w*Warning): (.*)$/.exec(line);
      if (warning !== null) {
        findings.push({ kind: 'node-warning', signature: `${warning[1]}: ${normalize(warning[2]!)}`, lines: [line, ...stack.slice(0, 12)], peerPort: null });
        continue;
      }
      // Only the broker's own log lines (timestamp first): a crash's output is the crash episode's.
      if (/^\d{4}-\d\d-\d\dT\S+ (ERROR |.*(uncaught|unhandled))/i.test(line)) {
        const peer = /127\.0\.0\.1:(\d+)/.exec(line);
        const message = line.replace(/^\S+ ERROR\s+/, '');
        findings.push({
          kind: 'log-error',
          signature: `${normalize(message)} @ ${firstOwnFrame(stack)}`,
          lines: [line, ...stack.slice(0, 12)],
          peerPort: peer === null ? null : Number(peer[1]),
        });
      }
    }
    return findings;
  }
}

/**
 * What killed the broker, from its output since the last start: the error line Node or
 * main.ts printed and the first frame in the project's code.
 */
export function crashSignature(output: string, exit: string | null): { signature: string; excerpt: string[] } {
  const lines = output.split('\n');
  const errorAt = lines.findIndex((line) => /^(\w*Error\b|spate: fatal|FATAL ERROR|Uncaught|\s*\w+Error \[)/.test(line));
  const excerpt = errorAt >= 0 ? lines.slice(Math.max(errorAt - 6, 0), errorAt + 16) : lines.slice(-30);
  const message = errorAt >= 0 ? lines[errorAt]! : `exit ${exit ?? 'unknown'} with no error printed`;
  return { signature: `${normalize(message)} @ ${firstOwnFrame(lines.slice(errorAt >= 0 ? errorAt : 0))}`, excerpt };
}
