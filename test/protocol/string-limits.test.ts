// Kafka's string limit and the helpers that keep responses within it: excerpts of client
// text for error messages, UTF-8 truncation on character boundaries, and the search for a
// decoded string that no Kafka string can hold.

import t from 'tap';
import { limits } from '../../src/config/limits.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { Reader } from '../../src/protocol/reader.js';
import { STRING_BYTES_MAX, excerpt, oversizedBytes, truncateUtf8 } from '../../src/protocol/string-limits.js';

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

t.test('truncateUtf8 cuts at a character boundary, never inside one', async (t) => {
  t.equal(truncateUtf8('abc', 10), 'abc');
  t.equal(truncateUtf8('abcdef', 4), 'abcd');
  t.equal(truncateUtf8('ééé', 5), 'éé', 'two-byte characters: 5 bytes hold two');
  t.equal(truncateUtf8('€€', 4), '€', 'three-byte characters: 4 bytes hold one');
  t.equal(truncateUtf8('😀😀', 7), '😀', 'a surrogate pair (four bytes) is kept whole or dropped');
  t.equal(truncateUtf8('\uFFFD'.repeat(10), 10), '\uFFFD'.repeat(3));
  for (let bytesMax = 0; bytesMax < 20; bytesMax++) {
    const cut = truncateUtf8('aé€😀'.repeat(3), bytesMax);
    t.ok(utf8Bytes(cut) <= bytesMax && !cut.includes('\uFFFD'), `at most ${bytesMax} bytes, no broken character`);
  }
});

t.test('excerpt keeps short text whole and bounds long text, saying how long it was', async (t) => {
  t.equal(excerpt('orders'), 'orders');
  const exact = 'x'.repeat(limits.errorMessageExcerptBytesMax);
  t.equal(excerpt(exact), exact, 'text of exactly the bound is whole');
  const long = excerpt('y'.repeat(32_760));
  t.ok(long.startsWith('y'.repeat(limits.errorMessageExcerptBytesMax)) && long.endsWith('… (32760 bytes)'), long.slice(-20));
  t.ok(utf8Bytes(long) < limits.errorMessageExcerptBytesMax + 32);
  const wide = excerpt('\uFFFD'.repeat(20_000));
  t.ok(utf8Bytes(wide) < limits.errorMessageExcerptBytesMax + 32 && wide.endsWith('(60000 bytes)'), 'sized in UTF-8 bytes, as the wire carries it');
});

t.test('oversizedBytes finds what no Kafka string can hold; the reader refuses such a string', async (t) => {
  t.equal(oversizedBytes('a'.repeat(STRING_BYTES_MAX)), null, '32,767 bytes fit');
  t.equal(oversizedBytes('a'.repeat(STRING_BYTES_MAX + 1)), STRING_BYTES_MAX + 1);
  t.equal(oversizedBytes('\uFFFD'.repeat(10_923)), 32_769, 'U+FFFD is three bytes');
  t.equal(oversizedBytes('\uFFFD'.repeat(10_922)), null);

  const notUtf8 = Buffer.alloc(2 + 20_000, 0xff);
  notUtf8.writeInt16BE(20_000, 0);
  t.throws(() => new Reader(notUtf8).string(), ProtocolError, '20,000 non-UTF-8 bytes decode to 60,000: refused');
  const compact = Buffer.alloc(3 + 40_000, 0x61);
  compact[0] = 0xc1; // uvarint 40,001 (length + 1)
  compact[1] = 0xb8;
  compact[2] = 0x02;
  t.throws(() => new Reader(compact).compactString(), ProtocolError, 'a 40,000-byte compact string: refused');
  const fits = Buffer.alloc(2 + STRING_BYTES_MAX, 0x61);
  fits.writeInt16BE(STRING_BYTES_MAX, 0);
  t.equal(new Reader(fits).string().length, STRING_BYTES_MAX, '32,767 ASCII bytes are read');
});
