// The compression codecs of record batches (attribute bits 0-2): decompression for
// validation, record lookups and compaction; compression for batches the broker rewrites
// (compression.type, compaction of compressed batches) and for tests, tools and
// benchmarks. Bytes in, bytes out, no I/O. Every decompression is bounded by `inflatedBytesMax`, checked from
// the payload's own structure BEFORE the decoder allocates anything (a decompression bomb
// is refused, not inflated):
//
//   gzip    node:zlib. Exactly one gzip member (RFC 1952) and nothing after it: Java reads
//           every member, librdkafka only the first, so anything else would decode differently.
//   snappy  `snappy` (napi-rs). Raw snappy, as librdkafka writes it, or the xerial framing
//           Java's SnappyOutputStream writes (magic, version, then length-prefixed raw blocks).
//           A raw block states its inflated length up front; that is what is bounded.
//   lz4     `lz4-napi` (napi-rs, lz4_flex) for the data, after a walk of the frame that checks
//           what Kafka's Lz4BlockInputStream checks (version 1, independent blocks, no
//           dictionary, block sizes within the declared maximum, an end mark) plus no trailing
//           bytes; the bound is the sum of each block's largest possible output.
//   zstd    `@toondepauw/node-zstd` (napi-rs, libzstd), frame by frame, after a walk of the
//           frames (RFC 8878: header, block headers, checksum) that bounds each frame's output
//           and checks a declared content size against what the frame really holds.
//
// The native packages load on first use, so a platform without one of their prebuilt
// binaries loses that codec (CompressionError 'unavailable'), not the broker.
//
// Memory: gzip and snappy inflate into ordinary Node buffers, which the garbage collector
// reclaims as soon as a batch's records have been walked. lz4-napi and node-zstd return
// buffers their native code owns (napi external buffers), which Node frees only after the
// current synchronous task of the thread has ended, however often it collects meanwhile. A
// shard's append is one such task, so without a bound one append command of many bombs just
// under `inflatedBytesMax` would hold them all at once: once lz4 and zstd have inflated
// `libraryHeldBytesMax` in a task, further decodes are refused ('busy': the caller answers
// "retry"), so a task holds at most that plus one batch.

import { createRequire } from 'node:module';
import { crc32, gzipSync, inflateRawSync } from 'node:zlib';

export const CodecId = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export function codecName(codec: number): string {
  return CODEC_NAMES[codec] ?? `codec ${codec}`;
}

/**
 * Why a payload could not be decompressed: not valid for its codec, inflating past the
 * bound, the codec's library missing, or this thread's task having inflated its share.
 */
export type CompressionFailure = 'corrupt' | 'tooLarge' | 'unavailable' | 'busy';

export class CompressionError extends Error {
  override readonly name = 'CompressionError';
  constructor(
    readonly failure: CompressionFailure,
    message: string,
  ) {
    super(message);
  }
}

function corrupt(codec: string, message: string): CompressionError {
  return new CompressionError('corrupt', `${codec}: ${message}`);
}

function tooLarge(codec: string, bytes: number, inflatedBytesMax: number): CompressionError {
  return new CompressionError('tooLarge', `${codec}: the records would inflate to ${bytes} bytes, more than the ${inflatedBytesMax} a batch may hold`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- the native codec packages, loaded on first use ----

const requireCodec = createRequire(import.meta.url);

type SnappyModule = typeof import('snappy');
type Lz4Module = typeof import('lz4-napi');
type ZstdModule = typeof import('@toondepauw/node-zstd');

const loaded = new Map<string, unknown>();

function load<T>(packageName: string, codec: string): T {
  let module = loaded.get(packageName);
  if (module === undefined) {
    try {
      module = requireCodec(packageName) as T;
    } catch (error) {
      throw new CompressionError('unavailable', `${codec}: the codec package ${packageName} could not be loaded on this platform: ${describe(error)}`);
    }
    loaded.set(packageName, module);
  }
  return module as T;
}

const snappyCodec = (): SnappyModule => load<SnappyModule>('snappy', 'snappy');
const lz4Codec = (): Lz4Module => load<Lz4Module>('lz4-napi', 'lz4');
const zstdCodec = (): ZstdModule => load<ZstdModule>('@toondepauw/node-zstd', 'zstd');

let zstdDecoder: InstanceType<ZstdModule['Decoder']> | null = null;
/** zstd encoders by level, least recently used first; each holds its own compression context. */
const zstdEncoders = new Map<number, InstanceType<ZstdModule['Encoder']>>();
/** Encoders kept for distinct levels (a topic's compression.zstd.level is one of a few in practice). */
const ZSTD_ENCODERS_MAX = 4;

/** Kafka's default compression.zstd.level. */
const ZSTD_LEVEL = 3;

function zstdEncoder(level: number): InstanceType<ZstdModule['Encoder']> {
  let encoder = zstdEncoders.get(level);
  if (encoder === undefined) {
    encoder = new (zstdCodec().Encoder)(level);
    if (zstdEncoders.size >= ZSTD_ENCODERS_MAX) zstdEncoders.delete(zstdEncoders.keys().next().value!);
  } else {
    zstdEncoders.delete(level);
  }
  zstdEncoders.set(level, encoder);
  return encoder;
}

// ---- memory the codec libraries hold until the current task ends ----

let libraryHeldBytes = 0;
let releaseScheduled = false;

/**
 * Before an lz4 or zstd decode: refuses ('busy') once this task's share is used up. What a
 * task holds stays below libraryHeldBytesMax plus one batch's inflatedBytesMax.
 */
function checkLibraryShare(codec: string, libraryHeldBytesMax: number): void {
  if (libraryHeldBytes >= libraryHeldBytesMax) {
    throw new CompressionError('busy', `${codec}: this thread has inflated ${libraryHeldBytes} bytes of lz4/zstd in its current task, its share of ${libraryHeldBytesMax}; retry`);
  }
}

/** After an lz4 or zstd decode: counts its output until the task ends. */
function holdLibraryBytes(bytes: number): void {
  libraryHeldBytes += bytes;
  if (!releaseScheduled) {
    releaseScheduled = true;
    // Node frees napi external buffers from an immediate too, once the task has ended.
    setImmediate(() => {
      libraryHeldBytes = 0;
      releaseScheduled = false;
    });
  }
}

// ---- decompression ----

/**
 * The bytes a batch's payload inflates to. Throws CompressionError: 'corrupt' when the
 * payload is not valid for its codec, 'tooLarge' when it would inflate past
 * `inflatedBytesMax`, 'unavailable' when the codec's package cannot load, 'busy' when lz4
 * or zstd would hold more than `libraryHeldBytesMax` in this task (see the file header).
 */
export function decompress(codec: number, payload: Buffer, inflatedBytesMax: number, libraryHeldBytesMax = Infinity): Buffer {
  switch (codec) {
    case CodecId.none:
      return payload;
    case CodecId.gzip:
      return gunzip(payload, inflatedBytesMax);
    case CodecId.snappy:
      return unsnappy(payload, inflatedBytesMax);
    case CodecId.lz4:
      return unlz4(payload, inflatedBytesMax, libraryHeldBytesMax);
    case CodecId.zstd:
      return unzstd(payload, inflatedBytesMax, libraryHeldBytesMax);
    default:
      throw new CompressionError('unavailable', `unknown compression codec ${codec}`);
  }
}

// gzip (RFC 1952): a 10-byte header with optional fields, a raw deflate stream, an 8-byte trailer.
const GZIP_HEADER_BYTES = 10;
const GZIP_TRAILER_BYTES = 8;
const GZIP_FLAG_HCRC = 0x02;
const GZIP_FLAG_EXTRA = 0x04;
const GZIP_FLAG_NAME = 0x08;
const GZIP_FLAG_COMMENT = 0x10;
const GZIP_FLAGS_RESERVED = 0xe0;
const DEFLATE = 8;

function gzipHeaderEnd(payload: Buffer): number {
  if (payload.length < GZIP_HEADER_BYTES + GZIP_TRAILER_BYTES) {
    throw corrupt('gzip', `a payload of ${payload.length} bytes is shorter than an empty gzip member (18 bytes)`);
  }
  if (payload[0] !== 0x1f || payload[1] !== 0x8b) throw corrupt('gzip', 'the payload does not start with the gzip magic bytes 1f 8b');
  if (payload[2] !== DEFLATE) throw corrupt('gzip', `compression method ${payload[2]} is not deflate (8)`);
  const flags = payload[3]!;
  if ((flags & GZIP_FLAGS_RESERVED) !== 0) throw corrupt('gzip', `reserved header flags are set (${flags})`);
  let at = GZIP_HEADER_BYTES;
  if ((flags & GZIP_FLAG_EXTRA) !== 0) {
    if (at + 2 > payload.length) throw corrupt('gzip', 'the extra field is cut off');
    at += 2 + payload.readUInt16LE(at);
  }
  for (const flag of [GZIP_FLAG_NAME, GZIP_FLAG_COMMENT]) {
    if ((flags & flag) === 0) continue;
    const zero = payload.indexOf(0, at);
    if (zero < 0) throw corrupt('gzip', 'a name or comment field has no end');
    at = zero + 1;
  }
  if ((flags & GZIP_FLAG_HCRC) !== 0) at += 2;
  if (at > payload.length) throw corrupt('gzip', 'the header runs past the payload');
  return at;
}

function gunzip(payload: Buffer, inflatedBytesMax: number): Buffer {
  const deflateStart = gzipHeaderEnd(payload);
  let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    inflated = inflateRawSync(payload.subarray(deflateStart), { info: true, maxOutputLength: inflatedBytesMax }) as unknown as typeof inflated;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new CompressionError('tooLarge', `gzip: the records inflate to more than the ${inflatedBytesMax} bytes a batch may hold`);
    }
    throw corrupt('gzip', describe(error));
  }
  const output = inflated.buffer;
  const trailerAt = deflateStart + inflated.engine.bytesWritten;
  const after = payload.length - trailerAt;
  if (after < GZIP_TRAILER_BYTES) throw corrupt('gzip', 'the member trailer (CRC-32 and size) is cut off');
  if (after > GZIP_TRAILER_BYTES) {
    throw corrupt('gzip', `${after - GZIP_TRAILER_BYTES} bytes follow the gzip member (one member per batch; consumers differ on more)`);
  }
  if (payload.readUInt32LE(trailerAt) !== crc32(output)) throw corrupt('gzip', 'the CRC-32 in the trailer does not match the inflated data');
  if (payload.readUInt32LE(trailerAt + 4) !== output.length % 2 ** 32) throw corrupt('gzip', 'the size in the trailer does not match the inflated data');
  return output;
}

// snappy: raw blocks start with their inflated length as an unsigned varint (at most 32 bits).
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic, then int32 version and int32 minimum compatible version. */
const XERIAL_HEADER_BYTES = 16;
/** A snappy copy element of 3 bytes yields at most 64: no raw block inflates more than 64/3 times. */
const SNAPPY_EXPANSION_MAX = 64 / 3;

function snappyInflatedLength(block: Buffer): number {
  let length = 0;
  for (let index = 0; index < 5 && index < block.length; index++) {
    const byte = block[index]!;
    length += (byte & 0x7f) * 2 ** (7 * index);
    if (byte < 0x80) {
      if (length > 0xffffffff) break;
      const compressedBytes = block.length - index - 1;
      if (length > compressedBytes * SNAPPY_EXPANSION_MAX) {
        throw corrupt('snappy', `a block of ${compressedBytes} bytes claims to inflate to ${length}, more than snappy can encode in it`);
      }
      return length;
    }
  }
  throw corrupt('snappy', 'a block does not start with a valid length');
}

function uncompressSnappyBlock(block: Buffer): Buffer {
  try {
    // copyOutputData: a Node-owned copy, reclaimed by the collector at once (see the file header);
    // measured faster here too than the library-owned buffer it would otherwise return.
    return snappyCodec().uncompressSync(block, { asBuffer: true, copyOutputData: true }) as Buffer;
  } catch (error) {
    if (error instanceof CompressionError) throw error;
    throw corrupt('snappy', describe(error));
  }
}

function unsnappy(payload: Buffer, inflatedBytesMax: number): Buffer {
  if (payload.length < XERIAL_MAGIC.length || !payload.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    const length = snappyInflatedLength(payload);
    if (length > inflatedBytesMax) throw tooLarge('snappy', length, inflatedBytesMax);
    return uncompressSnappyBlock(payload);
  }
  if (payload.length < XERIAL_HEADER_BYTES) throw corrupt('snappy', 'the xerial header is cut off');
  const blocks: Buffer[] = [];
  let total = 0;
  for (let at = XERIAL_HEADER_BYTES; at < payload.length; ) {
    if (at + 4 > payload.length) throw corrupt('snappy', `a xerial block length is cut off at byte ${at}`);
    const size = payload.readInt32BE(at);
    if (size <= 0 || at + 4 + size > payload.length) throw corrupt('snappy', `a xerial block of ${size} bytes does not fit the payload at byte ${at}`);
    const block = payload.subarray(at + 4, at + 4 + size);
    total += snappyInflatedLength(block);
    if (total > inflatedBytesMax) throw tooLarge('snappy', total, inflatedBytesMax);
    blocks.push(block);
    at += 4 + size;
  }
  const inflated = blocks.map(uncompressSnappyBlock);
  return inflated.length === 1 ? inflated[0]! : Buffer.concat(inflated, total);
}

// lz4 frame format (lz4_Frame_format.md), as Kafka's Lz4BlockInputStream reads it.
const LZ4_MAGIC = 0x184d2204;
const LZ4_FLAG_VERSION_SHIFT = 6;
const LZ4_FLAG_INDEPENDENT = 0x20;
const LZ4_FLAG_BLOCK_CHECKSUM = 0x10;
const LZ4_FLAG_CONTENT_SIZE = 0x08;
const LZ4_FLAG_CONTENT_CHECKSUM = 0x04;
/** Bit 1 is reserved; bit 0 (dictionary id) is reserved for Kafka too. */
const LZ4_FLAGS_RESERVED = 0x03;
const LZ4_BD_RESERVED = 0x8f;
const LZ4_UNCOMPRESSED_BLOCK = 0x80000000;
/** An LZ4 sequence yields at most 255 bytes per byte of input (long match lengths): a safe per-block bound. */
const LZ4_EXPANSION_MAX = 256;

interface Lz4Frame {
  readonly contentSize: number | null;
  readonly inflatedBytesBound: number;
}

function walkLz4Frame(payload: Buffer): Lz4Frame {
  const need = (at: number, bytes: number, what: string): void => {
    if (at + bytes > payload.length) throw corrupt('lz4', `${what} is cut off at byte ${at}`);
  };
  need(0, 7, 'the frame header');
  if (payload.readUInt32LE(0) !== LZ4_MAGIC) throw corrupt('lz4', 'the payload does not start with the LZ4 frame magic number');
  const flags = payload[4]!;
  if (flags >> LZ4_FLAG_VERSION_SHIFT !== 1) throw corrupt('lz4', `frame version ${flags >> LZ4_FLAG_VERSION_SHIFT} is not 1`);
  if ((flags & LZ4_FLAGS_RESERVED) !== 0) throw corrupt('lz4', 'reserved or dictionary flag bits are set');
  if ((flags & LZ4_FLAG_INDEPENDENT) === 0) throw corrupt('lz4', 'dependent (linked) blocks are not supported by Kafka');
  const descriptor = payload[5]!;
  const sizeId = (descriptor >> 4) & 0x07;
  if ((descriptor & LZ4_BD_RESERVED) !== 0 || sizeId < 4) throw corrupt('lz4', `block descriptor ${descriptor} is not valid`);
  const blockBytesMax = 2 ** (8 + 2 * sizeId); // 4: 64 KiB … 7: 4 MiB
  let at = 6;
  let contentSize: number | null = null;
  if ((flags & LZ4_FLAG_CONTENT_SIZE) !== 0) {
    need(at, 8, 'the content size');
    contentSize = Number(payload.readBigUInt64LE(at));
    at += 8;
  }
  need(at, 1, 'the header checksum');
  at += 1;
  const blockChecksumBytes = (flags & LZ4_FLAG_BLOCK_CHECKSUM) !== 0 ? 4 : 0;
  let bound = 0;
  for (;;) {
    need(at, 4, 'a block size');
    const word = payload.readUInt32LE(at);
    at += 4;
    if (word === 0) break; // the end mark
    const size = (word & ~LZ4_UNCOMPRESSED_BLOCK) >>> 0;
    if (size > blockBytesMax) throw corrupt('lz4', `a block of ${size} bytes exceeds the frame's ${blockBytesMax}-byte maximum`);
    need(at, size + blockChecksumBytes, 'a block');
    bound += (word & LZ4_UNCOMPRESSED_BLOCK) !== 0 ? size : Math.min(blockBytesMax, size * LZ4_EXPANSION_MAX);
    at += size + blockChecksumBytes;
  }
  if ((flags & LZ4_FLAG_CONTENT_CHECKSUM) !== 0) {
    need(at, 4, 'the content checksum');
    at += 4;
  }
  if (at !== payload.length) throw corrupt('lz4', `${payload.length - at} bytes follow the frame's end mark`);
  return { contentSize, inflatedBytesBound: bound };
}

function unlz4(payload: Buffer, inflatedBytesMax: number, libraryHeldBytesMax: number): Buffer {
  const frame = walkLz4Frame(payload);
  if (frame.contentSize !== null && frame.contentSize > inflatedBytesMax) throw tooLarge('lz4', frame.contentSize, inflatedBytesMax);
  if (frame.inflatedBytesBound > inflatedBytesMax) throw tooLarge('lz4', frame.inflatedBytesBound, inflatedBytesMax);
  checkLibraryShare('lz4', libraryHeldBytesMax);
  let output: Buffer;
  try {
    output = lz4Codec().decompressFrameSync(payload);
  } catch (error) {
    if (error instanceof CompressionError) throw error;
    throw corrupt('lz4', describe(error));
  }
  holdLibraryBytes(output.length);
  if (frame.contentSize !== null && output.length !== frame.contentSize) {
    throw corrupt('lz4', `the frame declares ${frame.contentSize} bytes of content but holds ${output.length}`);
  }
  return output;
}

// zstd frames (RFC 8878), possibly several, possibly skippable ones between them.
const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_SKIPPABLE_MASK = 0xfffffff0;
const ZSTD_SKIPPABLE_MAGIC = 0x184d2a50;
const ZSTD_BLOCK_BYTES_MAX = 128 * 1024;
const ZSTD_BLOCK_RAW = 0;
const ZSTD_BLOCK_RLE = 1;
const ZSTD_BLOCK_COMPRESSED = 2;

interface ZstdFrame {
  readonly start: number;
  readonly end: number;
  readonly contentSize: number | null;
  readonly inflatedBytesBound: number;
}

function walkZstdFrames(payload: Buffer): ZstdFrame[] {
  const need = (at: number, bytes: number, what: string): void => {
    if (at + bytes > payload.length) throw corrupt('zstd', `${what} is cut off at byte ${at}`);
  };
  if (payload.length === 0) throw corrupt('zstd', 'the payload is empty');
  const frames: ZstdFrame[] = [];
  let at = 0;
  while (at < payload.length) {
    const start = at;
    need(at, 4, 'a frame magic number');
    const magic = payload.readUInt32LE(at);
    if ((magic & ZSTD_SKIPPABLE_MASK) >>> 0 === ZSTD_SKIPPABLE_MAGIC) {
      need(at, 8, 'a skippable frame header');
      const size = payload.readUInt32LE(at + 4);
      need(at + 8, size, 'a skippable frame');
      at += 8 + size;
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw corrupt('zstd', `no zstd frame magic number at byte ${at}`);
    need(at, 5, 'a frame header');
    const descriptor = payload[at + 4]!;
    at += 5;
    const contentSizeFlag = descriptor >> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    if ((descriptor & 0x08) !== 0) throw corrupt('zstd', 'a reserved frame header bit is set');
    let windowBytes = Infinity;
    if (!singleSegment) {
      need(at, 1, 'a window descriptor');
      const window = payload[at]!;
      const base = 2 ** (10 + (window >> 3));
      windowBytes = base + (base / 8) * (window & 0x07);
      at += 1;
    }
    const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 0x03]!;
    need(at, dictionaryIdBytes, 'a dictionary id');
    if (dictionaryIdBytes > 0 && payload.readUIntLE(at, dictionaryIdBytes) !== 0) throw corrupt('zstd', 'frames that need a dictionary are not used by Kafka');
    at += dictionaryIdBytes;
    const contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][contentSizeFlag]!;
    need(at, contentSizeBytes, 'a content size');
    let contentSize: number | null = null;
    if (contentSizeBytes === 8) contentSize = Number(payload.readBigUInt64LE(at));
    else if (contentSizeBytes > 0) contentSize = payload.readUIntLE(at, contentSizeBytes) + (contentSizeBytes === 2 ? 256 : 0);
    at += contentSizeBytes;
    if (singleSegment) windowBytes = contentSize!;
    const blockBytesMax = Math.min(windowBytes, ZSTD_BLOCK_BYTES_MAX);
    let bound = 0;
    for (;;) {
      need(at, 3, 'a block header');
      const header = payload.readUIntLE(at, 3);
      at += 3;
      const type = (header >> 1) & 0x03;
      const size = header >> 3;
      if (size > ZSTD_BLOCK_BYTES_MAX) throw corrupt('zstd', `a block of ${size} bytes exceeds the 128 KiB block maximum`);
      if (type === ZSTD_BLOCK_RAW) {
        need(at, size, 'a raw block');
        bound += size;
        at += size;
      } else if (type === ZSTD_BLOCK_RLE) {
        need(at, 1, 'an RLE block');
        bound += size;
        at += 1;
      } else if (type === ZSTD_BLOCK_COMPRESSED) {
        need(at, size, 'a compressed block');
        bound += blockBytesMax;
        at += size;
      } else {
        throw corrupt('zstd', `a block of the reserved type 3 at byte ${at - 3}`);
      }
      if ((header & 1) !== 0) break; // the last block
    }
    if ((descriptor & 0x04) !== 0) {
      need(at, 4, 'a content checksum');
      at += 4;
    }
    frames.push({ start, end: at, contentSize, inflatedBytesBound: contentSize === null ? bound : Math.min(bound, contentSize) });
  }
  return frames;
}

function unzstd(payload: Buffer, inflatedBytesMax: number, libraryHeldBytesMax: number): Buffer {
  const frames = walkZstdFrames(payload);
  let bound = 0;
  for (const frame of frames) {
    if (frame.contentSize !== null && frame.contentSize > inflatedBytesMax) throw tooLarge('zstd', frame.contentSize, inflatedBytesMax);
    bound += frame.inflatedBytesBound;
  }
  if (bound > inflatedBytesMax) throw tooLarge('zstd', bound, inflatedBytesMax);
  checkLibraryShare('zstd', libraryHeldBytesMax);
  const outputs: Buffer[] = [];
  for (const frame of frames) {
    let output: Buffer;
    try {
      zstdDecoder ??= new (zstdCodec().Decoder)();
      output = zstdDecoder.decodeSync(payload.subarray(frame.start, frame.end));
    } catch (error) {
      if (error instanceof CompressionError) throw error;
      throw corrupt('zstd', describe(error));
    }
    holdLibraryBytes(output.length);
    if (frame.contentSize !== null && output.length !== frame.contentSize) {
      throw corrupt('zstd', `a frame declares ${frame.contentSize} bytes of content but holds ${output.length}`);
    }
    outputs.push(output);
  }
  return outputs.length === 1 ? outputs[0]! : Buffer.concat(outputs);
}

// ---- compression ----

export interface CompressOptions {
  /** snappy only: raw (librdkafka) or xerial-framed (Java). Default raw. */
  readonly snappyFraming?: 'raw' | 'xerial';
}

/** Java's SnappyOutputStream block size. */
const XERIAL_BLOCK_BYTES = 32 * 1024;
const XERIAL_VERSION = 1;

function xerialSnappy(data: Buffer, copyOutputData: boolean): Buffer {
  const snappy = snappyCodec();
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_VERSION, 12);
  const parts: Buffer[] = [header];
  for (let at = 0; at < data.length; at += XERIAL_BLOCK_BYTES) {
    const block = snappy.compressSync(data.subarray(at, at + XERIAL_BLOCK_BYTES), { copyOutputData });
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

/** Compresses records for tests, tools and benchmarks (each codec at Kafka's default level). */
export function compress(codec: number, data: Buffer, options: CompressOptions = {}): Buffer {
  switch (codec) {
    case CodecId.none:
      return data;
    case CodecId.gzip:
      return gzipSync(data);
    case CodecId.snappy:
      return options.snappyFraming === 'xerial' ? xerialSnappy(data, false) : snappyCodec().compressSync(data);
    case CodecId.lz4:
      return lz4Codec().compressFrameSync(data);
    case CodecId.zstd:
      return zstdEncoder(ZSTD_LEVEL).encodeSync(data);
    default:
      throw new CompressionError('unavailable', `unknown compression codec ${codec}`);
  }
}

/** Kafka's compression.gzip.level, compression.lz4.level and compression.zstd.level (KIP-390). */
export interface CompressionLevels {
  readonly gzip: number;
  readonly lz4: number;
  readonly zstd: number;
}

/**
 * Records compressed as the Java broker writes a batch it rebuilds (LogValidator's
 * recompression, the cleaner's rewrite): one gzip member at `levels.gzip` (-1: zlib's
 * default, as Java's Deflater), xerial-framed snappy in 32 KiB blocks (Java's
 * SnappyOutputStream, which every client reads), an LZ4 frame of independent blocks, zstd at
 * `levels.zstd`. lz4-napi has no high-compression mode: every lz4 level compresses as Kafka's
 * default level 9 does (its fast compressor). lz4 and zstd outputs are library-owned like
 * their decodes, so they count toward `libraryHeldBytesMax` (CompressionError 'busy' once
 * this task's share is used).
 */
export function compressForBroker(codec: number, data: Buffer, levels: CompressionLevels, libraryHeldBytesMax = Infinity): Buffer {
  try {
    switch (codec) {
      case CodecId.none:
        return data;
      case CodecId.gzip:
        return gzipSync(data, { level: levels.gzip });
      case CodecId.snappy:
        return xerialSnappy(data, true);
      case CodecId.lz4: {
        checkLibraryShare('lz4', libraryHeldBytesMax);
        const output = lz4Codec().compressFrameSync(data);
        holdLibraryBytes(output.length);
        return output;
      }
      case CodecId.zstd: {
        checkLibraryShare('zstd', libraryHeldBytesMax);
        const output = zstdEncoder(levels.zstd).encodeSync(data);
        holdLibraryBytes(output.length);
        return output;
      }
      default:
        throw new CompressionError('unavailable', `unknown compression codec ${codec}`);
    }
  } catch (error) {
    if (error instanceof CompressionError) throw error;
    // A codec failing on valid input is a fault of the library or the platform, not of the records.
    throw new CompressionError('unavailable', `${codecName(codec)}: compressing failed: ${describe(error)}`);
  }
}
