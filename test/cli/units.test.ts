// The CLI's pure pieces, without a broker: the argument parser, the bootstrap address
// parser, murmur2 (against the values Kafka's own UtilsTest expects), and the consumer
// group helpers (--topic TOPIC:P,… and --to-datetime parsing, member assignment and
// subscription decoding).

import t from 'tap';
import { parseArgs, type CommandSpec } from '../../src/cli/args.js';
import { AddressError, parseBootstrap } from '../../src/network/kafka-client.js';
import { UsageError } from '../../src/cli/errors.js';
import { decodeAssignment, decodeSubscription, parseDateTime, parseTopicSpec } from '../../src/cli/groups.js';
import { formatTable } from '../../src/cli/output.js';
import { murmur2 } from '../../src/cli/produce.js';
import { writeConsumerProtocolAssignment } from '../../src/protocol/generated/consumer-protocol-assignment.js';
import { writeConsumerProtocolSubscription } from '../../src/protocol/generated/consumer-protocol-subscription.js';
import { Writer } from '../../src/protocol/writer.js';

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
  t.throws(() => parseBootstrap('h:99999'), AddressError);
  t.throws(() => parseBootstrap(''), AddressError);
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

t.test('groups: --topic and --to-datetime', async (t) => {
  t.same(parseTopicSpec('orders'), { topic: 'orders', partitions: null });
  t.same(parseTopicSpec('orders:2,0,2'), { topic: 'orders', partitions: [0, 2] }, 'sorted, without duplicates');
  t.throws(() => parseTopicSpec('orders:'), UsageError);
  t.throws(() => parseTopicSpec(':1'), UsageError);
  t.throws(() => parseTopicSpec('orders:a'), UsageError);
  t.throws(() => parseTopicSpec('orders:-1'), UsageError);
  t.equal(parseDateTime('2024-05-01T12:00:00Z'), Date.UTC(2024, 4, 1, 12));
  t.equal(parseDateTime('2024-05-01T12:00:00.250+02:00'), Date.UTC(2024, 4, 1, 10, 0, 0, 250));
  t.equal(parseDateTime('2024-05-01T12:00:00'), new Date(2024, 4, 1, 12).getTime(), 'without a zone: local time');
  t.throws(() => parseDateTime('yesterday'), UsageError);
  t.throws(() => parseDateTime('1714564800000'), UsageError, 'not milliseconds');
});

t.test('groups: member assignments and subscriptions', async (t) => {
  const encode = (version: number, write: (w: Writer) => void): Buffer => {
    const w = new Writer();
    w.int16(version);
    write(w);
    return w.toBuffer();
  };
  const assigned = [
    { topic: 'b', partitions: [2, 0] },
    { topic: 'a', partitions: [1] },
    { topic: 'b', partitions: [1] },
  ];
  for (const version of [0, 3, 7]) {
    // A version newer than the codec's is read as the newest known (fields are only added at the end).
    const bytes = encode(version, (w) => writeConsumerProtocolAssignment(w, Math.min(version, 3), { assignedPartitions: assigned, userData: Buffer.from('x') }));
    t.same(decodeAssignment(bytes), [{ topic: 'a', partitions: [1] }, { topic: 'b', partitions: [0, 1, 2] }], `assignment v${version}`);
  }
  t.same(decodeAssignment(Buffer.alloc(0)), [], 'no assignment yet');
  t.equal(decodeAssignment(Buffer.from([0, 0, 0, 0, 0, 9])), null, 'not an assignment');
  t.equal(decodeAssignment(Buffer.from([0xff, 0xff])), null, 'a negative version');
  const subscription = encode(1, (w) => writeConsumerProtocolSubscription(w, 1, { topics: ['z', 'y'], userData: null, ownedPartitions: [{ topic: 'z', partitions: [0] }] }));
  t.same(decodeSubscription(subscription), ['y', 'z']);
  t.equal(decodeSubscription(Buffer.alloc(0)), null);
});
