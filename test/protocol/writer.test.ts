// The Writer's 64-bit encoders. int64 values are JavaScript numbers, so Kafka's
// Long.MAX_VALUE (2^63-1) arrives from the Reader as 2^63, one past the int64 range:
// int64 and varlong saturate at the int64 range instead of throwing (or, for varlong,
// writing a value Kafka reads back as something else), and are exact everywhere else.

import t from 'tap';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

const INT64_MAX_BYTES = '7fffffffffffffff';
const INT64_MIN_BYTES = '8000000000000000';

function int64Hex(value: number): string {
  const w = new Writer();
  w.int64(value);
  return Buffer.from(w.toBuffer()).toString('hex');
}

function varlongHex(value: number): string {
  const w = new Writer();
  w.varlong(value);
  return Buffer.from(w.toBuffer()).toString('hex');
}

/** Kafka's zig-zag varlong of a bigint, computed independently of the Writer (ByteUtils.writeVarlong). */
function referenceVarlongHex(value: bigint): string {
  let rest = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const bytes: number[] = [];
  while (rest >= 0x80n) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return Buffer.from(bytes).toString('hex');
}

t.test('int64: the int64 range is written exactly, beyond it saturates', async (t) => {
  t.equal(int64Hex(0), '0000000000000000');
  t.equal(int64Hex(-1), 'ffffffffffffffff');
  t.equal(int64Hex(2 ** 32), '0000000100000000');
  t.equal(int64Hex(Number.MAX_SAFE_INTEGER), '001fffffffffffff');
  t.equal(int64Hex(Number.MIN_SAFE_INTEGER), 'ffe0000000000001');
  t.equal(int64Hex(2 ** 62), '4000000000000000');
  t.equal(int64Hex(2 ** 63 - 2 ** 10), '7ffffffffffffc00', 'the largest double below 2^63');
  t.equal(int64Hex(2 ** 63), INT64_MAX_BYTES, '2^63 (what 2^63-1 becomes as a number) is Long.MAX_VALUE');
  t.equal(int64Hex(2 ** 64), INT64_MAX_BYTES);
  t.equal(int64Hex(Infinity), INT64_MAX_BYTES);
  t.equal(int64Hex(-(2 ** 63)), INT64_MIN_BYTES, '-2^63 is Long.MIN_VALUE');
  t.equal(int64Hex(-(2 ** 64)), INT64_MIN_BYTES);
  t.equal(int64Hex(-Infinity), INT64_MIN_BYTES);
  t.throws(() => int64Hex(NaN), RangeError, 'NaN is a caller bug, not a value');
});

t.test('int64: what the Reader gives back for every edge of the range writes the same bytes', async (t) => {
  for (const hex of [INT64_MAX_BYTES, INT64_MIN_BYTES, '0000000000000000', 'ffffffffffffffff', '7fffffff00000000', '00000000ffffffff']) {
    const read = new Reader(Buffer.from(hex, 'hex')).int64();
    const expected = hex === INT64_MAX_BYTES ? INT64_MAX_BYTES : hex;
    t.equal(int64Hex(read), expected, `${hex} → ${read} → ${expected}`);
  }
});

t.test('varlong: exact within the int64 range, saturating beyond, as Kafka encodes it', async (t) => {
  const values: [number, bigint][] = [
    [0, 0n],
    [1, 1n],
    [-1, -1n],
    [63, 63n],
    [-64, -64n],
    [2 ** 31, 2n ** 31n],
    [-(2 ** 31), -(2n ** 31n)],
    [Number.MAX_SAFE_INTEGER, 2n ** 53n - 1n],
    [Number.MIN_SAFE_INTEGER, -(2n ** 53n) + 1n],
    [2 ** 53, 2n ** 53n],
    [-(2 ** 53), -(2n ** 53n)],
    [-(2 ** 60) - 2 ** 10, -(2n ** 60n) - 2n ** 10n],
    [2 ** 62, 2n ** 62n],
    [2 ** 63, 2n ** 63n - 1n],
    [Infinity, 2n ** 63n - 1n],
    [-(2 ** 63), -(2n ** 63n)],
    [-(2 ** 70), -(2n ** 63n)],
    [-Infinity, -(2n ** 63n)],
  ];
  for (const [value, expected] of values) {
    t.equal(varlongHex(value), referenceVarlongHex(expected), `${value} is written as ${expected}`);
  }
  t.equal(varlongHex(2 ** 63), 'feffffffffffffffff01', 'Long.MAX_VALUE takes ten bytes, the last one 0x01');
  t.throws(() => varlongHex(NaN), RangeError);
});

t.test('varlong: the Reader reads back what it can hold exactly (zig-zag form up to 2^53)', async (t) => {
  for (const value of [0, 5, -5, 1234567890123, -1234567890123, 2 ** 52 - 1, -(2 ** 52) + 1]) {
    const w = new Writer();
    w.varlong(value);
    t.equal(new Reader(Buffer.from(w.toBuffer())).varlong(), value);
  }
});

t.test('varlong: many values in a row stay inside the buffer (each takes at most ten bytes)', async (t) => {
  const w = new Writer(16);
  for (let index = 0; index < 100; index++) w.varlong(index % 2 === 0 ? 2 ** 63 : -(2 ** 63));
  t.equal(w.byteLength, 1000);
  const r = new Reader(Buffer.from(w.toBuffer()));
  for (let index = 0; index < 100; index++) r.varlong();
  t.equal(r.remaining, 0);
});
