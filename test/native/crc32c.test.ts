// The addon's CRC-32C agrees with the JavaScript table version on every length,
// alignment and continuation, and is the one the shards install.

import { randomBytes } from 'node:crypto';
import t from 'tap';
import { loadCrc32c } from '../../src/native/crc32c.js';
import { loadNativeAddon } from '../../src/native/sendfile.js';
import { crc32cTable } from '../../src/protocol/crc32c.js';

t.test('native CRC-32C matches the table version', async (t) => {
  const addon = loadNativeAddon();
  t.equal(addon.crc32c(Buffer.from('123456789'), 0, 9, 0), 0xe3069283, 'check value');
  const data = randomBytes(70_000);
  for (const length of [0, 1, 7, 8, 9, 63, 64, 255, 256, 257, 4096, 65_537]) {
    for (const start of [0, 1, 3, 8]) {
      const end = Math.min(start + length, data.length);
      t.equal(addon.crc32c(data, start, end, 0), crc32cTable(data, start, end, 0), `length ${length} at ${start}`);
    }
  }
  const first = addon.crc32c(data, 0, 1000, 0);
  t.equal(addon.crc32c(data, 1000, data.length, first), crc32cTable(data, 0, data.length, 0), 'continuation');
  t.throws(() => addon.crc32c(data, 10, data.length + 1, 0), RangeError, 'a range past the end is refused');
  t.throws(() => addon.crc32c('text' as unknown as Uint8Array, 0, 1, 0), TypeError);
  t.comment(`hardware instruction: ${addon.crc32cHardware()}`);
});

t.test('loadCrc32c picks the addon and keeps small inputs in JavaScript', async (t) => {
  const implementation = loadCrc32c(() => t.fail('should not log'));
  t.equal(implementation.name, 'native');
  const data = randomBytes(5000);
  for (const length of [10, 255, 256, 5000]) {
    t.equal(implementation.crc32c(data, 0, length, 0), crc32cTable(data, 0, length, 0));
  }
});
