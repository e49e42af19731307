// The CLI's pure pieces, without a broker: the argument parser, the bootstrap address
// parser, and murmur2 (against the values Kafka's own UtilsTest expects).

import t from 'tap';
import { parseArgs, type CommandSpec } from '../../src/cli/args.js';
import { parseBootstrap } from '../../src/cli/client.js';
import { UsageError } from '../../src/cli/errors.js';
import { formatTable } from '../../src/cli/output.js';
import { murmur2 } from '../../src/cli/produce.js';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'demo',
  synopsis: 'demo <a> [b]',
  options: [
    { name: 'count', kind: 'value', help: '' },
    { name: 'set', kind: 'list', help: '' },
    { name: 'all', kind: 'flag', help: '' },
  ],
  minPositionals: 1,
  maxPositionals: 2,
};

t.test('parseArgs', async (t) => {
  const parsed = parseArgs(spec, ['x', '--count', '-1', '--set=a=1', '--set', 'b=2', '--all', '--', '--y'], []);
  t.same(parsed.positionals, ['x', '--y']);
  t.equal(parsed.int('count', 0), -1, 'a negative value after an option is its value');
  t.same(parsed.list('set'), ['a=1', 'b=2']);
  t.ok(parsed.flag('all'));
  t.throws(() => parseArgs(spec, ['x', '--nope'], []), UsageError);
  t.throws(() => parseArgs(spec, [], []), UsageError, 'missing positional');
  t.throws(() => parseArgs(spec, ['a', 'b', 'c'], []), UsageError, 'too many positionals');
  t.throws(() => parseArgs(spec, ['x', '--count'], []), UsageError, 'missing value');
  t.throws(() => parseArgs(spec, ['x', '--all=1'], []), UsageError, 'a flag takes no value');
  t.throws(() => parseArgs(spec, ['x', '--count', '1.5'], []).int('count', 0), UsageError, 'not an integer');
  t.ok(parseArgs(spec, ['--help'], []).flag('help'), '--help skips the positional check');
});

t.test('parseBootstrap', async (t) => {
  t.same(parseBootstrap('h:1,[::1]:2, k'), [
    { host: 'h', port: 1 },
    { host: '::1', port: 2 },
    { host: 'k', port: 9092 },
  ]);
  t.throws(() => parseBootstrap('h:99999'), UsageError);
  t.throws(() => parseBootstrap(''), UsageError);
});

t.test('murmur2 matches Kafka', async (t) => {
  const expected: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [input, hash] of expected) t.equal(murmur2(Buffer.from(input)), hash, input);
});

t.test('formatTable', async (t) => {
  t.equal(formatTable(['A', 'BB'], [['xyz', 1], ['', 22]]), 'A    BB\nxyz  1\n     22');
});
