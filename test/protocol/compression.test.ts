// The codecs (src/protocol/compression.ts): each round-trips, each refuses payloads whose
// structure is wrong in the ways Kafka's readers refuse (and a few where consumers would
// disagree), and none inflates past its bound.

import t from 'tap';
import { deflateRawSync, crc32 } from 'node:zlib';
import { CodecId, CompressionError, compress, decompress } from '../../src/protocol/compression.js';

const MAX = 1 << 20;
const data = Buffer.from(Array.from({ length: 3000 }, (_, index) => `line ${index} ${'x'.repeat(index % 50)}\n`).join(''));

function failure(codec: number, payload: Buffer, max = MAX): string {
  try {
    decompress(codec, payload, max);
  } catch (error) {
    if (error instanceof CompressionError) return `${error.failure}: ${error.message}`;
    throw error;
  }
  return 'accepted';
}

t.test('every codec round-trips', async (t) => {
  for (const codec of [CodecId.none, CodecId.gzip, CodecId.snappy, CodecId.lz4, CodecId.zstd]) {
    t.ok(decompress(codec, compress(codec, data), MAX).equals(data), `codec ${codec}`);
  }
  const xerial = compress(CodecId.snappy, data, { snappyFraming: 'xerial' });
  t.same([...xerial.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00], 'xerial framing starts with its magic');
  t.ok(decompress(CodecId.snappy, xerial, MAX).equals(data), 'xerial-framed snappy, several blocks');
  t.match(failure(CodecId.none + 7, data), /^unavailable: unknown compression codec 7/);
});

t.test('gzip: one member with optional header fields; nothing else', async (t) => {
  const deflated = deflateRawSync(data);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length, 4);
  // FEXTRA, FNAME and FCOMMENT set, as other gzip writers may do.
  const header = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0x1c, 0, 0, 0, 0, 0, 3]), Buffer.from([2, 0, 0xaa, 0xbb]), Buffer.from('name\0comment\0')]);
  t.ok(decompress(CodecId.gzip, Buffer.concat([header, deflated, trailer]), MAX).equals(data), 'optional header fields are skipped');
  const badCrc = Buffer.from(trailer);
  badCrc[0] ^= 1;
  t.match(failure(CodecId.gzip, Buffer.concat([header, deflated, badCrc])), /^corrupt: gzip: the CRC-32/);
  const badSize = Buffer.from(trailer);
  badSize[4] ^= 1;
  t.match(failure(CodecId.gzip, Buffer.concat([header, deflated, badSize])), /^corrupt: gzip: the size/);
  const reserved = Buffer.from(header);
  reserved[3] = 0x80;
  t.match(failure(CodecId.gzip, Buffer.concat([reserved, deflated, trailer])), /reserved header flags/);
  t.match(failure(CodecId.gzip, Buffer.concat([Buffer.from([0x1f, 0x8b, 7]), deflated, trailer])), /not deflate/);
  t.match(failure(CodecId.gzip, compress(CodecId.gzip, Buffer.alloc(2 * MAX)), MAX), /^tooLarge: gzip/);
});

t.test('snappy: lengths are checked before anything inflates', async (t) => {
  const xerial = compress(CodecId.snappy, data, { snappyFraming: 'xerial' });
  t.match(failure(CodecId.snappy, xerial.subarray(0, 12)), /xerial header is cut off/);
  const lying = Buffer.from(xerial);
  lying.writeInt32BE(1 << 30, 16);
  t.match(failure(CodecId.snappy, lying), /xerial block of 1073741824 bytes does not fit/);
  t.match(failure(CodecId.snappy, Buffer.concat([xerial, Buffer.from([0, 0])])), /block length is cut off/);
  t.match(failure(CodecId.snappy, compress(CodecId.snappy, Buffer.alloc(2 * MAX)), MAX), /^tooLarge: snappy/);
  t.match(failure(CodecId.snappy, compress(CodecId.snappy, Buffer.alloc(2 * MAX), { snappyFraming: 'xerial' }), MAX), /^tooLarge: snappy/);
  t.match(failure(CodecId.snappy, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), /does not start with a valid length/);
});

t.test("lz4: what Kafka's Lz4BlockInputStream requires, plus checksums and an exact end", async (t) => {
  const frame = compress(CodecId.lz4, data);
  t.equal(frame[4], 0x60, 'version 1, independent blocks (as Kafka writes them)');
  const blockBytesMax = 2 ** (8 + 2 * ((frame[5]! >> 4) & 7));
  const withFlags = (flags: number, descriptor = frame[5]!): Buffer => {
    const changed = Buffer.from(frame);
    changed[4] = flags;
    changed[5] = descriptor;
    return changed;
  };
  t.match(failure(CodecId.lz4, withFlags(0xa0)), /frame version 2 is not 1/);
  t.match(failure(CodecId.lz4, withFlags(0x40)), /dependent \(linked\) blocks/);
  t.match(failure(CodecId.lz4, withFlags(0x61)), /reserved or dictionary/);
  t.match(failure(CodecId.lz4, withFlags(0x60, 0x30)), /block descriptor 48/);
  t.match(failure(CodecId.lz4, withFlags(0x60, frame[5] === 0x70 ? 0x60 : 0x70), 8 * MAX), /^corrupt: lz4: HeaderChecksum/i, 'the header checksum covers the descriptor');
  const lib = (await import('lz4-napi')) as typeof import('lz4-napi');
  const checked = lib.compressFrameSync(data, { blockChecksums: true, contentChecksum: true });
  t.ok(decompress(CodecId.lz4, checked, MAX).equals(data), 'block and content checksums are accepted');
  const badContent = Buffer.from(checked);
  badContent[badContent.length - 1] ^= 1;
  t.match(failure(CodecId.lz4, badContent), /^corrupt: lz4: ContentChecksum/i);
  t.match(failure(CodecId.lz4, frame.subarray(0, frame.length - 4)), /block size is cut off/);
  t.match(failure(CodecId.lz4, Buffer.concat([frame, frame])), /bytes follow the frame's end mark/);
  const oversize = Buffer.from(frame);
  oversize.writeUInt32LE(blockBytesMax + 1, 7);
  t.match(failure(CodecId.lz4, oversize), new RegExp(`exceeds the frame's ${blockBytesMax}-byte maximum`));
  t.match(failure(CodecId.lz4, compress(CodecId.lz4, Buffer.alloc(2 * MAX)), MAX), /^tooLarge: lz4/);
});

t.test('zstd: frames walked, content sizes held to what the frames hold', async (t) => {
  const frame = compress(CodecId.zstd, data);
  t.ok(decompress(CodecId.zstd, Buffer.concat([frame, frame]), MAX).equals(Buffer.concat([data, data])), 'two frames');
  const raw = (bytes: Buffer, contentSize: number): Buffer => {
    const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, contentSize]); // single segment, 1-byte content size
    const block = Buffer.alloc(3);
    block.writeUIntLE((bytes.length << 3) | 1, 0, 3); // raw, last
    return Buffer.concat([header, block, bytes]);
  };
  t.equal(decompress(CodecId.zstd, raw(Buffer.from('abc'), 3), MAX).toString(), 'abc', 'a hand-made raw-block frame');
  t.match(failure(CodecId.zstd, raw(Buffer.from('abc'), 5)), /^corrupt: zstd/, 'a content size larger than the frame holds');
  t.match(failure(CodecId.zstd, raw(Buffer.from('abc'), 2)), /^corrupt: zstd/, 'a content size smaller than the frame holds');
  const dictionary = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x21, 0x07, 0x03, 0x19, 0x00, 0x00, 0x61, 0x62, 0x63]);
  t.match(failure(CodecId.zstd, dictionary), /need a dictionary/);
  const reservedBlock = raw(Buffer.from('abc'), 3);
  reservedBlock.writeUIntLE((3 << 3) | (3 << 1) | 1, 6, 3);
  t.match(failure(CodecId.zstd, reservedBlock), /reserved type 3/);
  t.match(failure(CodecId.zstd, Buffer.alloc(0)), /payload is empty/);
  t.match(failure(CodecId.zstd, compress(CodecId.zstd, Buffer.alloc(2 * MAX)), MAX), /^tooLarge: zstd/);
});
