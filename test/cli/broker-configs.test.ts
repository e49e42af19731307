// `spate configs alter|describe` on brokers: the dynamic broker configs (KIP-226) of this
// broker (--broker ID) and the cluster-wide default (--broker-defaults), through the real
// binary; a read-only key is a broker error (exit 1, INVALID_REQUEST).

import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { describe, spate } from './fixtures/spate.js';

t.test('configs alter and describe on the broker defaults and on one broker', async (t) => {
  const broker = await BrokerProcess.start(t);
  const b = broker.bootstrap;

  const defaults = await spate(b, ['configs', 'alter', '--broker-defaults', '--set', 'log.retention.ms=3600000']);
  t.equal(defaults.code, 0, describe(defaults));
  t.match(defaults.out, /^Updated the broker defaults: set log\.retention\.ms=3600000\.$/m);
  const own = await spate(b, ['configs', 'alter', '--broker', '0', '--set', 'log.retention.bytes=1000000']);
  t.equal(own.code, 0, describe(own));

  const shown = await spate(b, ['configs', 'describe', '--broker', '0']);
  t.equal(shown.code, 0, describe(shown));
  t.match(shown.out, /^log\.retention\.ms +3600000 +DYNAMIC_DEFAULT_BROKER_CONFIG +no$/m);
  t.match(shown.out, /^log\.retention\.bytes +1000000 +DYNAMIC_BROKER_CONFIG +no$/m);
  const listed = await spate(b, ['configs', 'describe', '--broker-defaults']);
  t.equal(listed.code, 0, describe(listed));
  t.match(listed.out, /^log\.retention\.ms +3600000 +DYNAMIC_DEFAULT_BROKER_CONFIG +no$/m);
  t.notMatch(listed.out, /log\.retention\.bytes/, 'the defaults hold only what was set on them');

  const readOnly = await spate(b, ['configs', 'alter', '--broker-defaults', '--set', 'num.partitions=3']);
  t.equal(readOnly.code, 1, describe(readOnly));
  t.match(readOnly.stderr, /^error: INVALID_REQUEST: .*Cannot update these configs dynamically/m);
  const both = await spate(b, ['configs', 'describe', '--broker', '0', '--broker-defaults']);
  t.equal(both.code, 2, 'naming two resources is a usage error');
});
