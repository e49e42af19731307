// kcat and confluent-kafka consumers read byte-identical data with fetch.zero.copy on
// and off, from a topic whose small segments make fetches span segment ends.

import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines } from '../helpers/json-lines.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';

const PARTITIONS = 3;
const lines = Array.from({ length: 30_000 }, (_, index) => `zc-${index} ${'q'.repeat((index * 7) % 500)} ✓`);
const input = lines.join('\n') + '\n';

for (const zeroCopy of ['on', 'off'] as const) {
  t.test(`fetch.zero.copy=${zeroCopy}: kcat and confluent-kafka read every byte back`, async (t) => {
    const broker = await BrokerProcess.start(t, {
      overrides: { 'fetch.zero.copy': zeroCopy, 'log.segment.bytes': 256 * 1024, 'num.partitions': PARTITIONS },
    });
    t.match(
      broker.log,
      zeroCopy === 'on' ? /native sender thread; fetch\.zero\.copy=on: file regions by sendfile/ : /native sender thread; fetch\.zero\.copy=off: file regions by pread \+ write/,
      'the addon loaded and its sender thread writes the responses',
    );
    const produced = await run('kcat', ['-b', broker.bootstrap, '-t', 'zc', '-P', '-X', 'acks=all'], { input });
    t.equal(produced.code, 0, produced.stderr);

    const kcat = await run('kcat', ['-b', broker.bootstrap, '-t', 'zc', '-C', '-e', '-q', '-o', 'beginning', '-f', '%p %o %s\n']);
    t.equal(kcat.code, 0);
    const kcatRecords = kcat.stdout.toString().split('\n').filter((line) => line !== '').map((line) => {
      const [partition, offset, ...rest] = line.split(' ');
      return { partition: Number(partition), offset: Number(offset), value: rest.join(' ') };
    });
    t.same(kcatRecords.map((record) => record.value).sort(), [...lines].sort(), 'kcat: every line, byte-identical');
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const offsets = kcatRecords.filter((record) => record.partition === partition).map((record) => record.offset);
      t.same(offsets, offsets.map((_, index) => index), `kcat: partition ${partition} offsets 0..${offsets.length - 1} in order`);
    }

    const python = await run(PYTHON, [pythonScript('consume_all.py'), broker.bootstrap, 'zc', String(PARTITIONS)], { timeoutMs: 60_000 });
    const output = jsonLines(python.stdout);
    const done = output.find((line) => line.type === 'done');
    t.equal(done?.complete, true, `confluent-kafka read to the high watermarks (${python.stderr.slice(0, 500)})`);
    const values = output.filter((line) => line.type === 'records').flatMap((line) => (line.records as unknown[][]).map((record) => record[3] as string));
    t.same(values.sort(), [...lines].sort(), 'confluent-kafka: every line, byte-identical');
  });
}
