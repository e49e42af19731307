// Size-prefixed framing: frames split anywhere across chunks come out whole and in
// order; large produce frames land in pooled shared memory that is reused once
// released; a bad size stops reading as soon as its four bytes are in; a frame the handler
// does not admit stops reading right there, even inside one chunk, until resumed; reads
// straight into a frame's memory and through a reused buffer (direct reads) keep every frame intact.

import t from 'tap';
import { SharedFramePool } from '../../src/network/frame-pool.js';
import { FrameReader, type FrameHandler } from '../../src/network/frame-reader.js';

function frameOf(apiKey: number, bodyLength: number, fill: number): Buffer {
  const frame = Buffer.alloc(4 + bodyLength, fill);
  frame.writeInt32BE(bodyLength, 0);
  frame.writeInt16BE(apiKey, 4);
  return frame;
}

interface Collector extends FrameHandler {
  frames: { bytes: Buffer; shared: boolean; release: (() => void) | null }[];
  invalid: number[];
  /** Frames the handler will still admit (Infinity: all). */
  admits: number;
  /** Sizes asked about, in order. */
  asked: number[];
}

function collector(admits = Infinity): Collector {
  const frames: { bytes: Buffer; shared: boolean; release: (() => void) | null }[] = [];
  const invalid: number[] = [];
  const handler: Collector = {
    frames,
    invalid,
    admits,
    asked: [],
    admit: (size) => {
      handler.asked.push(size);
      if (handler.admits <= 0) return false;
      handler.admits--;
      return true;
    },
    frame: (frame, release) => {
      frames.push({ bytes: Buffer.from(frame), shared: frame.buffer instanceof SharedArrayBuffer, release });
      return true;
    },
    invalidSize: (size) => {
      invalid.push(size);
    },
  };
  return handler;
}

t.test('frames split at every possible point come out whole and in order', async (t) => {
  const stream = Buffer.concat([frameOf(3, 10, 1), frameOf(18, 2, 2), frameOf(1, 40, 3)]);
  for (let cut1 = 0; cut1 <= stream.length; cut1++) {
    for (const cut2 of [cut1, Math.min(stream.length, cut1 + 3), stream.length]) {
      const reader = new FrameReader(1 << 20, new SharedFramePool());
      const handler = collector();
      for (const piece of [stream.subarray(0, cut1), stream.subarray(cut1, cut2), stream.subarray(cut2)]) {
        if (piece.length > 0) t.equal(reader.push(piece, handler), 'reading');
      }
      if (handler.frames.length !== 3) {
        t.fail(`cuts ${cut1}/${cut2}: ${handler.frames.length} frames`);
        return;
      }
      t.same(handler.frames.map((f) => f.bytes.length), [10, 2, 40]);
      t.equal(reader.buffered, 0);
    }
  }
});

t.test('a large produce frame arriving in pieces is assembled in pooled shared memory', async (t) => {
  const pool = new SharedFramePool();
  const reader = new FrameReader(1 << 24, pool);
  const handler = collector();
  const produce = frameOf(0, 100_000, 7);
  for (let at = 0; at < produce.length; at += 16_384) reader.push(produce.subarray(at, at + 16_384), handler);
  t.equal(handler.frames.length, 1);
  t.equal(handler.frames[0]!.shared, true);
  t.ok(handler.frames[0]!.bytes.equals(produce.subarray(4)));
  t.equal(pool.idleBytes, 0, 'held until released');
  handler.frames[0]!.release!();
  t.ok(pool.idleBytes > 0, 'back in the pool after release');
  const fetch = frameOf(1, 100_000, 8);
  for (let at = 0; at < fetch.length; at += 16_384) reader.push(fetch.subarray(at, at + 16_384), handler);
  t.equal(handler.frames[1]!.shared, false, 'other APIs get ordinary memory');
  t.equal(handler.frames[1]!.release, null);
});

t.test('a size outside the limit stops reading after four bytes', async (t) => {
  for (const size of [-1, 1025, 0x7fffffff]) {
    const reader = new FrameReader(1024, new SharedFramePool());
    const handler = collector();
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(size);
    t.equal(reader.push(prefix.subarray(0, 2), handler), 'reading');
    t.equal(reader.push(prefix.subarray(2), handler), 'stopped');
    t.same(handler.invalid, [size]);
  }
});

t.test('a frame too short for a header is handed on and reading stops', async (t) => {
  const reader = new FrameReader(1024, new SharedFramePool());
  const handler = collector();
  t.equal(reader.push(Buffer.from([0, 0, 0, 1]), handler), 'reading', 'waits for the one byte');
  t.equal(reader.push(Buffer.from([9, 0, 0, 0, 5]), handler), 'stopped');
  t.same(handler.frames.map((frame) => [...frame.bytes]), [[9]]);
});

t.test('one chunk of 3,000 requests: reading stops at the first frame not admitted, and resumes where it stopped', async (t) => {
  const stream = Buffer.concat(Array.from({ length: 3000 }, (_unused, index) => frameOf(3, 20, index % 256)));
  const reader = new FrameReader(1 << 20, new SharedFramePool());
  const handler = collector(64);
  t.equal(reader.push(stream, handler), 'held');
  t.equal(handler.frames.length, 64, 'only the admitted frames are handed on');
  t.equal(reader.buffered, stream.length - 64 * 24, 'the rest is held, not read');
  t.equal(reader.push(frameOf(3, 20, 0), handler), 'held', 'more input joins what is held');
  t.equal(handler.frames.length, 64);
  handler.admits = 100;
  t.equal(reader.resume(handler), 'held');
  t.equal(handler.frames.length, 164);
  handler.admits = Infinity;
  t.equal(reader.resume(handler), 'reading');
  t.equal(handler.frames.length, 3001);
  t.same(
    handler.frames.slice(0, 3000).map((frame) => frame.bytes[2]),
    Array.from({ length: 3000 }, (_unused, index) => index % 256),
    'in order, none lost or repeated',
  );
  t.equal(reader.buffered, 0);
});

t.test('a frame refused after its prefix arrived in pieces starts again whole when admitted', async (t) => {
  const stream = Buffer.concat([frameOf(3, 10, 1), frameOf(1, 40, 2)]);
  for (let cut = 1; cut < stream.length; cut++) {
    const reader = new FrameReader(1 << 20, new SharedFramePool());
    const handler = collector(1);
    reader.push(stream.subarray(0, cut), handler);
    reader.push(stream.subarray(cut), handler);
    handler.admits = Infinity;
    reader.resume(handler);
    if (handler.frames.length !== 2 || !handler.frames[1]!.bytes.equals(stream.subarray(18))) {
      t.fail(`cut at ${cut}: ${handler.frames.length} frames`);
      return;
    }
    t.same(handler.asked.filter((size) => size === 40).length >= 1, true);
    t.equal(reader.buffered, 0);
  }
});

t.test('direct reads: frames read through one reused buffer and straight into frame memory come out whole and stay intact', async (t) => {
  // A socket whose reads land where FrameReader says (network/direct-read.ts): the rest of a frame
  // being assembled, else one scratch buffer that every other read reuses.
  const frames = [frameOf(18, 3, 1), frameOf(0, 300_000, 2), frameOf(3, 20, 3), frameOf(0, 20_000, 4), frameOf(1, 70_000, 5), frameOf(12, 8, 6)];
  const stream = Buffer.concat(frames);
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let round = 0; round < 20; round++) {
    const reader = new FrameReader(1 << 20, new SharedFramePool());
    const kept: Buffer[] = [];
    const handler: FrameHandler = {
      admit: () => true,
      frame: (frame) => {
        kept.push(frame); // the view itself: a frame handed on must not share memory a later read overwrites
        return true;
      },
      invalidSize: () => t.fail('no invalid size'),
    };
    const scratch = Buffer.alloc(1000);
    let at = 0;
    let direct = 0;
    while (at < stream.length) {
      const target = reader.readTarget() ?? scratch;
      const count = Math.min(target.length, stream.length - at, 1 + Math.floor(random() * 5000));
      stream.copy(target, 0, at, at + count);
      at += count;
      if (target === scratch) {
        t.equal(reader.push(scratch.subarray(0, count), handler, true), 'reading');
        scratch.fill(0xee); // what the next read into the scratch buffer would do to anything still pointing at it
      } else {
        direct += count;
        t.equal(reader.filled(count, handler), 'reading');
      }
    }
    t.equal(kept.length, frames.length, `round ${round}: every frame`);
    t.ok(kept.every((frame, index) => frame.equals(frames[index]!.subarray(4))), `round ${round}: byte for byte, after the scratch buffer was overwritten`);
    t.ok(direct > 300_000, `round ${round}: most bytes of the large frames were read straight into them (${direct})`);
  }
});

t.test('direct reads: a read offered no frame room is a broker bug, reported as an error', async (t) => {
  const reader = new FrameReader(1 << 20, new SharedFramePool());
  t.equal(reader.readTarget(), null, 'no frame being assembled: no target');
  t.throws(() => reader.filled(10, collector()), /has no frame room/);
});
