// `spate quotas alter|describe` against a real broker, through the real binary:
//   - alter sets quotas on each kind of entity (a user, a client id, a client id of a user, and
//     the defaults) and says what it did; describe of one entity shows exactly that entity's quotas
//     in kafka-configs.sh's words (Java doubles: 2097152.0, 1.5E7), describe without an entity
//     every quota, --json the same as data;
//   - --delete-config removes keys (the others stay; an entity left without quotas is no longer
//     described); a key the entity does not have is INVALID_CONFIG, exit 1, nothing changed;
//   - the broker's refusals keep their names (INVALID_REQUEST for a fraction of a byte rate or a
//     value of 0), exit 1; bad command lines (no entity, both --user and --user-defaults, an
//     unknown key, a value that is not a plain number such as 2MB, nothing to do) exit 2.

import t, { type Test } from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { describe, json, spate, type SpateResult } from './fixtures/spate.js';

const broker = await BrokerProcess.start(t);
const quotas = (...args: string[]): Promise<SpateResult> => spate(broker.bootstrap, ['quotas', ...args]);

async function ok(t: Test, args: string[]): Promise<string> {
  const result = await quotas(...args);
  t.equal(result.code, 0, `quotas ${args.join(' ')}: ${describe(result)}`);
  return result.out;
}

t.test('alter and describe each kind of entity', async (t) => {
  t.equal(
    await ok(t, ['alter', '--user', 'alice', '--add-config', 'producer_byte_rate=2097152,consumer_byte_rate=1048576']),
    "Completed updating quotas of user-principal 'alice': set producer_byte_rate=2097152.0, consumer_byte_rate=1048576.0.\n",
  );
  await ok(t, ['alter', '--user', 'alice', '--client', 'app', '--add-config', 'producer_byte_rate=4096', '--add-config', 'request_percentage=50']);
  await ok(t, ['alter', '--client', 'app', '--add-config', 'consumer_byte_rate=8192']);
  await ok(t, ['alter', '--user-defaults', '--add-config', 'producer_byte_rate=100000']);
  t.equal(await ok(t, ['alter', '--client-defaults', '--add-config', 'controller_mutation_rate=15000000']), "Completed updating quotas of the default client-id: set controller_mutation_rate=1.5E7.\n");
  await ok(t, ['alter', '--user-defaults', '--client-defaults', '--add-config', 'consumer_byte_rate=300000']);

  t.equal(await ok(t, ['describe', '--user', 'alice']), "Quota configs for user-principal 'alice' are consumer_byte_rate=1048576.0, producer_byte_rate=2097152.0\n", "exactly alice's own quotas, not her client ids'");
  t.equal(await ok(t, ['describe', '--user', 'alice', '--client', 'app']), "Quota configs for user-principal 'alice', client-id 'app' are producer_byte_rate=4096.0, request_percentage=50.0\n");
  t.equal(await ok(t, ['describe', '--client', 'app']), "Quota configs for client-id 'app' are consumer_byte_rate=8192.0\n");
  t.equal(await ok(t, ['describe', '--user-defaults', '--client-defaults']), 'Quota configs for the default user-principal, the default client-id are consumer_byte_rate=300000.0\n');
  t.equal(await ok(t, ['describe', '--user', 'nobody']), '', 'an entity without quotas: nothing');
  t.equal(
    await ok(t, ['describe']),
    [
      'Quota configs for client-id \'app\' are consumer_byte_rate=8192.0',
      'Quota configs for the default client-id are controller_mutation_rate=1.5E7',
      'Quota configs for the default user-principal are producer_byte_rate=100000.0',
      'Quota configs for the default user-principal, the default client-id are consumer_byte_rate=300000.0',
      "Quota configs for user-principal 'alice' are consumer_byte_rate=1048576.0, producer_byte_rate=2097152.0",
      "Quota configs for user-principal 'alice', client-id 'app' are producer_byte_rate=4096.0, request_percentage=50.0",
      '',
    ].join('\n'),
    'without an entity: every quota',
  );
  const all = await quotas('describe', '--json');
  t.same(json(all), [
    { entity: { 'client-id': 'app' }, configs: { consumer_byte_rate: 8192 } },
    { entity: { 'client-id': null }, configs: { controller_mutation_rate: 15000000 } },
    { entity: { user: null }, configs: { producer_byte_rate: 100000 } },
    { entity: { user: null, 'client-id': null }, configs: { consumer_byte_rate: 300000 } },
    { entity: { user: 'alice' }, configs: { consumer_byte_rate: 1048576, producer_byte_rate: 2097152 } },
    { entity: { user: 'alice', 'client-id': 'app' }, configs: { producer_byte_rate: 4096, request_percentage: 50 } },
  ], '--json: the default entity named null');
});

t.test('delete quotas', async (t) => {
  t.equal(await ok(t, ['alter', '--user', 'alice', '--delete-config', 'consumer_byte_rate']), "Completed updating quotas of user-principal 'alice': removed consumer_byte_rate.\n");
  t.equal(await ok(t, ['describe', '--user', 'alice']), "Quota configs for user-principal 'alice' are producer_byte_rate=2097152.0\n", 'the other key stays');
  const missing = await quotas('alter', '--user', 'alice', '--delete-config', 'consumer_byte_rate,producer_byte_rate');
  t.equal(missing.code, 1, `a key the entity does not have: exit 1 (${describe(missing)})`);
  t.match(missing.stderr, /^error: INVALID_CONFIG: user-principal 'alice': Invalid config\(s\): consumer_byte_rate$/m, "kafka-configs.sh's refusal");
  t.equal(await ok(t, ['describe', '--user', 'alice']), "Quota configs for user-principal 'alice' are producer_byte_rate=2097152.0\n", 'and nothing was changed');
  await ok(t, ['alter', '--user', 'alice', '--client', 'app', '--delete-config', 'producer_byte_rate', '--delete-config', 'request_percentage']);
  t.equal(await ok(t, ['describe', '--user', 'alice', '--client', 'app']), '', 'an entity left without quotas is not described');
  t.equal(await ok(t, ['alter', '--client', 'app', '--add-config', 'producer_byte_rate=1000', '--delete-config', 'consumer_byte_rate']), "Completed updating quotas of client-id 'app': set producer_byte_rate=1000.0; removed consumer_byte_rate.\n");
  t.equal(await ok(t, ['describe', '--client', 'app']), "Quota configs for client-id 'app' are producer_byte_rate=1000.0\n", 'set and removed in one request');
});

t.test("the broker's refusals exit 1, bad command lines exit 2", async (t) => {
  for (const [what, args, message] of [
    ['a fraction of a byte rate', ['alter', '--user', 'bob', '--add-config', 'producer_byte_rate=1.5'], /^error: INVALID_REQUEST: user-principal 'bob': Configuration producer_byte_rate must be a LONG value$/m],
    ['a quota of 0', ['alter', '--client', 'c', '--add-config', 'consumer_byte_rate=0'], /^error: INVALID_REQUEST: client-id 'c': Quota consumer_byte_rate must be greater than 0$/m],
  ] as const) {
    const result = await quotas(...args);
    t.equal(result.code, 1, `${what}: exit 1 (${describe(result)})`);
    t.match(result.stderr, message, what);
  }
  t.equal(await ok(t, ['describe', '--user', 'bob']), '', 'nothing was set for bob');
  for (const [what, args, message] of [
    ['no entity', ['alter', '--add-config', 'producer_byte_rate=1'], /name the entity/],
    ['a user and the default user', ['alter', '--user', 'x', '--user-defaults', '--add-config', 'producer_byte_rate=1'], /give --user or --user-defaults, not both/],
    ['an empty user', ['describe', '--user', ''], /--user must not be empty/],
    ['an unknown key', ['alter', '--user', 'x', '--add-config', 'max_bytes=1'], /unknown quota key "max_bytes"/],
    ['an unknown key to delete', ['alter', '--user', 'x', '--delete-config', 'retention.ms'], /unknown quota key "retention.ms"/],
    ['a human size', ['alter', '--user', 'x', '--add-config', 'producer_byte_rate=2MB'], /Cannot parse quota configuration value for producer_byte_rate: 2MB/],
    ['a pair without a value', ['alter', '--user', 'x', '--add-config', 'producer_byte_rate'], /needs key=value pairs/],
    ['nothing to do', ['alter', '--user', 'x'], /give --add-config/],
    ['a key added and deleted', ['alter', '--user', 'x', '--add-config', 'producer_byte_rate=1', '--delete-config', 'producer_byte_rate'], /both added and deleted/],
    ['a positional', ['describe', 'alice'], /unexpected argument "alice"/],
  ] as const) {
    const result = await quotas(...args);
    t.equal(result.code, 2, `${what}: exit 2 (${describe(result)})`);
    t.match(result.stderr, message, what);
  }
});
