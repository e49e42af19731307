// Every CRC-32C implementation agrees: the addon's default path (the CPU's instruction where
// there is one), its portable slicing-by-16 table, the JavaScript table, and what loadCrc32c
// installs — on the RFC 3720 test vectors, on random inputs of random lengths, offsets and
// continuations, and at every length around the slicing and the hand-over thresholds.

import { randomBytes } from 'node:crypto';
import t from 'tap';
import { loadCrc32c } from '../../src/native/crc32c.js';
import { loadNativeAddon } from '../../src/native/sendfile.js';
import { crc32cTable, type Crc32c } from '../../src/protocol/crc32c.js';

/** RFC 3720 appendix B.4 (iSCSI CRC-32C examples), plus the usual "123456789" check value. */
const RFC3720_VECTORS: readonly { readonly name: string; readonly bytes: Buffer; readonly crc: number }[] = [
  { name: '32 bytes of zeros', bytes: Buffer.alloc(32, 0), crc: 0x8a9136aa },
  { name: '32 bytes of 0xff', bytes: Buffer.alloc(32, 0xff), crc: 0x62a8ab43 },
  { name: '32 incrementing bytes 00..1f', bytes: Buffer.from(Array.from({ length: 32 }, (_, index) => index)), crc: 0x46dd794e },
  { name: '32 decrementing bytes 1f..00', bytes: Buffer.from(Array.from({ length: 32 }, (_, index) => 31 - index)), crc: 0x113fdb5c },
  {
    name: 'an iSCSI SCSI Read (10) command PDU',
    bytes: Buffer.from(
      ['01c00000', '00000000', '00000000', '00000000', '14000000', '00000400', '00000014', '00000018', '28000000', '00000000', '02000000', '00000000'].join(''),
      'hex',
    ),
    crc: 0xd9963a56,
  },
  { name: 'check value "123456789"', bytes: Buffer.from('123456789'), crc: 0xe3069283 },
];

/** A small deterministic generator (mulberry32), so that a failure names a seed that reproduces it. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function implementations(): { readonly name: string; readonly crc32c: Crc32c }[] {
  const addon = loadNativeAddon();
  return [
    { name: `addon crc32c (${addon.crc32cImplementation?.() ?? 'unknown'})`, crc32c: (data, start, end, previous) => addon.crc32c(data, start, end, previous) },
    { name: 'addon crc32cPortable', crc32c: (data, start, end, previous) => addon.crc32cPortable!(data, start, end, previous) },
    { name: 'loadCrc32c', crc32c: loadCrc32c(() => {}).crc32c },
    { name: 'JavaScript table', crc32c: crc32cTable },
  ];
}

t.test('the addon exports both paths and says which one crc32c uses', async (t) => {
  const addon = loadNativeAddon();
  t.type(addon.crc32cPortable, 'function', 'crc32cPortable');
  t.type(addon.crc32cImplementation, 'function', 'crc32cImplementation');
  const name = addon.crc32cImplementation?.();
  t.ok(['sse4.2', 'armv8-crc32', 'slice-by-16'].includes(name ?? ''), `implementation ${name}`);
  t.equal(addon.crc32cHardware(), name !== 'slice-by-16', 'crc32cHardware agrees');
  t.comment(`crc32c uses ${name} on ${process.arch}`);
});

t.test('RFC 3720 test vectors', async (t) => {
  for (const { name, crc32c } of implementations()) {
    for (const vector of RFC3720_VECTORS) {
      t.equal(crc32c(vector.bytes, 0, vector.bytes.length, 0), vector.crc, `${name}: ${vector.name}`);
    }
  }
});

t.test('all implementations agree at every length around the 8-byte slices and the thresholds', async (t) => {
  const data = randomBytes(2048 + 16);
  const all = implementations();
  let mismatches = 0;
  for (let length = 0; length <= 1100; length++) {
    for (const start of [0, 1, 3, 7]) {
      const expected = crc32cTable(data, start, start + length, 0);
      for (const { name, crc32c } of all) {
        const actual = crc32c(data, start, start + length, 0);
        if (actual !== expected) {
          mismatches++;
          if (mismatches <= 10) t.fail(`${name}: length ${length} at ${start}: ${actual.toString(16)}, expected ${expected.toString(16)}`);
        }
      }
    }
  }
  t.equal(mismatches, 0, 'no mismatch');
});

t.test('all implementations agree around the three-stream blocks of the hardware path (3 × 4096 bytes)', async (t) => {
  const block = 3 * 4096;
  const data = randomBytes(4 * block + 64);
  const all = implementations();
  let mismatches = 0;
  for (const base of [block, 2 * block, 3 * block]) {
    for (let length = base - 9; length <= base + 9; length++) {
      for (const start of [0, 5]) {
        const previous = (length * 2654435761) >>> 0;
        const expected = crc32cTable(data, start, start + length, previous);
        for (const { name, crc32c } of all) {
          const actual = crc32c(data, start, start + length, previous);
          if (actual !== expected) {
            mismatches++;
            if (mismatches <= 10) t.fail(`${name}: length ${length} at ${start}: ${actual.toString(16)}, expected ${expected.toString(16)}`);
          }
        }
      }
    }
  }
  t.equal(mismatches, 0, 'no mismatch');
});

t.test('all implementations agree on random inputs, lengths, offsets and continuations', async (t) => {
  const seed = Number(process.env['SPATE_CRC32C_TEST_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (SPATE_CRC32C_TEST_SEED=${seed} reproduces it)`);
  const random = generator(seed);
  const data = randomBytes(3 * 1024 * 1024);
  const all = implementations();
  let mismatches = 0;
  for (let round = 0; round < 300; round++) {
    // Lengths spread over every scale from 0 to 1 MiB.
    const length = Math.floor(2 ** (random() * 20)) - 1;
    const start = Math.floor(random() * (data.length - length));
    const end = start + length;
    const split = start + Math.floor(random() * (length + 1));
    const previous = Math.floor(random() * 2 ** 32);
    const expected = crc32cTable(data, start, end, previous);
    for (const { name, crc32c } of all) {
      const whole = crc32c(data, start, end, previous);
      const continued = crc32c(data, split, end, crc32c(data, start, split, previous));
      if (whole !== expected || continued !== expected) {
        mismatches++;
        if (mismatches <= 10) {
          t.fail(`${name}: [${start}, ${end}) split at ${split} from ${previous}: ${whole.toString(16)} / ${continued.toString(16)}, expected ${expected.toString(16)}`);
        }
      }
    }
  }
  t.equal(mismatches, 0, `no mismatch (seed ${seed})`);
});

t.test('the addon refuses bad arguments on both paths', async (t) => {
  const addon = loadNativeAddon();
  const data = randomBytes(100);
  for (const name of ['crc32c', 'crc32cPortable'] as const) {
    const crc32c = addon[name]!.bind(addon);
    t.throws(() => crc32c(data, 10, data.length + 1, 0), RangeError, `${name}: a range past the end`);
    t.throws(() => crc32c(data, 20, 10, 0), RangeError, `${name}: start after end`);
    t.throws(() => crc32c('text' as unknown as Uint8Array, 0, 1, 0), TypeError, `${name}: not bytes`);
    t.throws(() => crc32c(new Uint16Array(4) as unknown as Uint8Array, 0, 1, 0), TypeError, `${name}: not a Uint8Array`);
    t.throws(() => crc32c(data, 0, 1, 2 ** 32), TypeError, `${name}: previous past 32 bits`);
  }
});

t.test('loadCrc32c picks the addon and keeps small inputs in JavaScript', async (t) => {
  const implementation = loadCrc32c(() => t.fail('should not log'));
  t.equal(implementation.name, 'native');
  const data = randomBytes(5000);
  for (const length of [10, 127, 128, 5000]) {
    t.equal(implementation.crc32c(data, 0, length, 0), crc32cTable(data, 0, length, 0));
  }
});
