// Request values for the fuzzer: a random, well-formed value for any request schema and
// version (test/protocol/fixtures/random-values.ts), then shaped so it reaches the broker's
// handlers — topic names, topic ids, partitions and groups that exist, timeouts that do not
// park the request for minutes — and, field by field, made hostile while staying encodable:
// extreme integers, 32,767-byte strings, control characters and names such as `__proto__`,
// nulls where the schema allows them, one array entry repeated up to 1,000 times, unknown
// tagged fields with colliding or huge tags. What the codec cannot encode (a null where the
// schema forbids one, non-UTF-8 text, 2^63-1) is done on the bytes by mutations.ts.

import { contains, type FieldSpec, type MessageSpec, type PrimitiveName, type StructSpec } from '../../../scripts/generate-protocol.js';
import { ZERO_UUID } from '../../../src/protocol/message.js';
import { Random, randomStruct } from '../../protocol/fixtures/random-values.js';

/** A topic the fuzzer created and aims at (never the witness topic). */
export interface FuzzTopic {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
}

/** What generated requests name, so that they reach real topics, partitions and groups. */
export interface FuzzDictionary {
  readonly topics: readonly FuzzTopic[];
  /** Groups every case may join (their rebalances can wait on members left by other cases). */
  readonly sharedGroups: readonly string[];
  /** A group name no other case uses (answers about it cannot wait on anyone else). */
  readonly freshGroup: string;
}

/**
 * Hostility that comes in combinations, chosen per case: bugs such as "one partition named
 * 700 times with MaxBytes 2^31-1" need several extreme fields in one request, which
 * independent per-field choices almost never make.
 */
export type Theme = 'limits' | 'duplicates' | 'huge-strings' | 'extreme-int64';
export const THEMES: readonly Theme[] = ['limits', 'duplicates', 'huge-strings', 'extreme-int64'];

export interface ValueContext {
  readonly rng: Random;
  readonly version: number;
  readonly flexible: boolean;
  readonly dictionary: FuzzDictionary;
  /** Probability that a field is given a hostile value (0 for a merely realistic request). */
  readonly hostility: number;
  readonly themes: ReadonlySet<Theme>;
  /** Human-readable notes of what was made hostile. */
  readonly notes: string[];
  /** A record batch for the `records` field at `path` (the batch fuzzer). */
  readonly batch: (path: string) => Buffer;
}

export function pick<T>(rng: Random, items: readonly T[]): T {
  return items[rng.int(0, items.length - 1)]!;
}

/** Kafka's longest encodable string (int16 length). */
export const STRING_BYTES_MAX = 0x7fff;
/** The uuid of 16 0xff bytes, in the codec's base64url form. */
const ALL_ONES_UUID = Buffer.alloc(16, 0xff).toString('base64url');

const CONFIG_KEYS = [
  'retention.ms',
  'retention.bytes',
  'segment.bytes',
  'segment.ms',
  'segment.index.bytes',
  'index.interval.bytes',
  'cleanup.policy',
  'max.message.bytes',
  'min.insync.replicas',
  'message.timestamp.type',
  'flush.messages',
  'flush.ms',
  'delete.retention.ms',
  'min.cleanable.dirty.ratio',
  'compression.type',
  'unclean.leader.election.enable',
  'no.such.config',
  '__proto__',
  'constructor',
];

const CONFIG_VALUES = [
  '0',
  '1',
  '-1',
  '-2',
  '14',
  '100',
  '1048576',
  '2147483647',
  '2147483648',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '1e3',
  '0x10',
  'NaN',
  'Infinity',
  '',
  ' ',
  'compact',
  'delete',
  'compact,delete',
  'CreateTime',
  'LogAppendTime',
  'gzip',
  'producer',
  'true',
  'abc',
];

/** Names that have broken brokers and JavaScript maps before. */
const HOSTILE_NAMES = [
  '',
  '.',
  '..',
  '../../etc',
  'a/b',
  '/',
  'x\u0000y',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'toString',
  '__consumer_offsets',
  '__transaction_state',
  'topic with spaces',
  'CON',
  'a'.repeat(249),
  'a'.repeat(250),
  'a'.repeat(255),
  'a.b_c-d',
  '\u202etxt.exe',
  '\ud83d\ude00',
];

const CONTROL_PIECES = ['\u0000', '\n', '\r\n', '\t', '\u001b[31m', '\u007f', '\u0085', '\u2028', '\u202e', '\ufeff', '\ud800'];

/** A string that stays encodable: at most `maxBytes` UTF-8 bytes. */
export function hostileString(rng: Random, maxBytes = STRING_BYTES_MAX): string {
  switch (rng.int(0, 5)) {
    case 0: {
      const sizes = [249, 250, 256, 1024, 4096, 32_750, 32_760, STRING_BYTES_MAX];
      const bytes = Math.min(pick(rng, sizes), maxBytes);
      return pick(rng, ['a', 'z', '0', '_']).repeat(bytes);
    }
    case 1: {
      // Three bytes a character: the byte length is not the character count.
      const count = Math.floor(Math.min(pick(rng, [100, 10_922, 10_000]) * 3, maxBytes) / 3);
      return '\u2603'.repeat(count);
    }
    case 2: {
      let s = '';
      const n = rng.int(1, 20);
      for (let i = 0; i < n; i++) s += pick(rng, CONTROL_PIECES) + pick(rng, ['', 'x', 'topic']);
      return s;
    }
    default:
      return pick(rng, HOSTILE_NAMES);
  }
}

function hostileInteger(rng: Random, name: PrimitiveName): number {
  switch (name) {
    case 'int8':
      return pick(rng, [0, -1, 1, 2, 127, -128]);
    case 'int16':
      return pick(rng, [0, -1, 1, 2, 32_767, -32_768, 256]);
    case 'uint16':
      return pick(rng, [0, 1, 65_535]);
    case 'int32':
      return pick(rng, [0, -1, 1, 2, -2, 2_147_483_647, -2_147_483_648, 2_147_483_646, 65_536, 1_000_000_000, 100_000]);
    case 'uint32':
      return pick(rng, [0, 1, 4_294_967_295]);
    default:
      // int64 as the codec can encode it (a JS number whose high word fits int32); the exact
      // 2^63-1 and -2^63 bit patterns are written on the bytes by mutations.ts.
      return pick(rng, [0, -1, -2, 1, 2 ** 31 - 1, 2 ** 32, 2 ** 53, -(2 ** 53), 2 ** 63 - 2 ** 32, -(2 ** 63), 1e15]);
  }
}

function hostilePrimitive(ctx: ValueContext, field: FieldSpec, name: PrimitiveName, nullable: boolean, path: string): unknown {
  const { rng } = ctx;
  if (nullable && rng.chance(0.2)) return null;
  switch (name) {
    case 'bool':
      return rng.chance(0.5);
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'int64':
      return hostileInteger(rng, name);
    case 'float64':
      return pick(rng, [NaN, Infinity, -Infinity, -0, 1e308, 5e-324]);
    case 'string':
      return hostileString(rng);
    case 'bytes':
      return pick(rng, [Buffer.alloc(0), rng.bytes(rng.int(1, 64)), Buffer.alloc(65_536, 0x41), rng.bytes(4096)]);
    case 'records':
      return rng.chance(0.5) ? ctx.batch(path) : rng.bytes(rng.int(0, 200));
    case 'uuid':
      return pick(rng, [ZERO_UUID, ALL_ONES_UUID, rng.bytes(16).toString('base64url'), ...ctx.dictionary.topics.map((topic) => topic.topicId)]);
  }
  throw new Error(`no hostile value for ${field.name}: ${name}`);
}

function topicOf(ctx: ValueContext): FuzzTopic {
  return pick(ctx.rng, ctx.dictionary.topics);
}

function partitionOf(ctx: ValueContext): number {
  // Partition 0 exists in every topic and holds seed data; sometimes one that may not exist.
  const most = Math.max(...ctx.dictionary.topics.map((topic) => topic.partitions));
  return ctx.rng.chance(0.6) ? 0 : ctx.rng.int(0, most);
}

function groupOf(ctx: ValueContext): string {
  return ctx.rng.chance(0.6) ? ctx.dictionary.freshGroup : pick(ctx.rng, ctx.dictionary.sharedGroups);
}

const NOT_SEMANTIC = Symbol('not semantic');

/**
 * A realistic value for fields whose meaning the fuzzer knows (by their schema name), so
 * that requests name things that exist and ask for waits the test can afford.
 */
function semanticValue(ctx: ValueContext, struct: StructSpec, field: FieldSpec, path: string): unknown {
  const { rng } = ctx;
  const type = field.type;
  const primitive = type.kind === 'primitive' ? type.name : null;
  const element = type.kind === 'array' && type.element.kind === 'primitive' ? type.element.name : null;
  const name = field.jsName;
  const configStruct = /Config/.test(struct.name);
  if (primitive === 'string') {
    if (((name === 'name' || name === 'topicName') && /Topic/.test(struct.name)) || name === 'topic') return topicOf(ctx).name;
    if (name === 'resourceName') return rng.chance(0.8) ? topicOf(ctx).name : pick(rng, ['0', '', '1']);
    if (name === 'name' && configStruct) return pick(rng, CONFIG_KEYS);
    if (name === 'value' && configStruct) return pick(rng, CONFIG_VALUES);
    if (name === 'groupId' || (name === 'key' && struct.name === 'FindCoordinatorRequest')) return groupOf(ctx);
    if (name === 'memberId') return rng.chance(0.7) ? '' : `fuzz-member-${rng.int(0, 3)}`;
    if (name === 'groupInstanceId') return rng.chance(0.8) ? null : `fuzz-instance-${rng.int(0, 3)}`;
    if (name === 'protocolType') return 'consumer';
    if (name === 'protocolName' || (name === 'name' && /Protocol/.test(struct.name))) return pick(rng, ['range', 'roundrobin']);
    if (name === 'transactionalId') return null;
    if (name === 'clusterId') return null;
    if (name === 'rackId') return '';
    if (name === 'clientSoftwareName') return 'spate-fuzz';
    if (name === 'clientSoftwareVersion') return '1.0';
  }
  if (element === 'string') {
    if (name === 'topicNames') return [topicOf(ctx).name];
    if (name === 'groups' || name === 'groupsNames' || name === 'coordinatorKeys') return [groupOf(ctx)];
    if (name === 'configurationKeys') return rng.chance(0.5) ? null : [pick(rng, CONFIG_KEYS)];
    if (name === 'statesFilter' || name === 'typesFilter') return rng.chance(0.7) ? [] : [pick(rng, ['Stable', 'Empty', 'consumer', 'classic'])];
  }
  if (element === 'int32') {
    if (name === 'partitionIndexes' || name === 'partitions') return [partitionOf(ctx)];
    if (name === 'brokerIds') return [0];
  }
  if (primitive === 'uuid' && name === 'topicId') return topicOf(ctx).topicId;
  if (primitive === 'records') return ctx.batch(path);
  if (primitive === 'int32') {
    if (name === 'index' || name === 'partition' || name === 'partitionIndex') return partitionOf(ctx);
    if (name === 'sessionTimeoutMs') return rng.int(6_000, 30_000);
    if (name === 'rebalanceTimeoutMs') return rng.int(100, 3_000);
    if (name === 'generationId' || name === 'generationIdOrMemberEpoch' || name === 'memberEpoch') return rng.int(-1, 2);
    if (name === 'maxWaitMs') return rng.int(0, 200);
    if (name === 'minBytes') return rng.int(0, 1);
    // Mostly small reads (the fuzz topics hold a few MiB), sometimes all of it.
    if (name === 'maxBytes' || name === 'partitionMaxBytes') return rng.chance(0.9) ? rng.int(1, 64 * 1024) : rng.int(1, 4 << 20);
    if (name === 'timeoutMs') return rng.int(0, 5_000);
    if (name === 'transactionTimeoutMs') return 60_000;
    if (name === 'replicaId') return -1;
    if (name === 'sessionId') return 0;
    if (name === 'sessionEpoch') return pick(rng, [-1, 0]);
    if (/LeaderEpoch$|^leaderEpoch$|^lastFetchedEpoch$/.test(name)) return pick(rng, [-1, 0]);
    if (name === 'numPartitions') return pick(rng, [-1, 1, 2, 3]);
    if (name === 'count') return rng.int(1, 5);
    if (name === 'maxNumOffsets') return 1;
  }
  if (primitive === 'int16') {
    if (name === 'acks') return pick(rng, [-1, -1, 1, 0]);
    if (name === 'replicationFactor') return pick(rng, [-1, 1]);
    if (name === 'producerEpoch') return -1;
  }
  if (primitive === 'int8') {
    if (name === 'resourceType') return pick(rng, [2, 2, 2, 4]);
    if (name === 'isolationLevel') return rng.int(0, 1);
    if (name === 'keyType') return 0;
    if (name === 'configOperation') return rng.int(0, 3);
  }
  if (primitive === 'int64') {
    if (/[oO]ffset$/.test(name)) return pick(rng, [-1, 0, rng.int(0, 50)]);
    if (name === 'timestamp') return pick(rng, [-1, -2, -3, 0, Date.now()]);
    if (name === 'producerId') return -1;
    if (name === 'retentionTimeMs' || name === 'commitTimestamp') return -1;
  }
  // No manual assignment: null where the version allows it (CreatePartitions), else none (CreateTopics).
  if (type.kind === 'array' && name === 'assignments' && /Topic/.test(struct.name)) return contains(field.nullableVersions, ctx.version) ? null : [];
  return NOT_SEMANTIC;
}

/** Fields after which a realistic value makes the request meaningful: applied most of the time. */
const SEMANTIC_PROBABILITY = 0.85;
/** How often an empty array of structs is given one entry, so that the request reaches per-item handling. */
const EMPTY_ARRAY_FILL_PROBABILITY = 0.7;
/** The most times one array entry is repeated (the brief's "the same partition 1,000 times"). */
const DUPLICATES_MAX = 1_000;

function shapeField(ctx: ValueContext, struct: StructSpec, field: FieldSpec, value: unknown, path: string): unknown {
  const { rng } = ctx;
  const nullable = contains(field.nullableVersions, ctx.version);
  let out = value;
  if (rng.chance(SEMANTIC_PROBABILITY)) {
    const semantic = semanticValue(ctx, struct, field, path);
    if (semantic !== NOT_SEMANTIC && (semantic !== null || nullable)) out = semantic;
  }
  const type = field.type;
  if (type.kind === 'struct') {
    if (out !== null && typeof out === 'object') shapeStruct(ctx, type.struct, out as Record<string, unknown>, path);
  } else if (type.kind === 'array' && Array.isArray(out)) {
    let entries: unknown[] = [...(out as unknown[])];
    if (type.element.kind === 'struct') {
      const elementStruct = type.element.struct;
      if (entries.length === 0 && rng.chance(EMPTY_ARRAY_FILL_PROBABILITY)) {
        // randomStruct leaves a quarter of arrays empty: most requests should name something.
        entries = [randomStruct({ rng, version: ctx.version, flexible: ctx.flexible }, elementStruct, 1).input];
      }
      for (let i = 0; i < entries.length; i++) shapeStruct(ctx, elementStruct, entries[i] as Record<string, unknown>, `${path}[${i}]`);
    }
    out = entries;
  }
  // After the entries are shaped: a repeated entry is the same object, shaped once.
  out = themed(ctx, field, out, path);
  if (!rng.chance(ctx.hostility)) return out;
  if (type.kind === 'primitive') {
    const hostile = hostilePrimitive(ctx, field, type.name, nullable, path);
    ctx.notes.push(`${path} = ${describeValue(hostile)}`);
    return hostile;
  }
  if (type.kind === 'array') {
    const choice = rng.int(0, 4);
    if (choice === 0 && nullable) {
      ctx.notes.push(`${path} = null`);
      return null;
    }
    if (choice === 1 || !Array.isArray(out) || out.length === 0) {
      ctx.notes.push(`${path} = []`);
      return [];
    }
    const copies = pick(rng, [2, 10, 100, DUPLICATES_MAX]);
    const entry = out[rng.int(0, out.length - 1)];
    ctx.notes.push(`${path}: one entry repeated ${copies} times`);
    return Array.from({ length: copies }, () => entry);
  }
  return out;
}

/** Fields that bound work or size: the 'limits' theme sets them to their extremes. */
const LIMIT_FIELD = /max|bytes$|limit|count$|numPartitions|timeout/i;
/** Partition counts: at, under and far over what the broker allows (limits.topicPartitionsMax). */
const PARTITION_COUNTS = [100_000, 50_000, 10_000, 2_147_483_647];
/** Strings a little under, at and (after the header) over what a response can echo in an int16-length string. */
const HUGE_STRING_BYTES = [32_700, 32_750, 32_760, STRING_BYTES_MAX];

function themed(ctx: ValueContext, field: FieldSpec, value: unknown, path: string): unknown {
  const { rng, themes } = ctx;
  if (themes.size === 0 || ctx.hostility === 0) return value;
  const type = field.type;
  if (type.kind === 'primitive') {
    if (themes.has('limits') && LIMIT_FIELD.test(field.name) && (type.name === 'int32' || type.name === 'int16') && rng.chance(0.9)) {
      const partitionCount = field.name === 'NumPartitions' || field.name === 'Count';
      const extreme = partitionCount
        ? pick(rng, PARTITION_COUNTS)
        : type.name === 'int32'
          ? rng.chance(0.8) ? 2_147_483_647 : pick(rng, [-1, 0, 100_000])
          : pick(rng, [32_767, -1, 0]);
      ctx.notes.push(`${path} = ${extreme} (limits)`);
      return extreme;
    }
    if (themes.has('extreme-int64') && type.name === 'int64' && rng.chance(0.6)) {
      const extreme = pick(rng, [2 ** 63 - 2 ** 32, -(2 ** 63), 2 ** 53, -1, -2]);
      ctx.notes.push(`${path} = ${extreme} (extreme-int64)`);
      return extreme;
    }
    if (themes.has('huge-strings') && type.name === 'string' && rng.chance(0.3)) {
      const bytes = pick(rng, HUGE_STRING_BYTES);
      ctx.notes.push(`${path} = string of ${bytes} bytes (huge-strings)`);
      return 'a'.repeat(bytes);
    }
  }
  if (type.kind === 'array' && type.element.kind === 'struct' && themes.has('duplicates') && Array.isArray(value) && value.length > 0 && rng.chance(0.7)) {
    const copies = pick(rng, [100, 700, DUPLICATES_MAX]);
    ctx.notes.push(`${path}: first entry repeated ${copies} times (duplicates)`);
    return Array.from({ length: copies }, () => value[0]);
  }
  return value;
}

/** Unknown tagged fields: tags that collide with known ones, huge tags, empty and large payloads. */
function hostileTaggedFields(rng: Random): { tag: number; data: Buffer }[] {
  const count = rng.int(1, 3);
  const fields: { tag: number; data: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const tag = pick(rng, [0, 1, 2, 3, 100, 10_000, 2 ** 31 - 1, 2 ** 32 - 1]);
    fields.push({ tag, data: pick(rng, [Buffer.alloc(0), rng.bytes(rng.int(1, 16)), Buffer.alloc(4096, 0xff)]) });
  }
  return fields;
}

function shapeStruct(ctx: ValueContext, struct: StructSpec, value: Record<string, unknown>, path: string): void {
  for (const field of struct.fields) {
    if (!contains(field.versions, ctx.version)) continue;
    value[field.jsName] = shapeField(ctx, struct, field, value[field.jsName], `${path}.${field.jsName}`);
  }
  if (ctx.flexible && ctx.rng.chance(ctx.hostility / 2)) {
    value['unknownTaggedFields'] = hostileTaggedFields(ctx.rng);
    ctx.notes.push(`${path}: unknown tagged fields ${(value['unknownTaggedFields'] as { tag: number }[]).map((f) => f.tag).join(',')}`);
  } else if (!ctx.flexible || ctx.rng.chance(0.8)) {
    delete value['unknownTaggedFields'];
  }
}

/** A request value for `spec` at `ctx.version`: random, aimed at the dictionary, hostile at rate `ctx.hostility`. */
export function requestValue(spec: MessageSpec, ctx: ValueContext): Record<string, unknown> {
  const base = randomStruct({ rng: ctx.rng, version: ctx.version, flexible: ctx.flexible }, spec.root, 0).input as Record<string, unknown>;
  shapeStruct(ctx, spec.root, base, spec.name);
  return base;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return `${value.length} bytes`;
  if (typeof value === 'string') {
    const bytes = Buffer.byteLength(value);
    if (bytes > 40) return `string of ${bytes} bytes (${JSON.stringify(value.slice(0, 12))}…)`;
    return JSON.stringify(value);
  }
  return String(value);
}
