// Small runtime pieces shared by the generated codecs in ./generated/ (written by
// scripts/generate-protocol.ts): the Encodable<T> input type, tagged-field helpers,
// the errors the codecs raise, and the ApiSchema registry entry type.

import type { ChunkList } from './chunks.js';
import { ProtocolError } from './errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** A tagged field the codec does not know (or a raw one to send): its tag and payload bytes. */
export interface TaggedField {
  tag: number;
  data: Buffer;
}

/**
 * What a generated `writeX` accepts: X with every property optional, recursively through
 * nested structs and arrays of structs. A missing property is written as its schema default.
 * Buffers, records (Buffer | ChunkList), raw tagged fields and primitives are kept as they are.
 */
export type Encodable<T> = T extends Buffer | ChunkList | TaggedField | string | number | boolean | null | undefined
  ? T
  : T extends readonly (infer E)[]
    ? readonly Encodable<E>[]
    : { [K in keyof T]?: Encodable<T[K]> };

/** Kafka's zero UUID (Uuid.ZERO_UUID) as Reader.uuid() returns it: 16 zero bytes in base64url. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** Shared empty values the writers substitute for missing fields. Never mutated. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);
export const EMPTY_ARRAY: readonly never[] = Object.freeze([]);

/**
 * Writes a tagged-field section: the count, then each field as tag, size, payload, in
 * ascending tag order. `known` comes from the codec, already in tag order; `unknown` is a
 * message's `unknownTaggedFields`, merged in by tag.
 */
export function writeTaggedFields(
  w: Writer,
  known: readonly TaggedField[] | undefined,
  unknown: readonly TaggedField[] | undefined,
): void {
  if (unknown === undefined || unknown.length === 0) {
    if (known === undefined) {
      w.uvarint(0);
      return;
    }
    w.uvarint(known.length);
    for (let i = 0; i < known.length; i++) writeTaggedField(w, known[i]!);
    return;
  }
  const rest = unknown.slice().sort(byTag);
  const first = known ?? EMPTY_ARRAY;
  w.uvarint(first.length + rest.length);
  let i = 0;
  let j = 0;
  while (i < first.length || j < rest.length) {
    if (j >= rest.length || (i < first.length && first[i]!.tag <= rest[j]!.tag)) writeTaggedField(w, first[i++]!);
    else writeTaggedField(w, rest[j++]!);
  }
}

function byTag(a: TaggedField, b: TaggedField): number {
  return a.tag - b.tag;
}

function writeTaggedField(w: Writer, field: TaggedField): void {
  w.uvarint(field.tag);
  w.uvarint(field.data.length);
  w.raw(field.data);
}

/** After decoding a known tagged field: its payload must have been exactly `size` bytes. */
export function endTaggedField(r: Reader, end: number, tag: number): void {
  if (r.offset !== end) {
    throw new ProtocolError(`tagged field ${tag} should end at offset ${end}, its value ended at ${r.offset}`);
  }
}

/** A decode error: a null (length -1 / 0) where the schema does not allow one. */
export function unexpectedNull(field: string): ProtocolError {
  return new ProtocolError(`non-nullable field ${field} was serialized as null`);
}

/** An encode error: null given for a field that is not nullable in the version being written. */
export function nullNotAllowed(field: string, version: number): RangeError {
  return new RangeError(`field ${field} is not nullable in version ${version}`);
}

/** An inclusive range of versions. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/**
 * One API key in the registry (src/protocol/generated/index.ts). The read/write functions
 * are declared as methods so that a specific ApiSchema<ProduceRequest, ProduceResponse>
 * is assignable to the loose ApiSchema used by generic dispatch code.
 */
export interface ApiSchema<Req extends object = object, Res extends object = object> {
  /** The API's name without Request/Response, e.g. 'Produce'. */
  readonly name: string;
  readonly apiKey: number;
  /** Lowest and highest of the schema's validVersions. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * Lowest flexible (KIP-482) version. `Infinity` when the API has no flexible version, so
   * `version >= flexibleMinVersion` is always the test for "this version is flexible".
   */
  readonly flexibleMinVersion: number;
  /** The top version is still in development and must not be advertised. */
  readonly latestVersionUnstable: boolean;
  /** Versions the schema marks as deprecated (KIP-896), when it marks any. */
  readonly deprecatedVersions?: VersionRange;
  /** The request schema's `listeners`: 'zkBroker', 'broker', 'controller'. */
  readonly listeners: readonly string[];
  readRequest(r: Reader, version: number): Req;
  writeRequest(w: Writer, version: number, m: Encodable<Req>): void;
  defaultRequest(): Req;
  readResponse(r: Reader, version: number): Res;
  writeResponse(w: Writer, version: number, m: Encodable<Res>): void;
  defaultResponse(): Res;
}
