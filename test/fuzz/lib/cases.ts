// One fuzz case: a request frame derived only from (seed, case number) and the fuzz
// context (served API versions, the topics and groups the fuzzer made), so that any case
// can be regenerated and replayed. Cases walk every served (API key, version) pair in
// turn; every fifth case is a Produce carrying the batch fuzzer's records. A case is
// realistic, hostile but well-formed (valid encoding, extreme values: these reach the
// handlers), mutated on its bytes, or lying in its header or frame.

import { contains, defaultSchemasDir, loadSchemas, type MessageSpec } from '../../../scripts/generate-protocol.js';
import { limits } from '../../../src/config/limits.js';
import { readRequestHeader, requestHeaderVersion } from '../../../src/protocol/header.js';
import { apiSchemas } from '../../../src/protocol/generated/index.js';
import { writeRequestHeader } from '../../../src/protocol/generated/request-header.js';
import type { ApiSchema } from '../../../src/protocol/message.js';
import { Reader } from '../../../src/protocol/reader.js';
import { Writer } from '../../../src/protocol/writer.js';
import { Random, hashSeed } from '../../protocol/fixtures/random-values.js';
import { INT64_PATTERNS, fuzzRecords } from './batches.js';
import { mutateBody, uvarintBytes } from './mutations.js';
import { RecordingWriter } from './recording-writer.js';
import { THEMES, describeValue, hostileString, pick, requestValue, type FuzzDictionary, type FuzzTopic, type Theme } from './values.js';

export interface ServedApi {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

export interface FuzzContext {
  readonly seed: number;
  /** What the broker's ApiVersions advertised. */
  readonly served: readonly ServedApi[];
  readonly topics: readonly FuzzTopic[];
  readonly sharedGroups: readonly string[];
  /** The broker's group.initial.rebalance.delay.ms (a fresh group's join waits this long). */
  readonly initialRebalanceDelayMs: number;
}

export type CaseMode = 'realistic' | 'hostile' | 'mutated' | 'header';

export interface FuzzCase {
  readonly seed: number;
  readonly index: number;
  readonly apiKey: number;
  readonly apiVersion: number;
  /** e.g. "Produce v9". */
  readonly label: string;
  readonly mode: CaseMode;
  readonly batchCase: boolean;
  /** What was made hostile or mutated, for people. */
  readonly notes: readonly string[];
  /** The whole frame as sent: int32 size, header, body. */
  readonly frame: Buffer;
  /** The group only this case names. */
  readonly freshGroup: string;
}

/** How often a hostile case takes each theme (values.ts Theme). */
const THEME_PROBABILITY = 0.35;
/** Largest request body the fuzzer builds (a repeated 32 KB name must not make 32 MB frames). */
export const BODY_BYTES_MAX = 1024 * 1024;

const requestSpecs = new Map<number, MessageSpec>();
for (const spec of loadSchemas(defaultSchemasDir())) {
  if (spec.type === 'request' && spec.apiKey !== undefined) requestSpecs.set(spec.apiKey, spec);
}

const PRODUCE_KEY = 0;
/** Produce v3 is the first with RecordBatch v2. */
const PRODUCE_BATCH_MIN_VERSION = 3;

/** Every (API key, version) the broker advertised, in a fixed order. */
export function servedPairs(served: readonly ServedApi[]): { apiKey: number; apiVersion: number }[] {
  const pairs: { apiKey: number; apiVersion: number }[] = [];
  for (const api of [...served].sort((a, b) => a.apiKey - b.apiKey)) {
    if (!requestSpecs.has(api.apiKey)) continue;
    for (let v = api.minVersion; v <= api.maxVersion; v++) pairs.push({ apiKey: api.apiKey, apiVersion: v });
  }
  return pairs;
}

export function caseRandom(seed: number, index: number): Random {
  return new Random(hashSeed(`spate-fuzz/${seed}/${index}`));
}

function schemaOf(apiKey: number): ApiSchema {
  const schema = apiSchemas.get(apiKey);
  if (schema === undefined) throw new Error(`no schema for API key ${apiKey}`);
  return schema;
}

interface Encoded {
  readonly body: Buffer;
  readonly tokens: RecordingWriter['tokens'];
}

function encodeBody(schema: ApiSchema, version: number, value: object): Encoded | null {
  const w = new RecordingWriter(BODY_BYTES_MAX);
  try {
    schema.writeRequest(w, version, value);
  } catch (error) {
    if (error instanceof RangeError) return null; // a value the codec cannot encode: generate another
    throw error;
  }
  const body = Buffer.from(w.toBuffer());
  return body.length > BODY_BYTES_MAX ? null : { body, tokens: w.tokens };
}

function chooseMode(rng: Random, batchCase: boolean): CaseMode {
  const r = rng.next();
  if (batchCase) return r < 0.85 ? 'hostile' : r < 0.95 ? 'mutated' : 'header';
  if (r < 0.1) return 'realistic';
  if (r < 0.45) return 'hostile';
  if (r < 0.9) return 'mutated';
  return 'header';
}

/** Builds case `index` of the run with seed `seed`. Deterministic in (context, seed, index). */
export function generateCase(context: FuzzContext, index: number): FuzzCase {
  const seed = context.seed;
  const rng = caseRandom(seed, index);
  const pairs = servedPairs(context.served);
  const batchCase = index % 5 === 4 && context.served.some((api) => api.apiKey === PRODUCE_KEY);
  let apiKey: number;
  let apiVersion: number;
  if (batchCase) {
    const produce = context.served.find((api) => api.apiKey === PRODUCE_KEY)!;
    apiKey = PRODUCE_KEY;
    apiVersion = rng.int(Math.max(produce.minVersion, PRODUCE_BATCH_MIN_VERSION), produce.maxVersion);
  } else {
    // Batch cases take every fifth index; the others walk the pairs without skipping any.
    const ordinal = index - Math.floor((index + 1) / 5);
    const pair = pairs[ordinal % pairs.length]!;
    apiKey = pair.apiKey;
    apiVersion = pair.apiVersion;
  }
  const spec = requestSpecs.get(apiKey)!;
  const schema = schemaOf(apiKey);
  const mode = chooseMode(rng, batchCase);
  const freshGroup = `fuzz-fresh-${seed}-${index}`;
  const dictionary: FuzzDictionary = { topics: context.topics, sharedGroups: context.sharedGroups, freshGroup };
  const flexible = contains(spec.flexibleVersions, apiVersion);
  const notes: string[] = [];
  const batchHostility = batchCase ? 0.5 : mode === 'realistic' ? 0 : 0.1;
  const themes = new Set<Theme>(mode === 'hostile' ? THEMES.filter(() => rng.chance(THEME_PROBABILITY)) : []);
  if (themes.size > 0) notes.push(`themes: ${[...themes].join(', ')}`);
  let encoded: Encoded | null = null;
  for (let attempt = 0; attempt < 4 && encoded === null; attempt++) {
    const hostility = attempt === 3 ? 0 : (mode === 'hostile' ? (batchCase ? 0.02 : 0.12) : mode === 'realistic' ? 0 : 0.03) / (attempt + 1);
    const attemptNotes: string[] = [];
    const value = requestValue(spec, {
      rng,
      version: apiVersion,
      flexible,
      dictionary,
      hostility,
      themes: attempt === 3 ? new Set() : themes,
      notes: attemptNotes,
      batch: (path) => {
        const batch = fuzzRecords(rng, attempt === 3 ? 0 : batchHostility);
        attemptNotes.push(...batch.notes.map((note) => `${path}: ${note}`));
        return batch.bytes;
      },
    });
    encoded = encodeBody(schema, apiVersion, value);
    if (encoded !== null) notes.push(...attemptNotes);
  }
  if (encoded === null) throw new Error(`${spec.name} v${apiVersion}: could not encode a plain random value`);
  let body = encoded.body;
  if (themes.has('extreme-int64')) {
    // The int64 bit patterns a JavaScript number cannot carry (2^63-1, -2^63): still a well-formed request.
    body = Buffer.from(body);
    for (const token of encoded.tokens) {
      if (token.kind !== 'int64' || !rng.chance(0.5)) continue;
      const pattern = pick(rng, INT64_PATTERNS.slice(0, 2));
      pattern.bytes.copy(body, token.start);
      notes.push(`int64 at byte ${token.start} = ${pattern.name} (extreme-int64)`);
    }
  }
  if (mode === 'mutated' || (mode === 'header' && rng.chance(0.3))) {
    const mutated = mutateBody(rng, body, encoded.tokens, rng.int(1, 3));
    body = mutated.body;
    notes.push(...mutated.notes);
  }
  const header = headerBytes(rng, mode === 'header', apiKey, apiVersion, index, notes, themes.has('huge-strings') && rng.chance(0.5));
  const payload = Buffer.concat([header, body]);
  const frame = Buffer.alloc(4 + payload.length);
  frame.writeInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  if (mode === 'header' && rng.chance(0.25)) lieInFrameSize(rng, frame, notes);
  return {
    seed,
    index,
    apiKey,
    apiVersion,
    label: `${spec.name.replace(/Request$/, '')} v${apiVersion}`,
    mode,
    batchCase,
    notes,
    frame,
    freshGroup,
  };
}

/** The correlation id of case `index` (the probe that follows every case uses PROBE_CORRELATION_ID). */
export function caseCorrelationId(index: number): number {
  return index % 0x7fffffff;
}

function headerBytes(rng: Random, lie: boolean, apiKey: number, apiVersion: number, index: number, notes: string[], hugeClientId: boolean): Buffer {
  let version = requestHeaderVersion(apiKey, apiVersion);
  let headerApiVersion = apiVersion;
  let correlationId = caseCorrelationId(index);
  let clientId: string | null = 'spate-fuzz';
  if (hugeClientId) {
    clientId = 'c'.repeat(pick(rng, [32_750, 32_760, 32_767]));
    notes.push(`client id of ${clientId.length} bytes (huge-strings)`);
  }
  let tagged: { tag: number; data: Buffer }[] | undefined;
  if (lie) {
    switch (rng.int(0, 5)) {
      case 0: {
        const other = pick(rng, [0, 1, 2].filter((v) => v !== version));
        notes.push(`header v${other} instead of v${version}`);
        version = other;
        break;
      }
      case 1:
        clientId = rng.chance(0.3) ? null : hostileString(rng);
        notes.push(`client id ${describeValue(clientId)}`);
        break;
      case 2: {
        headerApiVersion = pick(rng, [-1, 32_767, apiVersion + 100, -32_768]);
        notes.push(`header says version ${headerApiVersion} (body is v${apiVersion})`);
        break;
      }
      case 3:
        correlationId = pick(rng, [-1, 0, 2_147_483_647, -2_147_483_648]);
        notes.push(`correlation id ${correlationId}`);
        break;
      case 4:
        if (version >= 2) {
          tagged = [{ tag: pick(rng, [0, 1, 0x7fffffff]), data: rng.bytes(rng.int(0, 300)) }];
          notes.push(`header tagged field ${tagged[0]!.tag} of ${tagged[0]!.data.length} bytes`);
        } else {
          clientId = 'x'.repeat(32_760);
          notes.push('client id of 32,760 bytes');
        }
        break;
      default: {
        const raw = Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0x00, 0x1b]);
        const w = new Writer();
        w.int16(apiKey);
        w.int16(headerApiVersion);
        w.int32(correlationId);
        if (version >= 1) {
          w.int16(raw.length);
          w.raw(raw);
        }
        if (version >= 2) w.raw(uvarintBytes(0));
        notes.push('client id of non-UTF-8 and control bytes');
        return Buffer.from(w.toBuffer());
      }
    }
  }
  const w = new Writer();
  writeRequestHeader(w, version, { requestApiKey: apiKey, requestApiVersion: headerApiVersion, correlationId, clientId, unknownTaggedFields: tagged });
  return Buffer.from(w.toBuffer());
}

function lieInFrameSize(rng: Random, frame: Buffer, notes: string[]): void {
  const honest = frame.length - 4;
  const size = pick(rng, [honest + 1, honest + 100, honest - 1, 0, 1, -1, 2 ** 31 - 1, 100 * 1024 * 1024 + 1]);
  frame.writeInt32BE(size | 0, 0);
  notes.push(`frame size ${size | 0} (true ${honest})`);
}

/**
 * True when the frame's size prefix is not its length: the broker waits for bytes that never
 * come, or reads what follows as another frame. Such a frame is followed by a FIN, not a probe.
 */
export function frameSizeLies(frame: Buffer): boolean {
  return frame.readInt32BE(0) !== frame.length - 4;
}

/** The request as the broker will read it, or null when it does not decode. */
export function decodeAsBroker(frame: Buffer): { apiKey: number; apiVersion: number; correlationId: number; request: Record<string, unknown> } | null {
  const size = frame.readInt32BE(0);
  if (size < 0 || size > frame.length - 4) return null;
  try {
    const reader = new Reader(frame.subarray(4, 4 + size));
    const header = readRequestHeader(reader);
    const schema = apiSchemas.get(header.apiKey);
    if (schema === undefined || header.apiVersion < schema.minVersion || header.apiVersion > schema.maxVersion) return null;
    const request = schema.readRequest(reader, header.apiVersion) as Record<string, unknown>;
    return { apiKey: header.apiKey, apiVersion: header.apiVersion, correlationId: header.correlationId, request };
  } catch {
    return null; // not decodable: the broker closes the connection, which needs no allowance
  }
}

const FETCH_KEY = 1;
const CREATE_TOPICS_KEY = 19;
const DELETE_TOPICS_KEY = 20;
const CREATE_PARTITIONS_KEY = 37;
/** An admin change's timeoutMs up to which its answer is awaited and judged. */
const ADMIN_TIMEOUT_JUDGED_MS_MAX = 30_000;
const JOIN_GROUP_KEY = 11;
const SYNC_GROUP_KEY = 14;

/** The partitions a CreateTopics or CreatePartitions case asks for (the largest count in it, capped at the broker's limit), else 0. */
export function partitionsAsked(frame: Buffer): number {
  const decoded = decodeAsBroker(frame);
  if (decoded === null) return 0;
  const topics = decoded.request['topics'];
  if (!Array.isArray(topics)) return 0;
  let largest = 0;
  for (const topic of topics as Record<string, unknown>[]) {
    const asked = decoded.apiKey === CREATE_TOPICS_KEY ? Number(topic['numPartitions']) : decoded.apiKey === CREATE_PARTITIONS_KEY ? Number(topic['count']) : 0;
    if (Number.isFinite(asked)) largest = Math.max(largest, Math.min(asked, limits.topicPartitionsMax));
  }
  return largest;
}

/**
 * How long the broker may rightly hold this request before answering, beyond ordinary
 * service time: a fetch's max wait (capped by the broker), a fresh group's initial
 * rebalance delay, an admin change's timeoutMs. Infinity when the wait depends on members
 * other cases left in a shared group (a rebalance waits up to their rebalance timeouts), or
 * on how long a change of a large topic takes with no timeout given: such a case is not judged.
 */
export function waitAllowanceMs(frame: Buffer, freshGroup: string | null, context: FuzzContext): number {
  const decoded = decodeAsBroker(frame);
  if (decoded === null) return 0;
  const request = decoded.request;
  if (decoded.apiKey === FETCH_KEY) return Math.min(Math.max(Number(request['maxWaitMs']), 0), limits.fetchMaxWaitMsMax);
  if (decoded.apiKey === CREATE_TOPICS_KEY || decoded.apiKey === DELETE_TOPICS_KEY || decoded.apiKey === CREATE_PARTITIONS_KEY) {
    // A large topic takes seconds to make or remove; the broker answers by the request's
    // timeoutMs (REQUEST_TIMED_OUT, the change goes on), and without one waits for the outcome.
    // Past ADMIN_TIMEOUT_JUDGED_MS_MAX the case is not judged either, rather than held for ever.
    const timeoutMs = Number(request['timeoutMs']);
    return timeoutMs > 0 && timeoutMs <= ADMIN_TIMEOUT_JUDGED_MS_MAX ? timeoutMs : Infinity;
  }
  if (decoded.apiKey === JOIN_GROUP_KEY || decoded.apiKey === SYNC_GROUP_KEY) {
    if (freshGroup === null || request['groupId'] !== freshGroup) return Infinity;
    return context.initialRebalanceDelayMs;
  }
  return 0;
}
