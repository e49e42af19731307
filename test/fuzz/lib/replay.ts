// Replaying one request against a broker and saying what it did (answered, closed, hung,
// killed the broker, made a handler throw, drew a malformed response), and shrinking a
// request that does something wrong to a small one that still does: the request is decoded
// with the generated codec, then arrays are cut to one entry or none, strings and byte
// fields emptied or halved, numbers zeroed, unknown tagged fields and garbage after the body
// dropped — each change kept only if the same failure (kind and signature) still happens.
// Used by scripts/fuzz.ts (--replay, --replay-hex, --minimize).

import { apiSchemas, fetchApi, produceApi } from '../../../src/protocol/generated/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { splitBatches } from '../../../src/protocol/record-batch.js';
import { checkBatch } from '../../helpers/batch-check.js';
import { readRequestHeader, requestHeaderVersion, responseHeaderVersion } from '../../../src/protocol/header.js';
import { writeRequestHeader } from '../../../src/protocol/generated/request-header.js';
import { Reader } from '../../../src/protocol/reader.js';
import { Writer } from '../../../src/protocol/writer.js';
import type { BrokerProcess, Teardownable } from '../../helpers/broker-process.js';
import { CASE_ANSWER_MS, HEALTH_MS, RESPONSE_BYTES_MAX } from './bounds.js';
import { LogScanner, crashSignature, healthCheck } from './broker-observer.js';
import { RESPONSE_KEPT_BYTES_MAX, runCase } from './case-client.js';
import { decodeAsBroker, frameSizeLies, waitAllowanceMs, type FuzzContext } from './cases.js';
import { RawClient, decodeResponse, fetchBody } from '../../helpers/raw-client.js';
import { responseProblem, waitForCoordinator } from './engine.js';

export type PlayKind = 'fine' | 'crash' | 'hang' | 'handler-failure' | 'log-error' | 'bad-response' | 'corrupt-batch' | 'amplification';

const PRODUCE_KEY = 0;

export interface PlayResult {
  readonly kind: PlayKind;
  readonly signature: string;
  readonly summary: string;
  readonly evidence: string[];
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

export class Replayer {
  private readonly scanner: LogScanner;
  private launchLogOffset = 0;
  plays = 0;

  constructor(
    private readonly t: Teardownable,
    private readonly broker: BrokerProcess,
    private readonly context: FuzzContext,
  ) {
    this.scanner = new LogScanner(() => broker.log);
  }

  /** Sends `frame` (and the probe) on a new connection to a running broker and classifies what happened. */
  async play(frame: Buffer): Promise<PlayResult> {
    this.plays++;
    if (!this.broker.running) await this.restart();
    this.scanner.skipToEnd();
    const allowanceMs = waitAllowanceMs(frame, null, this.context);
    const answerMs = CASE_ANSWER_MS + (Number.isFinite(allowanceMs) ? allowanceMs : 0);
    const outcome = await runCase({ port: this.broker.port, frame, finAfter: frameSizeLies(frame), answerMs, abandonMs: null });
    const health = await healthCheck(this.t, this.broker.port, HEALTH_MS);
    if (!this.broker.running || !health.ok) {
      await waitUntil(() => !this.broker.running, 5_000);
      const exit = this.broker.exitDescription;
      const crash = crashSignature(this.broker.log.slice(this.launchLogOffset), exit);
      await this.restart(this.broker.running);
      return exit === null
        ? { kind: 'crash', signature: 'unresponsive', summary: 'the broker stopped serving other clients (killed and restarted)', evidence: crash.excerpt }
        : { kind: 'crash', signature: crash.signature, summary: `the broker died (${exit}): ${crash.signature}`, evidence: crash.excerpt };
    }
    if (outcome.kind === 'hang') {
      return { kind: 'hang', signature: 'hang', summary: `neither answered nor closed within ${answerMs} ms`, evidence: [] };
    }
    const logged = this.scanner.scan();
    const failure = logged.find((line) => line.kind === 'handler-failure') ?? logged[0];
    if (failure !== undefined) {
      return { kind: failure.kind === 'handler-failure' ? 'handler-failure' : 'log-error', signature: failure.signature, summary: `${failure.kind}: ${failure.signature}`, evidence: failure.lines };
    }
    const problem = outcome.kind === 'answered' ? responseProblem(frame, outcome) : null;
    if (problem !== null) return { kind: 'bad-response', signature: problem.replace(/\d+/g, '#'), summary: problem, evidence: [] };
    const unreadable = outcome.kind === 'answered' && Math.max(0, ...outcome.responseBytes) <= RESPONSE_KEPT_BYTES_MAX ? await this.readBackProduced(frame, outcome.responses) : null;
    if (unreadable !== null) return { kind: 'corrupt-batch', signature: 'records do not decode', summary: unreadable, evidence: describeResponse(frame, outcome.responses) };
    const largest = Math.max(0, ...outcome.responseBytes);
    if (largest > RESPONSE_BYTES_MAX) {
      return { kind: 'amplification', signature: 'amplification', summary: `a ${frame.length}-byte request drew a ${largest}-byte response (bound ${RESPONSE_BYTES_MAX})`, evidence: [] };
    }
    return { kind: 'fine', signature: '', summary: `${outcome.kind} after ${outcome.elapsedMs} ms, the broker is fine`, evidence: outcome.kind === 'answered' ? describeResponse(frame, outcome.responses) : [] };
  }

  /** For an answered Produce: reads each acknowledged batch back and says what a consumer cannot read in it, or null. */
  private async readBackProduced(frame: Buffer, responses: readonly Buffer[]): Promise<string | null> {
    const decoded = decodeAsBroker(frame);
    if (decoded === null || decoded.apiKey !== PRODUCE_KEY || responses.length !== 1) return null;
    const produced = decodeResponse(produceApi, decoded.apiVersion, responses[0]!).body;
    const client = await RawClient.connect(this.t, this.broker.port);
    try {
      for (const topic of produced.responses) {
        for (const partition of topic.partitionResponses) {
          if (partition.errorCode !== ErrorCode.NONE) continue;
          const fetched = await client.request(fetchApi, 12, fetchBody(topic.name, partition.index, partition.baseOffset, 0, 0));
          const records = fetched.responses[0]?.partitions[0]?.records;
          const bytes = Buffer.isBuffer(records) ? records : Buffer.alloc(0);
          for (const batch of splitBatches(bytes)) {
            const checked = checkBatch(batch, false);
            if (checked.baseOffset === partition.baseOffset && checked.problem !== null) {
              return `the broker acknowledged a batch a consumer cannot read: ${topic.name}-${partition.index} offset ${partition.baseOffset}: ${checked.problem}`;
            }
          }
        }
      }
    } finally {
      client.destroy();
    }
    return null;
  }

  private async restart(hard = false): Promise<void> {
    const before = this.broker.log.length;
    await this.broker.restart({ hard });
    this.launchLogOffset = before;
    const client = await RawClient.connect(this.t, this.broker.port);
    try {
      await waitForCoordinator(client);
    } finally {
      client.destroy();
    }
  }
}

/** The decoded response, as short JSON (long strings and buffers abbreviated). */
function describeResponse(frame: Buffer, responses: readonly Buffer[]): string[] {
  const decoded = decodeAsBroker(frame);
  if (decoded === null || responses.length !== 1) return [`${responses.length} response frame(s)`];
  try {
    const schema = apiSchemas.get(decoded.apiKey)!;
    const body = decodeResponse(schema, decoded.apiVersion, responses[0]!, responseHeaderVersion(decoded.apiKey, decoded.apiVersion)).body;
    const text = JSON.stringify(body, (_key, value: unknown) => {
      if (typeof value === 'string' && value.length > 60) return `${value.slice(0, 40)}… (${value.length} characters)`;
      if (value !== null && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') return `<${((value as { data: unknown[] }).data).length} bytes>`;
      return value;
    });
    return [`response: ${text.length > 1500 ? `${text.slice(0, 1500)}…` : text}`];
  } catch (error) {
    return [`response does not decode: ${(error as Error).message}`];
  }
}

type Path = readonly (string | number)[];

interface Request {
  header: { apiKey: number; apiVersion: number; correlationId: number; clientId: string | null };
  body: Record<string, unknown>;
}

/**
 * Writes the int64 values a decoder makes of the bit patterns 2^63-1 and -2^63 (the numbers
 * ±2^63, which Writer.int64 refuses) back as those patterns, so that a request carrying them
 * can be decoded, shrunk and encoded again.
 */
class ClampingWriter extends Writer {
  override int64(value: number): void {
    if (value >= 2 ** 63) this.raw(Buffer.from('7fffffffffffffff', 'hex'));
    else if (value <= -(2 ** 63)) this.raw(Buffer.from('8000000000000000', 'hex'));
    else super.int64(value);
  }
}

function encodeRequest(request: Request): Buffer {
  const schema = apiSchemas.get(request.header.apiKey)!;
  const w = new ClampingWriter();
  w.int32(0);
  writeRequestHeader(w, requestHeaderVersion(request.header.apiKey, request.header.apiVersion), {
    requestApiKey: request.header.apiKey,
    requestApiVersion: request.header.apiVersion,
    correlationId: request.header.correlationId,
    clientId: request.header.clientId,
  });
  schema.writeRequest(w, request.header.apiVersion, request.body);
  const frame = Buffer.from(w.toBuffer());
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

function decodeRequest(frame: Buffer): Request | null {
  if (frameSizeLies(frame)) return null;
  try {
    const reader = new Reader(frame.subarray(4));
    const header = readRequestHeader(reader);
    const schema = apiSchemas.get(header.apiKey);
    if (schema === undefined || header.apiVersion < schema.minVersion || header.apiVersion > schema.maxVersion) return null;
    const body = schema.readRequest(reader, header.apiVersion) as Record<string, unknown>;
    return { header: { apiKey: header.apiKey, apiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId }, body };
  } catch {
    return null;
  }
}

/** A deep copy that keeps Buffers as they are (they are never changed in place). */
function clone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(clone) as T;
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = clone(inner);
    return out as T;
  }
  return value;
}

function getAt(root: unknown, path: Path): unknown {
  let at = root;
  for (const step of path) at = (at as Record<string | number, unknown>)[step];
  return at;
}

function setAt(root: unknown, path: Path, value: unknown): void {
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete parent[last];
  else parent[last] = value;
}

interface Shrink {
  readonly path: Path;
  readonly value: unknown;
  readonly what: string;
}

/** Smaller variants of every field of the request, biggest wins first. */
function shrinks(request: Request): Shrink[] {
  const out: Shrink[] = [];
  const visit = (value: unknown, path: Path): void => {
    if (Array.isArray(value)) {
      if (value.length > 0) out.push({ path, value: [], what: `${path.join('.')} emptied` });
      if (value.length > 1) out.push({ path, value: [value[0]], what: `${path.join('.')} cut to its first entry` });
      if (value.length > 2) out.push({ path, value: value.slice(0, Math.ceil(value.length / 2)), what: `${path.join('.')} halved` });
      if (value.length > 1 && value.length <= 8) {
        for (let i = 0; i < value.length; i++) out.push({ path, value: value.filter((_, j) => j !== i), what: `${path.join('.')} without entry ${i}` });
      }
      value.forEach((entry, i) => visit(entry, [...path, i]));
      return;
    }
    if (Buffer.isBuffer(value)) {
      if (value.length > 0) out.push({ path, value: Buffer.alloc(0), what: `${path.join('.')} emptied` });
      if (value.length > 1) out.push({ path, value: value.subarray(0, Math.floor(value.length / 2)), what: `${path.join('.')} halved` });
      return;
    }
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'unknownTaggedFields') out.push({ path: [...path, key], value: undefined, what: `${path.join('.')} unknown tagged fields dropped` });
        else visit(inner, [...path, key]);
      }
      return;
    }
    if (typeof value === 'string' && value.length > 0) {
      out.push({ path, value: '', what: `${path.join('.')} emptied` });
      if (value.length > 1) out.push({ path, value: value.slice(0, Math.floor(value.length / 2)), what: `${path.join('.')} halved to ${Math.floor(value.length / 2)} characters` });
    }
    if (typeof value === 'number' && value !== 0 && path[path.length - 1] !== 'apiKey' && path[path.length - 1] !== 'apiVersion') {
      out.push({ path, value: 0, what: `${path.join('.')} zeroed` });
    }
  };
  visit(request, []);
  // Bigger reductions first: whole arrays before fields inside them.
  return out.sort((a, b) => a.path.length - b.path.length);
}

/** False when the codec cannot write what it read (an int64 of 2^63, a string that grew past 32,767 bytes as UTF-8). */
function reencodable(request: Request): boolean {
  try {
    encodeRequest(request);
    return true;
  } catch {
    return false;
  }
}

/** Trials a minimization may make (each a replay; one that kills the broker also costs a restart). */
const MINIMIZE_TRIALS_MAX = 120;

/** Shrinks `frame` while replaying it still gives `original`'s kind and signature. */
export async function minimizeFrame(frame: Buffer, original: PlayResult, replayer: Replayer, say: (line: string) => void): Promise<Buffer> {
  const same = (result: PlayResult): boolean => result.kind === original.kind && (original.kind === 'hang' || result.signature === original.signature);
  let trials = 0;
  const decoded = decodeRequest(frame);
  if (decoded !== null && !reencodable(decoded)) say('  the decoded request does not encode again (a value the codec cannot write): cutting bytes instead');
  if (decoded === null || !reencodable(decoded)) {
    // Not decodable: all we can do is cut bytes off the end (keeping the size prefix true).
    let best = frame;
    for (let cut = Math.floor((best.length - 4) / 2); cut >= 1 && trials < MINIMIZE_TRIALS_MAX; cut = Math.floor(cut / 2)) {
      while (best.length - cut > 4 + 8 && trials < MINIMIZE_TRIALS_MAX) {
        const candidate = Buffer.from(best.subarray(0, best.length - cut));
        if (!frameSizeLies(best)) candidate.writeInt32BE(candidate.length - 4, 0);
        trials++;
        if (!same(await replayer.play(candidate))) break;
        best = candidate;
        say(`  smaller: ${best.length} bytes`);
      }
    }
    return best;
  }
  let request: Request = decoded;
  let best = encodeRequest(request);
  if (best.length < frame.length) {
    trials++;
    if (same(await replayer.play(best))) say(`  re-encoded without what followed the body: ${best.length} bytes`);
    else {
      say('  the bytes after the body matter: not minimizing further');
      return frame;
    }
  }
  let progress = true;
  while (progress && trials < MINIMIZE_TRIALS_MAX) {
    progress = false;
    for (const shrink of shrinks(request)) {
      if (trials >= MINIMIZE_TRIALS_MAX) break;
      const candidate: Request = clone(request);
      setAt(candidate, shrink.path, shrink.value);
      let bytes: Buffer;
      try {
        bytes = encodeRequest(candidate);
      } catch {
        continue; // not encodable (e.g. a field that must not be empty in this version)
      }
      if (bytes.length >= best.length && !shrink.what.includes('zeroed')) continue;
      trials++;
      if (!same(await replayer.play(bytes))) continue;
      request = candidate;
      best = bytes;
      progress = true;
      say(`  ${shrink.what}: ${best.length} bytes`);
      break;
    }
  }
  return best;
}
