// Generates the Kafka protocol codec in src/protocol/generated/ from Kafka's JSON message
// schemas (../shared/kafka-protocol/messages relative to the project root).
//
//   node dist/scripts/generate-protocol.js [--schemas <dir>] [--out <dir>]
//
// One module per schema (produce-request.ts, ...) with an interface per struct and
// straight-line read/write/default functions per message version range, plus index.ts,
// the registry of API keys. Only Node built-ins; the output is deterministic so that
// test/protocol/generated-up-to-date.test.ts can compare it byte for byte.

import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------------------
// Schema model
// ---------------------------------------------------------------------------------------

/** An inclusive version range; `hi` is Infinity for an open range such as "3+". */
export interface Range {
  readonly lo: number;
  readonly hi: number;
}

export const PRIMITIVE_TYPES = [
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'bytes',
  'uuid',
  'records',
] as const;

export type PrimitiveName = (typeof PRIMITIVE_TYPES)[number];

export interface PrimitiveType {
  readonly kind: 'primitive';
  readonly name: PrimitiveName;
}

export interface StructType {
  readonly kind: 'struct';
  readonly struct: StructSpec;
}

export interface ArrayType {
  readonly kind: 'array';
  readonly element: PrimitiveType | StructType;
}

export type FieldType = PrimitiveType | StructType | ArrayType;

export interface FieldSpec {
  /** The schema's name, e.g. "TopicData". */
  readonly name: string;
  /** The TypeScript property name: the schema name with its first letter lowercased. */
  readonly jsName: string;
  readonly type: FieldType;
  /** The schema's type string, e.g. "[]TopicProduceData". */
  readonly typeString: string;
  /** Versions that have the field (null for "none"). */
  readonly versions: Range | null;
  readonly nullableVersions: Range | null;
  readonly tag: number | undefined;
  readonly taggedVersions: Range | null;
  /** The versions this field is encoded flexibly in: its own flexibleVersions, else the message's. */
  readonly flexibleVersions: Range | null;
  /** The schema default as written (JSON numbers and booleans turned into strings), or undefined. */
  readonly defaultString: string | undefined;
  readonly ignorable: boolean;
  readonly about: string;
}

export interface StructSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  /** The struct's own versions: a common struct's "versions", an inline struct's field versions. */
  readonly declaredVersions: Range | null;
  /** The hull of the message versions in which the struct can be on the wire (null: never). */
  context: Range | null;
}

export type MessageType = 'request' | 'response' | 'header' | 'data';

export interface MessageSpec {
  /** The schema file name, e.g. "ProduceRequest.json". */
  readonly fileName: string;
  /** The generated module's base name, e.g. "produce-request". */
  readonly moduleName: string;
  readonly name: string;
  readonly type: MessageType;
  readonly apiKey: number | undefined;
  readonly validVersions: Range;
  readonly flexibleVersions: Range | null;
  readonly deprecatedVersions: Range | null;
  readonly latestVersionUnstable: boolean;
  readonly listeners: readonly string[];
  /** The message itself, as a struct named after the message. */
  readonly root: StructSpec;
  /** The root and every struct its fields refer to, depth first in field order. */
  readonly structs: readonly StructSpec[];
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

/** Removes `//` line comments, leaving `//` inside JSON strings (URLs in "about" texts) alone. */
export function stripJsonComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        i++;
        if (i < text.length) out += text[i];
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      if (i < text.length) out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

/** Parses "3+", "3-5", "3" or "none" (null). */
export function parseVersions(text: string): Range | null {
  const s = text.trim();
  if (s === 'none') return null;
  let match = /^(\d+)\+$/.exec(s);
  if (match) return { lo: Number(match[1]), hi: Infinity };
  match = /^(\d+)-(\d+)$/.exec(s);
  if (match) {
    const lo = Number(match[1]);
    const hi = Number(match[2]);
    if (hi < lo) throw new Error(`bad version range "${text}"`);
    return { lo, hi };
  }
  match = /^(\d+)$/.exec(s);
  if (match) return { lo: Number(match[1]), hi: Number(match[1]) };
  throw new Error(`bad version range "${text}"`);
}

export function formatVersions(range: Range | null): string {
  if (range === null) return 'none';
  if (range.hi === Infinity) return `${range.lo}+`;
  if (range.hi === range.lo) return `${range.lo}`;
  return `${range.lo}-${range.hi}`;
}

export function intersect(a: Range | null, b: Range | null): Range | null {
  if (a === null || b === null) return null;
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo <= hi ? { lo, hi } : null;
}

function hull(a: Range | null, b: Range | null): Range | null {
  if (a === null) return b;
  if (b === null) return a;
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
}

/** The versions of `within` outside `range`, widened to one range (a superset is safe here). */
function subtract(within: Range, range: Range | null): Range | null {
  if (range === null) return within;
  if (range.lo <= within.lo && range.hi >= within.hi) return null;
  if (range.lo <= within.lo) return { lo: Math.max(within.lo, range.hi + 1), hi: within.hi };
  if (range.hi >= within.hi) return { lo: within.lo, hi: Math.min(within.hi, range.lo - 1) };
  return within;
}

export function contains(range: Range | null, version: number): boolean {
  return range !== null && version >= range.lo && version <= range.hi;
}

/** "TopicData" -> "topicData". */
export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** "ConsumerProtocolSubscription" -> "consumer-protocol-subscription". */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

interface RawField {
  name?: unknown;
  type?: unknown;
  versions?: unknown;
  nullableVersions?: unknown;
  tag?: unknown;
  taggedVersions?: unknown;
  flexibleVersions?: unknown;
  default?: unknown;
  ignorable?: unknown;
  about?: unknown;
  fields?: unknown;
}

interface RawStruct {
  name?: unknown;
  versions?: unknown;
  fields?: unknown;
}

interface RawMessage {
  type?: unknown;
  name?: unknown;
  apiKey?: unknown;
  validVersions?: unknown;
  flexibleVersions?: unknown;
  deprecatedVersions?: unknown;
  latestVersionUnstable?: unknown;
  listeners?: unknown;
  fields?: unknown;
  commonStructs?: unknown;
}

function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

function asArray<T>(value: unknown, what: string): T[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected an array`);
  return value as T[];
}

/** Parses one schema file's text. */
export function parseSchema(fileName: string, text: string): MessageSpec {
  const raw = JSON.parse(stripJsonComments(text)) as RawMessage;
  const name = asString(raw.name, `${fileName} name`);
  const type = asString(raw.type, `${fileName} type`) as MessageType;
  if (!['request', 'response', 'header', 'data'].includes(type)) throw new Error(`${fileName}: unknown type ${type}`);
  const validVersions = parseVersions(asString(raw.validVersions, `${fileName} validVersions`));
  if (validVersions === null || validVersions.hi === Infinity) throw new Error(`${fileName}: bad validVersions`);
  const flexibleVersions = parseVersions(asString(raw.flexibleVersions ?? 'none', `${fileName} flexibleVersions`));
  if (flexibleVersions !== null && flexibleVersions.hi !== Infinity) {
    throw new Error(`${fileName}: flexibleVersions must be open-ended`);
  }
  const where = (path: string): string => `${fileName}: ${path}`;

  const structsByName = new Map<string, StructSpec>();
  const defined = new Set<string>();
  const pendingCommon: { spec: StructSpec; fields: RawField[] }[] = [];
  for (const rawStruct of asArray<RawStruct>(raw.commonStructs ?? [], where('commonStructs'))) {
    const structName = asString(rawStruct.name, where('commonStructs name'));
    const fields: FieldSpec[] = [];
    const spec: StructSpec = {
      name: structName,
      fields,
      declaredVersions: parseVersions(asString(rawStruct.versions ?? '0+', where(`${structName} versions`))),
      context: null,
    };
    if (structsByName.has(structName)) throw new Error(where(`duplicate common struct ${structName}`));
    structsByName.set(structName, spec);
    defined.add(structName);
    pendingCommon.push({ spec, fields: asArray<RawField>(rawStruct.fields, where(`${structName} fields`)) });
  }

  const parseFields = (rawFields: RawField[], path: string): FieldSpec[] => {
    const result: FieldSpec[] = [];
    const tags = new Set<number>();
    const names = new Set<string>();
    for (const rawField of rawFields) {
      const fieldName = asString(rawField.name, where(`${path} field name`));
      const fieldPath = `${path}.${fieldName}`;
      if (names.has(fieldName)) throw new Error(where(`duplicate field ${fieldPath}`));
      names.add(fieldName);
      const typeString = asString(rawField.type, where(`${fieldPath} type`));
      const versions = parseVersions(asString(rawField.versions, where(`${fieldPath} versions`)));
      const nullableVersions =
        rawField.nullableVersions === undefined
          ? null
          : parseVersions(asString(rawField.nullableVersions, where(`${fieldPath} nullableVersions`)));
      let tag: number | undefined;
      let taggedVersions: Range | null = null;
      if (rawField.tag !== undefined) {
        if (typeof rawField.tag !== 'number' || !Number.isInteger(rawField.tag) || rawField.tag < 0) {
          throw new Error(where(`${fieldPath}: bad tag`));
        }
        tag = rawField.tag;
        if (tags.has(tag)) throw new Error(where(`${fieldPath}: duplicate tag ${tag}`));
        tags.add(tag);
        taggedVersions = parseVersions(asString(rawField.taggedVersions, where(`${fieldPath} taggedVersions`)));
        if (taggedVersions === null || taggedVersions.hi !== Infinity) {
          throw new Error(where(`${fieldPath}: taggedVersions must be open-ended`));
        }
        // Kafka allows a field to be tagged in only some of its versions; no schema here does,
        // and supporting it would complicate every field, so refuse it loudly.
        if (versions === null || versions.lo !== taggedVersions.lo || versions.hi !== taggedVersions.hi) {
          throw new Error(where(`${fieldPath}: taggedVersions must equal versions`));
        }
        if (flexibleVersions === null || taggedVersions.lo < flexibleVersions.lo) {
          throw new Error(where(`${fieldPath}: tagged in a non-flexible version`));
        }
      } else if (rawField.taggedVersions !== undefined) {
        throw new Error(where(`${fieldPath}: taggedVersions without tag`));
      }
      const fieldFlexible =
        rawField.flexibleVersions === undefined
          ? flexibleVersions
          : parseVersions(asString(rawField.flexibleVersions, where(`${fieldPath} flexibleVersions`)));
      let fieldType: FieldType;
      const isArray = typeString.startsWith('[]');
      const baseName = isArray ? typeString.slice(2) : typeString;
      if ((PRIMITIVE_TYPES as readonly string[]).includes(baseName)) {
        if (rawField.fields !== undefined) throw new Error(where(`${fieldPath}: primitive type with fields`));
        const element: PrimitiveType = { kind: 'primitive', name: baseName as PrimitiveName };
        if (isArray && baseName === 'records') throw new Error(where(`${fieldPath}: array of records`));
        fieldType = isArray ? { kind: 'array', element } : element;
      } else {
        if (!/^[A-Z][A-Za-z0-9]*$/.test(baseName)) throw new Error(where(`${fieldPath}: bad type ${typeString}`));
        let struct: StructSpec | undefined;
        if (rawField.fields !== undefined) {
          if (defined.has(baseName)) throw new Error(where(`${fieldPath}: struct ${baseName} defined twice`));
          defined.add(baseName);
          const fields = parseFields(asArray<RawField>(rawField.fields, where(`${fieldPath} fields`)), fieldPath);
          struct = { name: baseName, fields, declaredVersions: versions, context: null };
          structsByName.set(baseName, struct);
        } else {
          struct = structsByName.get(baseName);
          if (struct === undefined) throw new Error(where(`${fieldPath}: unknown struct ${baseName}`));
        }
        const element: StructType = { kind: 'struct', struct };
        fieldType = isArray ? { kind: 'array', element } : element;
      }
      let defaultString: string | undefined;
      if (rawField.default !== undefined) {
        const d = rawField.default;
        if (typeof d === 'string') defaultString = d;
        else if (typeof d === 'number' || typeof d === 'boolean') defaultString = String(d);
        else throw new Error(where(`${fieldPath}: bad default ${JSON.stringify(d)}`));
      }
      const field: FieldSpec = {
        name: fieldName,
        jsName: lowerFirst(fieldName),
        type: fieldType,
        typeString,
        versions,
        nullableVersions,
        tag,
        taggedVersions,
        flexibleVersions: fieldFlexible,
        defaultString,
        ignorable: rawField.ignorable === true,
        about: typeof rawField.about === 'string' ? rawField.about : '',
      };
      if (nullableVersions !== null && !isNullableType(field.type)) {
        throw new Error(where(`${fieldPath}: nullableVersions on a ${typeString}`));
      }
      defaultLiteral(field); // validates the default
      result.push(field);
    }
    return result;
  };

  for (const { spec, fields } of pendingCommon) {
    (spec.fields as FieldSpec[]).push(...parseFields(fields, spec.name));
  }
  const rootFields = parseFields(asArray<RawField>(raw.fields, where('fields')), name);
  if (structsByName.has(name)) throw new Error(where(`a struct is named like the message (${name})`));
  const root: StructSpec = { name, fields: rootFields, declaredVersions: validVersions, context: null };

  // Where can each struct be on the wire? Walk the field tree with the versions of each use.
  const walk = (struct: StructSpec, versions: Range, depth: number): void => {
    if (depth > 64) throw new Error(where(`struct nesting too deep at ${struct.name}`));
    const here = intersect(versions, struct.declaredVersions);
    if (here === null) return;
    struct.context = hull(struct.context, here);
    for (const field of struct.fields) {
      const structType = field.type.kind === 'array' ? field.type.element : field.type;
      if (structType.kind !== 'struct') continue;
      const fieldVersions = intersect(here, field.versions);
      if (fieldVersions !== null) walk(structType.struct, fieldVersions, depth + 1);
    }
  };
  walk(root, validVersions, 0);

  // Every struct the interfaces mention, depth first.
  const structs: StructSpec[] = [];
  const seen = new Set<StructSpec>();
  const collect = (struct: StructSpec): void => {
    if (seen.has(struct)) return;
    seen.add(struct);
    structs.push(struct);
    for (const field of struct.fields) {
      const structType = field.type.kind === 'array' ? field.type.element : field.type;
      if (structType.kind === 'struct') collect(structType.struct);
    }
  };
  collect(root);
  const structNames = new Set<string>();
  for (const struct of structs) {
    if (structNames.has(struct.name)) throw new Error(where(`two structs named ${struct.name}`));
    structNames.add(struct.name);
    if (RESERVED_TYPE_NAMES.has(struct.name)) throw new Error(where(`struct name ${struct.name} clashes with an import`));
  }

  let apiKey: number | undefined;
  if (raw.apiKey !== undefined) {
    if (typeof raw.apiKey !== 'number') throw new Error(where('apiKey must be a number'));
    apiKey = raw.apiKey;
  }
  if ((type === 'request' || type === 'response') && apiKey === undefined) throw new Error(where('missing apiKey'));
  return {
    fileName,
    moduleName: kebabCase(name),
    name,
    type,
    apiKey,
    validVersions,
    flexibleVersions,
    deprecatedVersions:
      raw.deprecatedVersions === undefined
        ? null
        : parseVersions(asString(raw.deprecatedVersions, where('deprecatedVersions'))),
    latestVersionUnstable: raw.latestVersionUnstable === true,
    listeners: asArray<unknown>(raw.listeners ?? [], where('listeners')).map((l) => asString(l, where('listener'))),
    root,
    structs,
  };
}

const RESERVED_TYPE_NAMES = new Set([
  'Reader',
  'Writer',
  'Records',
  'Encodable',
  'TaggedField',
  'Buffer',
  'Array',
  'Object',
  'String',
  'Number',
  'Boolean',
  'Error',
]);

function isNullableType(type: FieldType): boolean {
  return type.kind !== 'primitive' || ['string', 'bytes', 'records'].includes(type.name);
}

/** Reads and parses every `*.json` schema in a directory, sorted by file name. */
export function loadSchemas(dir: string): MessageSpec[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new Error(`no *.json schemas in ${dir}`);
  return files.map((f) => parseSchema(f, readFileSync(join(dir, f), 'utf8')));
}

// ---------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------

function parseIntDefault(field: FieldSpec, text: string): number {
  const m = /^(-?)(0x[0-9a-fA-F]+|\d+)$/.exec(text.trim());
  if (!m) throw new Error(`field ${field.name}: bad integer default "${text}"`);
  const magnitude = m[2]!.startsWith('0x') ? parseInt(m[2]!.slice(2), 16) : parseInt(m[2]!, 10);
  return m[1] === '-' ? -magnitude : magnitude;
}

const INT_RANGES: Partial<Record<PrimitiveName, [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** The field's default as TypeScript source (used by read for absent fields and by default*()). */
export function defaultLiteral(field: FieldSpec): string {
  const d = field.defaultString ?? '';
  const type = field.type;
  const nullDefault = (): string => {
    // As in Kafka: null may only be the default when every version of the field is nullable.
    const v = field.versions;
    const n = field.nullableVersions;
    if (v !== null && (n === null || n.lo > v.lo || n.hi < v.hi)) {
      throw new Error(`field ${field.name}: null default but not nullable in all its versions`);
    }
    return 'null';
  };
  if (type.kind === 'array') {
    if (d === 'null') return nullDefault();
    if (d !== '') throw new Error(`field ${field.name}: an array default can only be empty or null`);
    return '[]';
  }
  if (type.kind === 'struct') {
    if (d === 'null') return nullDefault();
    if (d !== '') throw new Error(`field ${field.name}: a struct default can only be empty or null`);
    return `${defaultFunctionName(type.struct)}()`;
  }
  switch (type.name) {
    case 'bool':
      if (d === '' || d.toLowerCase() === 'false') return 'false';
      if (d.toLowerCase() === 'true') return 'true';
      throw new Error(`field ${field.name}: bad bool default "${d}"`);
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'int64': {
      if (d === '') return '0';
      const value = parseIntDefault(field, d);
      const [min, max] = INT_RANGES[type.name]!;
      if (value < min || value > max) throw new Error(`field ${field.name}: default ${d} out of range`);
      return String(value);
    }
    case 'float64': {
      if (d === '') return '0';
      const value = Number(d);
      if (Number.isNaN(value) && d.trim() !== 'NaN') throw new Error(`field ${field.name}: bad float64 default "${d}"`);
      if (Number.isNaN(value)) return 'NaN';
      if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
      return Object.is(value, -0) ? '-0' : String(value);
    }
    case 'string':
      if (d === 'null') return nullDefault();
      return quote(d);
    case 'bytes':
      if (d === 'null') return nullDefault();
      if (d !== '') throw new Error(`field ${field.name}: a bytes default can only be empty or null`);
      return 'EMPTY_BUFFER';
    case 'records': {
      // Kafka's generator always defaults records to null; for a records field that is not
      // nullable in all its versions that default could not be written, so use empty bytes.
      const v = field.versions;
      const n = field.nullableVersions;
      return v !== null && (n === null || n.lo > v.lo || n.hi < v.hi) ? 'EMPTY_BUFFER' : 'null';
    }
    case 'uuid': {
      if (d === '') return 'ZERO_UUID';
      const bytes = Buffer.from(d, 'base64url');
      if (bytes.length !== 16 || bytes.toString('base64url') !== d) {
        throw new Error(`field ${field.name}: bad uuid default "${d}"`);
      }
      return quote(d);
    }
  }
}

export function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;
}

// ---------------------------------------------------------------------------------------
// Code generation
// ---------------------------------------------------------------------------------------

const GENERATOR = 'scripts/generate-protocol.ts';

function readFunctionName(struct: StructSpec): string {
  return `read${struct.name}`;
}
function writeFunctionName(struct: StructSpec): string {
  return `write${struct.name}`;
}
function defaultFunctionName(struct: StructSpec): string {
  return `default${struct.name}`;
}
function isDefaultFunctionName(struct: StructSpec): string {
  return `isDefault${struct.name}`;
}

const JS_RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally ' +
    'for function if import in instanceof new null return super switch this throw true try typeof var void ' +
    'while with yield let static implements interface package private protected public await arguments eval ' +
    'undefined NaN Infinity r w m version'
  ).split(' '),
);

/**
 * The module being generated. The runtime names it needs (Reader, EMPTY_ARRAY, ...) are
 * found in the emitted code afterwards, so only what the emitted functions use is imported.
 */
class ModuleContext {
  constructor(readonly spec: MessageSpec) {}
}

/** One function's body being built. */
class FunctionBuilder {
  readonly lines: string[] = [];
  private depth = 1;
  usesVersion = false;
  readonly deps = new Set<string>();
  private readonly unique = new Map<string, number>();
  constructor(readonly mod: ModuleContext) {}

  line(text: string): void {
    this.lines.push(text === '' ? '' : '  '.repeat(this.depth) + text);
  }
  open(text: string): void {
    this.line(text);
    this.depth++;
  }
  close(text = '}'): void {
    this.depth--;
    this.line(text);
  }
  /** Reopens at the same depth: `} else {`. */
  middle(text: string): void {
    this.depth--;
    this.line(text);
    this.depth++;
  }
  call(name: string): string {
    this.deps.add(name);
    return name;
  }
  /** A local name not used before in this function: `_n`, `_n2`, ... */
  fresh(base: string): string {
    const count = (this.unique.get(base) ?? 0) + 1;
    this.unique.set(base, count);
    return count === 1 ? base : `${base}${count}`;
  }
  /**
   * Replaces `if (c) {` + one statement + `}` emitted from line `start` by a shorter form:
   * `if (c) statement;` for a one-line statement, or `if (c) {` + the inner block's contents
   * + `}` when the statement is itself a bare `{ ... }` block.
   */
  simplifyIf(start: number): void {
    const lines = this.lines;
    const count = lines.length - start;
    if (count === 3) {
      const inner = lines[start + 1]!.trim();
      if (!inner.endsWith('{') && !inner.endsWith('}') && !inner.startsWith('}')) {
        lines.splice(start, 3, `${lines[start]!.replace(/ \{$/, '')} ${inner}`);
      }
      return;
    }
    const open = lines[start + 1]!;
    const close = lines[lines.length - 2]!;
    if (open.trim() !== '{' || close.trim() !== '}' || open.length !== close.length) return;
    const indent = open.length - 1;
    // The bare block must be the only statement: nothing else at its indentation in between.
    for (let i = start + 2; i < lines.length - 2; i++) {
      const line = lines[i]!;
      if (line !== '' && line.length - line.trimStart().length <= indent) return;
    }
    const body = lines.slice(start + 2, lines.length - 2).map((line) => (line === '' ? line : line.slice(2)));
    lines.splice(start + 1, count - 1, ...body, lines[lines.length - 1]!);
  }
  /**
   * A condition testing that the version is in `range`, knowing it is in `within`:
   * true/false when that is already decided, else an expression such as `version >= 3`.
   */
  cond(range: Range | null, within: Range): string | boolean {
    const inside = intersect(range, within);
    if (inside === null) return false;
    if (inside.lo === within.lo && inside.hi === within.hi) return true;
    this.usesVersion = true;
    const parts: string[] = [];
    if (inside.lo > within.lo) parts.push(`version >= ${inside.lo}`);
    if (inside.hi < within.hi) parts.push(`version <= ${inside.hi}`);
    if (inside.lo === inside.hi && parts.length === 2) return `version === ${inside.lo}`;
    return parts.join(' && ');
  }
}

/** The negation of a condition from FunctionBuilder.cond(). */
function negate(condition: string): string {
  const single = /^version (>=|<=|===) (\d+)$/.exec(condition);
  if (single === null) return `!(${condition})`;
  const op = single[1] === '>=' ? '<' : single[1] === '<=' ? '>' : '!==';
  return `version ${op} ${single[2]}`;
}

/** Chooses between two expressions by a version range (`range` given as known-inside `within`). */
function branchExpr(
  fb: FunctionBuilder,
  range: Range | null,
  within: Range,
  ifIn: (v: Range) => string,
  ifOut: (v: Range) => string,
): string {
  const c = fb.cond(range, within);
  if (c === true) return ifIn(within);
  if (c === false) return ifOut(within);
  const wrap = (e: string): string => (e.includes(' ? ') ? `(${e})` : e);
  return `${c} ? ${wrap(ifIn(intersect(range, within)!))} : ${wrap(ifOut(subtract(within, range)!))}`;
}

/** Emits statements chosen by a version range. */
function branchStatements(
  fb: FunctionBuilder,
  range: Range | null,
  within: Range,
  ifIn: (v: Range) => void,
  ifOut: (v: Range) => void,
): void {
  const c = fb.cond(range, within);
  if (c === true) return ifIn(within);
  if (c === false) return ifOut(within);
  fb.open(`if (${c}) {`);
  ifIn(intersect(range, within)!);
  fb.middle('} else {');
  const mark = fb.lines.length;
  ifOut(subtract(within, range)!);
  if (fb.lines.length === mark) fb.lines.pop(); // nothing to do otherwise: no `else`
  fb.close();
}

function tsType(field: FieldSpec): string {
  const nullable = field.nullableVersions !== null;
  const type = field.type;
  let base: string;
  if (type.kind === 'array') {
    base = `${elementTsType(type.element)}[]`;
  } else if (type.kind === 'struct') {
    base = type.struct.name;
  } else {
    base = elementTsType(type);
    if (type.name === 'records') return `${base} | null`;
  }
  return nullable ? `${base} | null` : base;
}

function elementTsType(type: PrimitiveType | StructType): string {
  if (type.kind === 'struct') return type.struct.name;
  switch (type.name) {
    case 'bool':
      return 'boolean';
    case 'string':
    case 'uuid':
      return 'string';
    case 'bytes':
      return 'Buffer';
    case 'records':
      return 'Records';
    default:
      return 'number';
  }
}

const SCALAR_METHOD: Partial<Record<PrimitiveName, string>> = {
  bool: 'bool',
  int8: 'int8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  float64: 'float64',
  uuid: 'uuid',
};

type VarKind = 'string' | 'bytes' | 'records';

function varMethod(kind: VarKind, compact: boolean, nullable: boolean, writing: boolean): string {
  if (kind === 'records' && writing) return compact ? 'compactRecords' : 'records';
  const base = kind === 'string' ? 'String' : 'Bytes';
  if (compact) return nullable ? `compactNullable${base}` : `compact${base}`;
  return nullable ? `nullable${base}` : base.toLowerCase();
}

/** A version set's description for doc comments. */
function fieldDoc(field: FieldSpec): string {
  const parts: string[] = [];
  if (field.about !== '') parts.push(field.about.trim().replace(/\s+/g, ' ').replace(/\.?$/, '.'));
  const facts = [`Versions ${formatVersions(field.versions)}`];
  if (field.nullableVersions !== null) facts.push(`nullable ${formatVersions(field.nullableVersions)}`);
  if (field.tag !== undefined) facts.push(`tag ${field.tag}`);
  if (field.defaultString !== undefined) facts.push(`default ${field.defaultString === '' ? '""' : field.defaultString}`);
  parts.push(`${facts.join(', ')}.`);
  return parts.join(' ').replace(/\*\//g, '*\\/');
}

// ----- reading -------------------------------------------------------------------------

/** An expression reading a non-array value of `type`, for a field present in versions `v`. */
function readValueExpr(fb: FunctionBuilder, field: FieldSpec, v: Range, tagged: boolean): string {
  const type = field.type;
  if (type.kind === 'array') throw new Error('readValueExpr on an array');
  if (type.kind === 'struct') {
    const read = `${fb.call(readFunctionName(type.struct))}(r, version)`;
    fb.usesVersion = true;
    const n = fb.cond(field.nullableVersions, v);
    if (n === false) return read;
    const marker = tagged ? 'r.uvarint() === 0' : 'r.int8() < 0';
    return n === true ? `${marker} ? null : ${read}` : `${n} && ${marker} ? null : ${read}`;
  }
  return readPrimitiveExpr(fb, type.name, v, field.nullableVersions, field.flexibleVersions);
}

function readPrimitiveExpr(
  fb: FunctionBuilder,
  name: PrimitiveName,
  v: Range,
  nullable: Range | null,
  flexible: Range | null,
): string {
  const scalar = SCALAR_METHOD[name];
  if (scalar !== undefined) return `r.${scalar}()`;
  const kind = name as VarKind;
  const pick = (w: Range, compact: boolean): string =>
    branchExpr(
      fb,
      nullable,
      w,
      () => `r.${varMethod(kind, compact, true, false)}()`,
      () => `r.${varMethod(kind, compact, false, false)}()`,
    );
  return branchExpr(
    fb,
    flexible,
    v,
    (w) => pick(w, true),
    (w) => pick(w, false),
  );
}

/** Statements reading an array into `target` (already declared), for versions `v`. */
function emitArrayRead(fb: FunctionBuilder, field: FieldSpec, v: Range, target: string): void {
  const type = field.type as ArrayType;
  const element = type.element;
  const n = fb.fresh('_n');
  const i = fb.fresh('_i');
  const length = branchExpr(
    fb,
    field.flexibleVersions,
    v,
    () => 'r.compactArrayLength()',
    () => 'r.arrayLength()',
  );
  fb.line(`const ${n} = ${length};`);
  const nullCond = fb.cond(field.nullableVersions, v);
  const elementType = elementTsType(element);
  const elementRead =
    element.kind === 'struct'
      ? `${fb.call(readFunctionName(element.struct))}(r, version)`
      : readPrimitiveExpr(fb, element.name, v, null, field.flexibleVersions);
  if (element.kind === 'struct') fb.usesVersion = true;
  const fill = (): void => {
    fb.line(`${target} = new Array<${elementType}>(${n});`);
    fb.line(`for (let ${i} = 0; ${i} < ${n}; ${i}++) ${target}[${i}] = ${elementRead};`);
  };
  if (nullCond === false) {
    fb.line(`if (${n} < 0) throw unexpectedNull(${quote(field.jsName)});`);
    fill();
    return;
  }
  fb.open(`if (${n} < 0) {`);
  if (nullCond === true) {
    fb.line(`${target} = null;`);
  } else {
    fb.line(`if (${negate(nullCond)}) throw unexpectedNull(${quote(field.jsName)});`);
    fb.line(`${target} = null;`);
  }
  fb.middle('} else {');
  fill();
  fb.close();
}

function localName(field: FieldSpec, taken: ReadonlySet<string>): string {
  return JS_RESERVED.has(field.jsName) || taken.has(field.jsName) ? `${field.jsName}_` : field.jsName;
}

function generateRead(mod: ModuleContext, struct: StructSpec, moduleNames: ReadonlySet<string>): FunctionBuilder {
  const fb = new FunctionBuilder(mod);
  const ctx = struct.context!;
  const spec = mod.spec;
  const locals = new Map<FieldSpec, string>();
  for (const field of struct.fields) locals.set(field, localName(field, moduleNames));
  const taggedFields: FieldSpec[] = [];

  for (const field of struct.fields) {
    const local = locals.get(field)!;
    const type = tsType(field);
    const v = intersect(ctx, field.versions);
    const fallback = defaultExpr(fb, field);
    if (v === null) {
      fb.line(`const ${local}: ${type} = ${fallback};`);
      continue;
    }
    if (field.tag !== undefined) {
      fb.line(`let ${local}: ${type} = ${fallback};`);
      taggedFields.push(field);
      continue;
    }
    if (field.type.kind === 'array') {
      fb.line(`let ${local}: ${type};`);
      branchStatements(
        fb,
        field.versions,
        ctx,
        (w) => emitArrayRead(fb, field, w, local),
        () => fb.line(`${local} = ${fallback};`),
      );
      continue;
    }
    const present = fb.cond(field.versions, ctx);
    const read = readValueExpr(fb, field, v, false);
    if (present === true) {
      fb.line(`const ${local}: ${type} = ${read};`);
    } else {
      const needsParens = read.includes('?');
      fb.line(`const ${local}: ${type} = ${present} ? ${needsParens ? `(${read})` : read} : ${fallback};`);
    }
  }

  const flexible = fb.cond(spec.flexibleVersions, ctx);
  const hasTaggedSection = flexible !== false;
  if (hasTaggedSection) {
    const taggedCtx = intersect(spec.flexibleVersions, ctx)!;
    fb.line(`let _unknown: TaggedField[] | undefined;`);
    if (flexible !== true) fb.open(`if (${flexible}) {`);
    fb.line('const _count = r.uvarint();');
    fb.open('for (let _k = 0; _k < _count; _k++) {');
    fb.line('const _tag = r.uvarint();');
    fb.line('const _size = r.uvarint();');
    const sorted = [...taggedFields].sort((a, b) => a.tag! - b.tag!);
    let first = true;
    for (const field of sorted) {
      const local = locals.get(field)!;
      const v = intersect(taggedCtx, field.taggedVersions);
      if (v === null) continue;
      const when = fb.cond(field.taggedVersions, taggedCtx);
      const test = when === true ? `_tag === ${field.tag}` : `_tag === ${field.tag} && ${when}`;
      if (first) fb.open(`if (${test}) {`);
      else fb.middle(`} else if (${test}) {`);
      first = false;
      fb.line('const _end = r.offset + _size;');
      if (field.type.kind === 'array') {
        emitArrayRead(fb, field, v, local);
      } else {
        fb.line(`${local} = ${readValueExpr(fb, field, v, true)};`);
      }
      fb.line(`endTaggedField(r, _end, _tag);`);
    }
    const pushUnknown = '(_unknown ??= []).push({ tag: _tag, data: r.raw(_size) });';
    if (first) {
      fb.line(pushUnknown);
    } else {
      fb.middle('} else {');
      fb.line(pushUnknown);
      fb.close();
    }
    fb.close();
    if (flexible !== true) fb.close();
  }

  const objectLines = struct.fields.map((field) => {
    const local = locals.get(field)!;
    return local === field.jsName ? `${field.jsName},` : `${field.jsName}: ${local},`;
  });
  if (hasTaggedSection) {
    fb.open(`const _m: ${struct.name} = {`);
    for (const l of objectLines) fb.line(l);
    fb.close('};');
    fb.line('if (_unknown !== undefined) _m.unknownTaggedFields = _unknown;');
    fb.line('return _m;');
  } else if (objectLines.length === 0) {
    fb.line('return {};');
  } else {
    fb.open('return {');
    for (const l of objectLines) fb.line(l);
    fb.close('};');
  }
  return fb;
}

function defaultExpr(fb: FunctionBuilder, field: FieldSpec): string {
  const literal = defaultLiteral(field);
  if (field.type.kind === 'struct' && literal !== 'null') fb.call(defaultFunctionName(field.type.struct));
  return literal;
}

// ----- writing -------------------------------------------------------------------------

/**
 * Statements writing `value` (an expression of the field's Encodable type; `maybeUndefined`
 * tells whether it can be undefined) with writer `w`, for the versions `v`.
 */
function emitValueWrite(
  fb: FunctionBuilder,
  field: FieldSpec,
  v: Range,
  value: string,
  maybeUndefined: boolean,
  w: string,
  tagged: boolean,
): void {
  const type = field.type;
  const fallback = defaultExpr(fb, field);
  if (type.kind === 'primitive' && SCALAR_METHOD[type.name] !== undefined) {
    fb.line(`${w}.${SCALAR_METHOD[type.name]}(${maybeUndefined ? `${value} ?? ${fallback}` : value});`);
    return;
  }
  const nullable = field.nullableVersions !== null;
  const nullCond = fb.cond(field.nullableVersions, v);
  const name = quote(field.jsName);

  if (type.kind === 'primitive') {
    const kind = type.name as VarKind;
    const emit = (val: string, valMayBeNull: boolean): void => {
      const write = (wv: Range, compact: boolean): void => {
        branchStatements(
          fb,
          field.nullableVersions,
          wv,
          () => fb.line(`${w}.${varMethod(kind, compact, true, true)}(${val});`),
          () => {
            if (valMayBeNull) {
              fb.usesVersion = true;
              fb.line(`if (${val} === null) throw nullNotAllowed(${name}, version);`);
            }
            fb.line(`${w}.${varMethod(kind, compact, false, true)}(${val});`);
          },
        );
      };
      branchStatements(
        fb,
        field.flexibleVersions,
        v,
        (wv) => write(wv, true),
        (wv) => write(wv, false),
      );
    };
    const mayBeNull = nullable || kind === 'records';
    if (!maybeUndefined) {
      emit(value, mayBeNull);
    } else if (!mayBeNull) {
      emit(`${value} ?? ${fallback}`, false);
    } else if (nullCond === true) {
      emit(`${value} === undefined ? ${fallback} : ${value}`, false);
    } else {
      const local = fb.fresh('_v');
      fb.open('{');
      fb.line(`const ${local} = ${value} === undefined ? ${fallback} : ${value};`);
      emit(local, true);
      fb.close();
    }
    return;
  }

  if (type.kind === 'struct') {
    const write = `${fb.call(writeFunctionName(type.struct))}(${w}, version, `;
    fb.usesVersion = true;
    if (!nullable) {
      fb.line(`${write}${maybeUndefined ? `${value} ?? {}` : value});`);
      return;
    }
    const local = maybeUndefined ? fb.fresh('_v') : value;
    if (maybeUndefined) {
      fb.open('{');
      fb.line(`const ${local} = ${value} === undefined ? ${fallback === 'null' ? 'null' : '{}'} : ${value};`);
    }
    const marker = (present: boolean): string =>
      tagged ? `${w}.uvarint(${present ? 1 : 0});` : `${w}.int8(${present ? 1 : -1});`;
    fb.open(`if (${local} === null) {`);
    branchStatements(
      fb,
      field.nullableVersions,
      v,
      () => fb.line(marker(false)),
      () => fb.line(`throw nullNotAllowed(${name}, version);`),
    );
    fb.middle('} else {');
    branchStatements(
      fb,
      field.nullableVersions,
      v,
      () => fb.line(marker(true)),
      () => undefined,
    );
    fb.line(`${write}${local});`);
    fb.close();
    if (maybeUndefined) fb.close();
    return;
  }

  // Arrays.
  const element = type.element;
  const local = maybeUndefined ? fb.fresh('_a') : value;
  const i = fb.fresh('_i');
  if (maybeUndefined) {
    fb.open('{');
    const empty = fallback === 'null' ? 'null' : 'EMPTY_ARRAY';
    fb.line(
      nullable || fallback === 'null'
        ? `const ${local} = ${value} === undefined ? ${empty} : ${value};`
        : `const ${local} = ${value} ?? ${empty};`,
    );
  }
  const writeElements = (compact: boolean): void => {
    fb.line(`${w}.${compact ? 'compactArrayLength' : 'arrayLength'}(${local}.length);`);
    let elementWrite: string;
    if (element.kind === 'struct') {
      fb.usesVersion = true;
      elementWrite = `${fb.call(writeFunctionName(element.struct))}(${w}, version, ${local}[${i}]!)`;
    } else if (SCALAR_METHOD[element.name] !== undefined) {
      elementWrite = `${w}.${SCALAR_METHOD[element.name]}(${local}[${i}]!)`;
    } else {
      elementWrite = `${w}.${varMethod(element.name as VarKind, compact, false, true)}(${local}[${i}]!)`;
    }
    fb.line(`for (let ${i} = 0; ${i} < ${local}.length; ${i}++) ${elementWrite};`);
  };
  const writeNull = (wv: Range): void => {
    branchStatements(
      fb,
      field.flexibleVersions,
      wv,
      () => fb.line(`${w}.uvarint(0);`),
      () => fb.line(`${w}.int32(-1);`),
    );
  };
  if (nullable || fallback === 'null') {
    fb.open(`if (${local} === null) {`);
    branchStatements(fb, field.nullableVersions, v, writeNull, () => {
      fb.usesVersion = true;
      fb.line(`throw nullNotAllowed(${name}, version);`);
    });
    fb.middle('} else {');
  }
  branchStatements(
    fb,
    field.flexibleVersions,
    v,
    () => writeElements(true),
    () => writeElements(false),
  );
  if (nullable || fallback === 'null') fb.close();
  if (maybeUndefined) fb.close();
}

/** An expression: is `value` (Encodable, maybe undefined) different from the field's default? */
function nonDefaultExpr(fb: FunctionBuilder, field: FieldSpec, value: string): string {
  const fallback = defaultExpr(fb, field);
  const type = field.type;
  const nullable = field.nullableVersions !== null;
  if (fallback === 'null') return `${value} !== undefined && ${value} !== null`;
  if (type.kind === 'array' || (type.kind === 'primitive' && type.name === 'bytes')) {
    return nullable
      ? `${value} !== undefined && (${value} === null || ${value}.length !== 0)`
      : `${value} !== undefined && ${value}.length !== 0`;
  }
  if (type.kind === 'struct') {
    const check = `!${fb.call(isDefaultFunctionName(type.struct))}(${value})`;
    return nullable ? `${value} !== undefined && (${value} === null || ${check})` : `${value} !== undefined && ${check}`;
  }
  return `${value} !== undefined && ${value} !== ${fallback}`;
}

/** An expression: is `value` (Encodable, maybe undefined) missing or equal to the field's default? */
function isDefaultExpr(fb: FunctionBuilder, field: FieldSpec, value: string): string {
  const fallback = defaultExpr(fb, field);
  const type = field.type;
  const nullable = field.nullableVersions !== null;
  if (fallback === 'null') return `(${value} === undefined || ${value} === null)`;
  if (type.kind === 'array' || (type.kind === 'primitive' && type.name === 'bytes')) {
    return nullable
      ? `(${value} === undefined || (${value} !== null && ${value}.length === 0))`
      : `(${value} === undefined || ${value}.length === 0)`;
  }
  if (type.kind === 'struct') {
    const check = `${fb.call(isDefaultFunctionName(type.struct))}(${value})`;
    return nullable
      ? `(${value} === undefined || (${value} !== null && ${check}))`
      : `(${value} === undefined || ${check})`;
  }
  return `(${value} === undefined || ${value} === ${fallback})`;
}

function generateWrite(mod: ModuleContext, struct: StructSpec): FunctionBuilder {
  const fb = new FunctionBuilder(mod);
  const ctx = struct.context!;
  const spec = mod.spec;
  const taggedFields: FieldSpec[] = [];
  for (const field of struct.fields) {
    const v = intersect(ctx, field.versions);
    if (v === null) continue;
    if (field.tag !== undefined) {
      taggedFields.push(field);
      continue;
    }
    const present = fb.cond(field.versions, ctx);
    if (present === true) {
      emitValueWrite(fb, field, v, `m.${field.jsName}`, true, 'w', false);
    } else {
      const start = fb.lines.length;
      fb.open(`if (${present}) {`);
      emitValueWrite(fb, field, v, `m.${field.jsName}`, true, 'w', false);
      fb.close();
      fb.simplifyIf(start);
    }
  }
  const flexible = fb.cond(spec.flexibleVersions, ctx);
  if (flexible !== false) {
    const taggedCtx = intersect(spec.flexibleVersions, ctx)!;
    if (flexible !== true) fb.open(`if (${flexible}) {`);
    const sorted = [...taggedFields].sort((a, b) => a.tag! - b.tag!);
    const present = sorted.filter((f) => intersect(taggedCtx, f.taggedVersions) !== null);
    if (present.length === 0) {
      fb.line(`writeTaggedFields(w, undefined, m.unknownTaggedFields);`);
    } else {
      fb.line(`let _tagged: TaggedField[] | undefined;`);
      for (const field of present) {
        const v = intersect(taggedCtx, field.taggedVersions)!;
        const when = fb.cond(field.taggedVersions, taggedCtx);
        fb.open(when === true ? '{' : `if (${when}) {`);
        fb.line(`const _v = m.${field.jsName};`);
        fb.open(`if (${nonDefaultExpr(fb, field, '_v')}) {`);
        fb.line('const _t = new Writer(64);');
        emitValueWrite(fb, field, v, '_v', false, '_t', true);
        fb.line(`(_tagged ??= []).push({ tag: ${field.tag}, data: _t.toBuffer() });`);
        fb.close();
        fb.close();
      }
      fb.line(`writeTaggedFields(w, _tagged, m.unknownTaggedFields);`);
    }
    if (flexible !== true) fb.close();
  }
  return fb;
}

function generateDefault(mod: ModuleContext, struct: StructSpec): FunctionBuilder {
  const fb = new FunctionBuilder(mod);
  if (struct.fields.length === 0) {
    fb.line('return {};');
    return fb;
  }
  fb.open('return {');
  for (const field of struct.fields) fb.line(`${field.jsName}: ${defaultExpr(fb, field)},`);
  fb.close('};');
  return fb;
}

function generateIsDefault(mod: ModuleContext, struct: StructSpec): FunctionBuilder {
  const fb = new FunctionBuilder(mod);
  const terms: string[] = [];
  for (const field of struct.fields) {
    terms.push(isDefaultExpr(fb, field, `m.${field.jsName}`));
  }
  terms.push('(m.unknownTaggedFields === undefined || m.unknownTaggedFields.length === 0)');
  fb.open('return (');
  terms.forEach((term, index) => fb.line(`${index === 0 ? '' : '&& '}${term}`));
  fb.close(');');
  return fb;
}

interface GeneratedFunction {
  readonly name: string;
  readonly exported: boolean;
  readonly text: string;
  readonly deps: ReadonlySet<string>;
}

function finishFunction(
  fb: FunctionBuilder,
  name: string,
  exported: boolean,
  params: (used: (p: string) => boolean) => string,
  returnType: string,
): GeneratedFunction {
  const body = fb.lines.join('\n');
  const used = (p: string): boolean => (p === 'version' ? fb.usesVersion : new RegExp(`\\b${p}\\b`).test(body));
  const text = `${exported ? 'export ' : ''}function ${name}(${params(used)}): ${returnType} {\n${body}\n}\n`;
  return { name, exported, text, deps: fb.deps };
}

/** Generates one schema's module. */
export function generateModule(spec: MessageSpec): string {
  const mod = new ModuleContext(spec);
  const moduleNames = new Set<string>();
  for (const struct of spec.structs) {
    moduleNames.add(struct.name);
    moduleNames.add(readFunctionName(struct));
    moduleNames.add(writeFunctionName(struct));
    moduleNames.add(defaultFunctionName(struct));
    moduleNames.add(isDefaultFunctionName(struct));
  }
  for (const n of [
    'Reader',
    'Writer',
    'Records',
    'Encodable',
    'TaggedField',
    'EMPTY_BUFFER',
    'EMPTY_ARRAY',
    'ZERO_UUID',
    'writeTaggedFields',
    'endTaggedField',
    'unexpectedNull',
    'nullNotAllowed',
  ]) {
    moduleNames.add(n);
  }

  // Interfaces.
  const interfaces: string[] = [];
  for (const struct of spec.structs) {
    const lines: string[] = [];
    lines.push(`export interface ${struct.name} {`);
    for (const field of struct.fields) {
      lines.push(`  /** ${fieldDoc(field)} */`);
      lines.push(`  ${field.jsName}: ${tsType(field)};`);
    }
    lines.push('  /** Tagged fields this codec does not know, kept so they survive decode and encode. */');
    lines.push(`  unknownTaggedFields?: TaggedField[];`);
    lines.push('}');
    interfaces.push(lines.join('\n') + '\n');
  }

  // Functions, generated for every struct, emitted only when reachable from the exports.
  const all = new Map<string, GeneratedFunction>();
  const order: string[] = [];
  const add = (f: GeneratedFunction): void => {
    all.set(f.name, f);
    order.push(f.name);
  };
  for (const struct of spec.structs) {
    const exported = struct === spec.root;
    add(
      finishFunction(generateDefault(mod, struct), defaultFunctionName(struct), exported, () => '', struct.name),
    );
    if (struct.context !== null) {
      add(
        finishFunction(
          generateRead(mod, struct, moduleNames),
          readFunctionName(struct),
          exported,
          (used) => `${used('r') ? 'r' : '_r'}: Reader, ${used('version') ? 'version' : '_version'}: number`,
          struct.name,
        ),
      );
      add(
        finishFunction(
          generateWrite(mod, struct),
          writeFunctionName(struct),
          exported,
          (used) =>
            `${used('w') ? 'w' : '_w'}: Writer, ${used('version') ? 'version' : '_version'}: number, ` +
            `${used('m') ? 'm' : '_m'}: Encodable<${struct.name}>`,
          'void',
        ),
      );
    }
    add(
      finishFunction(
        generateIsDefault(mod, struct),
        isDefaultFunctionName(struct),
        false,
        () => `m: Encodable<${struct.name}>`,
        'boolean',
      ),
    );
  }
  const reachable = new Set<string>();
  const visit = (name: string): void => {
    if (reachable.has(name)) return;
    const f = all.get(name);
    if (f === undefined) throw new Error(`${spec.name}: generated code calls missing function ${name}`);
    reachable.add(name);
    for (const dep of f.deps) visit(dep);
  };
  for (const f of all.values()) if (f.exported) visit(f.name);

  // Import exactly the runtime names the emitted code (doc comments aside) mentions.
  const emitted = order.filter((n) => reachable.has(n)).map((n) => all.get(n)!.text);
  const code = [...interfaces, ...emitted].join('\n');
  const bare = code.replace(/\/\*\*.*?\*\//g, '');
  const uses = (name: string): boolean => new RegExp(`\\b${name}\\b`).test(bare);
  const importLines: string[] = [];
  if (uses('Reader')) importLines.push(`import type { Reader } from '../reader.js';`);
  if (/\bnew Writer\(/.test(bare)) importLines.push(`import { Writer } from '../writer.js';`);
  else if (uses('Writer')) importLines.push(`import type { Writer } from '../writer.js';`);
  if (uses('Records')) importLines.push(`import type { Records } from '../chunks.js';`);
  const messageValues = [
    'EMPTY_ARRAY',
    'EMPTY_BUFFER',
    'ZERO_UUID',
    'endTaggedField',
    'nullNotAllowed',
    'unexpectedNull',
    'writeTaggedFields',
  ].filter(uses);
  const messageTypes = ['Encodable', 'TaggedField'].filter(uses);
  const messageImports = [...messageValues, ...messageTypes.map((t) => `type ${t}`)];
  if (messageImports.length > 0) importLines.push(`import { ${messageImports.join(', ')} } from '../message.js';`);

  const header = `// GENERATED by ${GENERATOR} from ${spec.fileName} — do not edit.\n`;
  return `${header}\n${importLines.join('\n')}\n\n${code}`;
}

/** The registry module: one ApiSchema per API key. */
export function generateIndex(specs: readonly MessageSpec[]): string {
  const byKey = new Map<number, { request?: MessageSpec; response?: MessageSpec }>();
  for (const spec of specs) {
    if (spec.type !== 'request' && spec.type !== 'response') continue;
    const entry = byKey.get(spec.apiKey!) ?? {};
    if (entry[spec.type] !== undefined) throw new Error(`two ${spec.type}s for API key ${spec.apiKey}`);
    entry[spec.type] = spec;
    byKey.set(spec.apiKey!, entry);
  }
  const keys = [...byKey.keys()].sort((a, b) => a - b);
  const imports: string[] = [];
  const entries: string[] = [];
  const constants: string[] = [];
  const names: string[] = [];
  for (const key of keys) {
    const { request, response } = byKey.get(key)!;
    if (request === undefined || response === undefined) throw new Error(`API key ${key} lacks a request or response`);
    const apiName = request.name.replace(/Request$/, '');
    if (response.name !== `${apiName}Response`) throw new Error(`API key ${key}: ${request.name} vs ${response.name}`);
    for (const what of ['validVersions', 'flexibleVersions'] as const) {
      if (formatVersions(request[what]) !== formatVersions(response[what])) {
        throw new Error(`API key ${key}: request and response ${what} differ`);
      }
    }
    for (const spec of [request, response]) {
      imports.push(
        `import { default${spec.name}, read${spec.name}, write${spec.name}, type ${spec.name} } from './${spec.moduleName}.js';`,
      );
    }
    const constName = `${lowerFirst(apiName)}Api`;
    const lines = [
      `export const ${constName}: ApiSchema<${request.name}, ${response.name}> = {`,
      `  name: ${quote(apiName)},`,
      `  apiKey: ${key},`,
      `  minVersion: ${request.validVersions.lo},`,
      `  maxVersion: ${request.validVersions.hi},`,
      `  flexibleMinVersion: ${request.flexibleVersions === null ? 'Infinity' : request.flexibleVersions.lo},`,
      `  latestVersionUnstable: ${request.latestVersionUnstable},`,
    ];
    if (request.deprecatedVersions !== null) {
      const d = request.deprecatedVersions;
      if (d.hi === Infinity) throw new Error(`API key ${key}: open-ended deprecatedVersions`);
      lines.push(`  deprecatedVersions: { min: ${d.lo}, max: ${d.hi} },`);
    }
    lines.push(
      `  listeners: [${request.listeners.map(quote).join(', ')}],`,
      `  readRequest: read${request.name},`,
      `  writeRequest: write${request.name},`,
      `  defaultRequest: default${request.name},`,
      `  readResponse: read${response.name},`,
      `  writeResponse: write${response.name},`,
      `  defaultResponse: default${response.name},`,
      '};',
    );
    constants.push(lines.join('\n') + '\n');
    entries.push(`  [${key}, ${constName}],`);
    names.push(`  ${apiName}: ${key},`);
  }
  return [
    `// GENERATED by ${GENERATOR} from the *Request.json and *Response.json schemas — do not edit.`,
    '',
    `import type { ApiSchema } from '../message.js';`,
    ...imports,
    '',
    '/** API keys by name. */',
    'export const ApiKey = {',
    ...names,
    '} as const;',
    '',
    constants.join('\n'),
    '/**',
    ' * Every API key the schemas define. `flexibleMinVersion` is Infinity for an API without',
    ' * flexible versions, so `version >= schema.flexibleMinVersion` tests flexibility.',
    ' */',
    'export const apiSchemas: ReadonlyMap<number, ApiSchema> = new Map<number, ApiSchema>([',
    ...entries,
    ']);',
    '',
  ].join('\n');
}

/** All generated files: module file name -> content. Sorted by file name. */
export function generateFiles(specs: readonly MessageSpec[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const spec of specs) {
    const fileName = `${spec.moduleName}.ts`;
    if (files.has(fileName) || fileName === 'index.ts') throw new Error(`two schemas map to ${fileName}`);
    files.set(fileName, generateModule(spec));
  }
  files.set('index.ts', generateIndex(specs));
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// ---------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------

/** The project root: the nearest directory above this script that has a package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (no package.json above the script)');
    dir = parent;
  }
}

export function defaultSchemasDir(): string {
  return resolve(projectRoot(), '..', 'shared', 'kafka-protocol', 'messages');
}

export function defaultOutDir(): string {
  return resolve(projectRoot(), 'src', 'protocol', 'generated');
}

const GENERATED_MARK = `// GENERATED by ${GENERATOR}`;

/** Generates into `outDir`, removing generated files there that no schema produces any more. */
export function generate(options: { schemasDir?: string; outDir?: string } = {}): string[] {
  const schemasDir = options.schemasDir ?? defaultSchemasDir();
  const outDir = options.outDir ?? defaultOutDir();
  const files = generateFiles(loadSchemas(schemasDir));
  mkdirSync(outDir, { recursive: true });
  for (const existing of readdirSync(outDir)) {
    if (!existing.endsWith('.ts') || files.has(existing)) continue;
    const path = join(outDir, existing);
    if (readFileSync(path, 'utf8').startsWith(GENERATED_MARK)) rmSync(path);
  }
  for (const [name, content] of files) {
    const path = join(outDir, name);
    if (existsSync(path) && readFileSync(path, 'utf8') === content) continue;
    writeFileSync(path, content);
  }
  return [...files.keys()];
}

function main(argv: readonly string[]): void {
  const options: { schemasDir?: string; outDir?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if ((arg === '--schemas' || arg === '--out') && value !== undefined) {
      if (arg === '--schemas') options.schemasDir = resolve(value);
      else options.outDir = resolve(value);
      i++;
    } else {
      throw new Error(`usage: generate-protocol [--schemas <dir>] [--out <dir>] (bad argument ${arg})`);
    }
  }
  const written = generate(options);
  console.log(`generated ${written.length} files into ${options.outDir ?? defaultOutDir()}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
