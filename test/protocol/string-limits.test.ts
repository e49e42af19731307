// Kafka's string limit and the helpers that keep responses within it: excerpts of client
// text for error messages, UTF-8 truncation on character boundaries, and the search for a
// decoded string that no Kafka string can hold.

import t from 'tap';
import { limits } from '../../src/config/limits.js';
import { STRING_BYTES_MAX, excerpt, firstOversizedString, oversizedBytes, truncateUtf8 } from '../../src/protocol/string-limits.js';

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

t.test('oversizedBytes and firstOversizedString find what no Kafka string can hold', async (t) => {
  t.equal(oversizedBytes('a'.repeat(STRING_BYTES_MAX)), null, '32,767 bytes fit');
  t.equal(oversizedBytes('a'.repeat(STRING_BYTES_MAX + 1)), STRING_BYTES_MAX + 1);
  t.equal(oversizedBytes('\uFFFD'.repeat(10_923)), 32_769, 'U+FFFD is three bytes');
  t.equal(oversizedBytes('\uFFFD'.repeat(10_922)), null);

  const long = '\uFFFD'.repeat(20_000);
  t.equal(firstOversizedString({ name: 'ok', count: 3, records: Buffer.alloc(100_000), list: [1, 2, 3] }), null);
  t.equal(firstOversizedString({ topics: [{ name: 'a', partitions: [{ index: 0 }] }, { name: long, partitions: [] }] }), 60_000, 'nested in an array of structs');
  t.equal(firstOversizedString({ groups: ['g', long] }), 60_000, 'in an array of strings');
  t.equal(firstOversizedString({ instance: null, nested: { deeper: { value: long } } }), 60_000, 'in a nested struct');
  t.equal(firstOversizedString({ unknownTaggedFields: [{ tag: 1, data: Buffer.alloc(40_000) }] }), null, 'bytes are not strings');
});
