// kcat (Debian's, librdkafka 2.0.2) against a real broker: 100,000 lines produced to a
// new topic come back byte-identical, and `kcat -L` lists the broker and the topics.

import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { run } from '../helpers/run.js';

t.test('kcat produces 100,000 lines and consumes them back byte-identical', async (t) => {
  const broker = await BrokerProcess.start(t);
  const lines = Array.from({ length: 100_000 }, (_, index) => `line ${index} ${'x'.repeat(index % 200)} ✓`).join('\n') + '\n';
  const produced = await run('kcat', ['-b', broker.bootstrap, '-t', 'kcat-lines', '-P', '-X', 'acks=all'], { input: lines });
  t.equal(produced.code, 0, `kcat -P exits 0 (${produced.stderr.trim()})`);
  const consumed = await run('kcat', ['-b', broker.bootstrap, '-t', 'kcat-lines', '-C', '-e', '-q', '-o', 'beginning']);
  t.equal(consumed.code, 0, 'kcat -C exits 0');
  t.equal(consumed.stdout.length, Buffer.byteLength(lines), 'same number of bytes');
  t.ok(consumed.stdout.equals(Buffer.from(lines)), 'byte-identical');

  const listing = await run('kcat', ['-b', broker.bootstrap, '-L']);
  t.equal(listing.code, 0);
  const text = listing.stdout.toString();
  t.match(text, new RegExp(`broker 0 at 127\\.0\\.0\\.1:${broker.port} \\(controller\\)`), 'lists the broker as controller');
  t.match(text, /topic "kcat-lines" with 1 partitions:/, 'lists the topic');
  t.match(text, /partition 0, leader 0, replicas: 0, isrs: 0/, 'lists the partition');
});
