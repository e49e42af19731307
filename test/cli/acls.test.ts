// `spate acls add|list|remove` against real broker processes, through the real binary:
//   - a broker with the ACL authorizer, a PLAINTEXT listener whose anonymous principal is a
//     super user (the admin's) and a SASL_PLAINTEXT one for SCRAM users;
//   - add / list / remove round trips for literal and prefixed patterns, in Kafka's layout
//     ("Current ACLs for resource `ResourcePattern(…)`:" and a tab-indented line per entry) and
//     as --json; list's filters (literal, prefixed, any, match, --principal, none) and remove's
//     (exact entries, every entry of a resource, any);
//   - --producer (with --idempotent and --transactional-id) and --consumer make exactly Kafka's
//     bindings;
//   - Kafka's checks are usage errors (exit 2), and remove without --force and without a
//     terminal refuses rather than waits;
//   - on a terminal (util-linux `script` gives it one) remove asks for each resource filter and
//     removes only what is answered y;
//   - the broker's errors keep their names, exit 1: SECURITY_DISABLED from a broker without an
//     authorizer, CLUSTER_AUTHORIZATION_FAILED for a user who may not administer ACLs;
//   - end to end: a SCRAM user cannot produce to or consume from a topic until `acls add` gives
//     it the ACLs, and cannot again after `acls remove`.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BrokerProcess, plainNode, temporaryDirectory } from '../helpers/broker-process.js';
import { run } from '../helpers/run.js';
import { startSaslBroker } from '../helpers/sasl-client.js';
import { cliMain, describe, json, spate, type SpateResult } from './fixtures/spate.js';

const { broker, saslPort } = await startSaslBroker(t, {
  'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
  'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
  'super.users': 'User:ANONYMOUS',
  'auto.create.topics.enable': false,
});
const admin = broker.bootstrap;
const sasl = `127.0.0.1:${saslPort}`;
const files = temporaryDirectory(t, 'spate-acls-test-');

const acls = (...args: string[]): Promise<SpateResult> => spate(admin, ['acls', ...args]);

/** The JSON of `acls list` with these arguments. */
async function listed(...args: string[]): Promise<unknown> {
  const result = await acls('list', ...args, '--json');
  if (result.code !== 0) throw new Error(`acls list ${args.join(' ')}: ${describe(result)}`);
  return json(result);
}

/** --json's form of a resource and its entries. */
const resource = (resourceType: string, name: string, patternType: string, entries: readonly (readonly [string, string, string, string])[]) => ({
  resourceType,
  name,
  patternType,
  acls: entries.map(([principal, host, operation, permissionType]) => ({ principal, host, operation, permissionType })),
});

/** A --command-config logging in as `user` with SCRAM-SHA-256. */
function loginAs(user: string, password: string): string {
  const path = join(files, `${user}.properties`);
  writeFileSync(path, ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=SCRAM-SHA-256', `sasl.username=${user}`, `sasl.password=${password}`, ''].join('\n'));
  return path;
}

/** Removes every ACL, one resource pattern at a time. */
async function removeAll(): Promise<void> {
  const option: Record<string, string[]> = { TOPIC: ['--topic'], GROUP: ['--group'], TRANSACTIONAL_ID: ['--transactional-id'], DELEGATION_TOKEN: ['--delegation-token'] };
  for (const { resourceType, name, patternType } of (await listed()) as { resourceType: string; name: string; patternType: string }[]) {
    const which = resourceType === 'CLUSTER' ? ['--cluster'] : [...option[resourceType]!, name, '--resource-pattern-type', patternType];
    const result = await acls('remove', ...which, '--force');
    if (result.code !== 0) throw new Error(`cleaning up: ${describe(result)}`);
  }
}

t.test('add, list and remove literal ACLs in Kafka\'s layout', async (t) => {
  const added = await acls('add', '--allow-principal', 'User:alice', '--allow-principal', 'User:bob', '--operation', 'read', '--operation', 'DESCRIBE', '--topic', 'orders');
  t.equal(added.code, 0, describe(added));
  t.equal(
    added.out,
    [
      'Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:',
      '\t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)',
      '\t(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW)',
      '\t(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)',
      '\t(principal=User:bob, host=*, operation=DESCRIBE, permissionType=ALLOW)',
      '',
      'Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:',
      '\t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)',
      '\t(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW)',
      '\t(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)',
      '\t(principal=User:bob, host=*, operation=DESCRIBE, permissionType=ALLOW)',
      '',
      '',
    ].join('\n'),
    'what it adds, then the resource\'s ACLs, as kafka-acls.sh prints them',
  );
  const deny = await acls('add', '--deny-principal', 'User:mallory', '--deny-host', '10.0.0.1', '--deny-host', '10.0.0.2', '--topic', 'orders', '--group', 'billing', '--json');
  t.equal(deny.code, 0, describe(deny));
  t.same(json(deny), [
    resource('TOPIC', 'orders', 'LITERAL', [['User:mallory', '10.0.0.1', 'ALL', 'DENY'], ['User:mallory', '10.0.0.2', 'ALL', 'DENY']]),
    resource('GROUP', 'billing', 'LITERAL', [['User:mallory', '10.0.0.1', 'ALL', 'DENY'], ['User:mallory', '10.0.0.2', 'ALL', 'DENY']]),
  ], '--deny-principal on every host given, operation All by default; --json gives what was added');
  const cluster = await acls('add', '--allow-principal', 'User:ops', '--operation', 'ClusterAction', '--operation', 'alter_configs', '--operation', 'DescribeConfigs', '--cluster');
  t.equal(cluster.code, 0, describe(cluster));
  t.match(cluster.out, /^Adding ACLs for resource `ResourcePattern\(resourceType=CLUSTER, name=kafka-cluster, patternType=LITERAL\)`:$/m);

  const everything = await acls('list');
  t.equal(everything.code, 0, describe(everything));
  t.equal(
    everything.out,
    [
      'Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:',
      '\t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)',
      '\t(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW)',
      '\t(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)',
      '\t(principal=User:bob, host=*, operation=DESCRIBE, permissionType=ALLOW)',
      '\t(principal=User:mallory, host=10.0.0.1, operation=ALL, permissionType=DENY)',
      '\t(principal=User:mallory, host=10.0.0.2, operation=ALL, permissionType=DENY)',
      '',
      'Current ACLs for resource `ResourcePattern(resourceType=GROUP, name=billing, patternType=LITERAL)`:',
      '\t(principal=User:mallory, host=10.0.0.1, operation=ALL, permissionType=DENY)',
      '\t(principal=User:mallory, host=10.0.0.2, operation=ALL, permissionType=DENY)',
      '',
      'Current ACLs for resource `ResourcePattern(resourceType=CLUSTER, name=kafka-cluster, patternType=LITERAL)`:',
      '\t(principal=User:ops, host=*, operation=CLUSTER_ACTION, permissionType=ALLOW)',
      '\t(principal=User:ops, host=*, operation=DESCRIBE_CONFIGS, permissionType=ALLOW)',
      '\t(principal=User:ops, host=*, operation=ALTER_CONFIGS, permissionType=ALLOW)',
      '',
      '',
    ].join('\n'),
    'list without a resource: every ACL',
  );
  t.same(await listed('--group', 'billing'), [resource('GROUP', 'billing', 'LITERAL', [['User:mallory', '10.0.0.1', 'ALL', 'DENY'], ['User:mallory', '10.0.0.2', 'ALL', 'DENY']])], 'list --group');
  t.same(await listed('--topic', 'nothing-here'), [], 'a resource without ACLs: none');

  const bobs = await acls('list', '--principal', 'User:bob', '--topic', 'orders', '--group', 'billing');
  t.equal(
    bobs.out,
    [
      'ACLs for principal `User:bob`',
      'Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:',
      '\t(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)',
      '\t(principal=User:bob, host=*, operation=DESCRIBE, permissionType=ALLOW)',
      '',
      '',
    ].join('\n'),
    '--principal keeps that principal\'s entries, under Kafka\'s heading',
  );
  t.same(await listed('--principal', 'User:mallory'), [
    resource('TOPIC', 'orders', 'LITERAL', [['User:mallory', '10.0.0.1', 'ALL', 'DENY'], ['User:mallory', '10.0.0.2', 'ALL', 'DENY']]),
    resource('GROUP', 'billing', 'LITERAL', [['User:mallory', '10.0.0.1', 'ALL', 'DENY'], ['User:mallory', '10.0.0.2', 'ALL', 'DENY']]),
  ], '--principal with --json');

  const exact = await acls('remove', '--allow-principal', 'User:bob', '--operation', 'Read', '--topic', 'orders', '--force');
  t.equal(exact.code, 0, describe(exact));
  t.equal(
    exact.out,
    ['Removed ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:', '\t(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)', '', ''].join('\n'),
    'with a principal and an operation: exactly that ACL',
  );
  const again = await acls('remove', '--allow-principal', 'User:bob', '--operation', 'Read', '--topic', 'orders', '--force');
  t.equal(again.code, 0, 'removing it again is no error');
  t.equal(again.out, 'No ACLs matched, none removed.\n');
  const mallory = await acls('remove', '--deny-principal', 'User:mallory', '--deny-host', '10.0.0.2', '--topic', 'orders', '--group', 'billing', '--force', '--json');
  t.same(json(mallory), [
    resource('TOPIC', 'orders', 'LITERAL', [['User:mallory', '10.0.0.2', 'ALL', 'DENY']]),
    resource('GROUP', 'billing', 'LITERAL', [['User:mallory', '10.0.0.2', 'ALL', 'DENY']]),
  ], 'a DENY on one host, from two resources');
  t.same(await listed('--topic', 'orders'), [
    resource('TOPIC', 'orders', 'LITERAL', [
      ['User:alice', '*', 'READ', 'ALLOW'],
      ['User:alice', '*', 'DESCRIBE', 'ALLOW'],
      ['User:bob', '*', 'DESCRIBE', 'ALLOW'],
      ['User:mallory', '10.0.0.1', 'ALL', 'DENY'],
    ]),
  ], 'the others remain');
  const whole = await acls('remove', '--topic', 'orders', '--group', 'billing', '--cluster', '--force');
  t.equal(whole.code, 0, describe(whole));
  t.match(whole.out, /^Removed ACLs for resource `ResourcePattern\(resourceType=TOPIC, name=orders, patternType=LITERAL\)`:\n(\t.*\n){4}\n/m, 'without a principal: every ACL of the resource');
  t.same(await listed(), [], 'none left');
});

t.test('prefixed patterns, and list\'s and remove\'s pattern filters', async (t) => {
  t.teardown(removeAll);
  for (const args of [
    ['--allow-principal', 'User:alice', '--operation', 'Write', '--topic', 'sales-', '--resource-pattern-type', 'PREFIXED'],
    ['--allow-principal', 'User:alice', '--operation', 'Read', '--topic', 'sales-eu'],
    ['--allow-principal', 'User:carol', '--operation', 'Describe', '--topic', '*'],
    ['--allow-principal', 'User:carol', '--operation', 'Read', '--topic', 'sales-eu', '--resource-pattern-type', 'prefixed'],
    ['--allow-principal', 'User:dave', '--operation', 'Read', '--topic', 'other'],
  ]) {
    const result = await acls('add', ...args);
    t.equal(result.code, 0, `add ${args.join(' ')}: ${describe(result)}`);
  }
  const prefixed = await acls('list', '--topic', 'sales-', '--resource-pattern-type', 'prefixed');
  t.equal(
    prefixed.out,
    ['Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=sales-, patternType=PREFIXED)`:', '\t(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)', '', ''].join('\n'),
    'prefixed: the prefixed pattern of exactly that name',
  );
  t.same(await listed('--topic', 'sales-'), [], 'literal (the default): no literal ACL of "sales-"');
  t.same(await listed('--topic', 'sales-eu', '--resource-pattern-type', 'any'), [
    resource('TOPIC', 'sales-eu', 'LITERAL', [['User:alice', '*', 'READ', 'ALLOW']]),
    resource('TOPIC', 'sales-eu', 'PREFIXED', [['User:carol', '*', 'READ', 'ALLOW']]),
  ], 'any: every pattern type of exactly that name');
  t.same(await listed('--topic', 'sales-eu', '--resource-pattern-type', 'match'), [
    resource('TOPIC', '*', 'LITERAL', [['User:carol', '*', 'DESCRIBE', 'ALLOW']]),
    resource('TOPIC', 'sales-eu', 'LITERAL', [['User:alice', '*', 'READ', 'ALLOW']]),
    resource('TOPIC', 'sales-', 'PREFIXED', [['User:alice', '*', 'WRITE', 'ALLOW']]),
    resource('TOPIC', 'sales-eu', 'PREFIXED', [['User:carol', '*', 'READ', 'ALLOW']]),
  ], 'match: every ACL that applies to a topic of that name (the wildcard, the literal, the prefixes)');

  const anyRemoved = await acls('remove', '--topic', 'sales-eu', '--resource-pattern-type', 'any', '--force', '--json');
  t.equal(anyRemoved.code, 0, describe(anyRemoved));
  t.same(json(anyRemoved), [
    resource('TOPIC', 'sales-eu', 'LITERAL', [['User:alice', '*', 'READ', 'ALLOW']]),
    resource('TOPIC', 'sales-eu', 'PREFIXED', [['User:carol', '*', 'READ', 'ALLOW']]),
  ], 'remove with any: both patterns named sales-eu');
  const prefixRemoved = await acls('remove', '--allow-principal', 'User:alice', '--operation', 'WRITE', '--topic', 'sales-', '--resource-pattern-type', 'prefixed', '--force', '--json');
  t.same(json(prefixRemoved), [resource('TOPIC', 'sales-', 'PREFIXED', [['User:alice', '*', 'WRITE', 'ALLOW']])], 'remove a prefixed ACL');
  t.same(await listed(), [
    resource('TOPIC', '*', 'LITERAL', [['User:carol', '*', 'DESCRIBE', 'ALLOW']]),
    resource('TOPIC', 'other', 'LITERAL', [['User:dave', '*', 'READ', 'ALLOW']]),
  ], 'the others remain');
});

t.test('--producer and --consumer make exactly Kafka\'s bindings', async (t) => {
  t.teardown(removeAll);
  const producer = await acls('add', '--producer', '--allow-principal', 'User:pat', '--topic', 'events', '--json');
  t.equal(producer.code, 0, describe(producer));
  t.same(json(producer), [resource('TOPIC', 'events', 'LITERAL', [['User:pat', '*', 'WRITE', 'ALLOW'], ['User:pat', '*', 'CREATE', 'ALLOW'], ['User:pat', '*', 'DESCRIBE', 'ALLOW']])], 'WRITE, DESCRIBE and CREATE on the topic, nothing on the cluster');
  const transactional = await acls('add', '--producer', '--idempotent', '--allow-principal', 'User:tess', '--allow-host', '127.0.0.1', '--topic', 'ledger-', '--transactional-id', 'ledger-tx', '--resource-pattern-type', 'prefixed', '--json');
  t.equal(transactional.code, 0, describe(transactional));
  t.same(json(transactional), [
    resource('TOPIC', 'ledger-', 'PREFIXED', [['User:tess', '127.0.0.1', 'WRITE', 'ALLOW'], ['User:tess', '127.0.0.1', 'CREATE', 'ALLOW'], ['User:tess', '127.0.0.1', 'DESCRIBE', 'ALLOW']]),
    resource('CLUSTER', 'kafka-cluster', 'LITERAL', [['User:tess', '127.0.0.1', 'IDEMPOTENT_WRITE', 'ALLOW']]),
    resource('TRANSACTIONAL_ID', 'ledger-tx', 'PREFIXED', [['User:tess', '127.0.0.1', 'WRITE', 'ALLOW'], ['User:tess', '127.0.0.1', 'DESCRIBE', 'ALLOW']]),
  ], 'with --idempotent IDEMPOTENT_WRITE on the (literal) cluster, WRITE and DESCRIBE on the transactional id');
  const consumer = await acls('add', '--consumer', '--allow-principal', 'User:cody', '--topic', 'events', '--topic', 'audit', '--group', 'readers', '--json');
  t.equal(consumer.code, 0, describe(consumer));
  t.same(json(consumer), [
    resource('TOPIC', 'audit', 'LITERAL', [['User:cody', '*', 'READ', 'ALLOW'], ['User:cody', '*', 'DESCRIBE', 'ALLOW']]),
    resource('TOPIC', 'events', 'LITERAL', [['User:cody', '*', 'READ', 'ALLOW'], ['User:cody', '*', 'DESCRIBE', 'ALLOW']]),
    resource('GROUP', 'readers', 'LITERAL', [['User:cody', '*', 'READ', 'ALLOW']]),
  ], 'READ and DESCRIBE on each topic, READ on the group');
  const both = await acls('add', '--producer', '--consumer', '--allow-principal', 'User:bo', '--topic', 'relay', '--group', 'relayers', '--json');
  t.equal(both.code, 0, describe(both));
  t.same(json(both), [
    resource('TOPIC', 'relay', 'LITERAL', [['User:bo', '*', 'READ', 'ALLOW'], ['User:bo', '*', 'WRITE', 'ALLOW'], ['User:bo', '*', 'CREATE', 'ALLOW'], ['User:bo', '*', 'DESCRIBE', 'ALLOW']]),
    resource('GROUP', 'relayers', 'LITERAL', [['User:bo', '*', 'READ', 'ALLOW']]),
  ], '--producer and --consumer together: the union on the topic');

  const removeConsumer = await acls('remove', '--consumer', '--allow-principal', 'User:cody', '--topic', 'events', '--topic', 'audit', '--group', 'readers', '--force', '--json');
  t.equal(removeConsumer.code, 0, describe(removeConsumer));
  t.same(json(removeConsumer), json(consumer), 'remove --consumer removes exactly what add --consumer added');
  t.same(await listed('--principal', 'User:cody'), [], 'cody has none left');
  t.same(await listed('--topic', 'events'), [resource('TOPIC', 'events', 'LITERAL', [['User:pat', '*', 'WRITE', 'ALLOW'], ['User:pat', '*', 'CREATE', 'ALLOW'], ['User:pat', '*', 'DESCRIBE', 'ALLOW']])], 'pat\'s remain');
});

t.test('usage errors exit 2 with Kafka\'s messages', async (t) => {
  for (const [what, args, message] of [
    ['--consumer without --group', ['add', '--consumer', '--allow-principal', 'User:a', '--topic', 't'], /With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified\./],
    ['--consumer with --cluster', ['add', '--consumer', '--allow-principal', 'User:a', '--topic', 't', '--group', 'g', '--cluster'], /With --consumer you must specify/],
    ['--producer without --topic', ['add', '--producer', '--allow-principal', 'User:a', '--group', 'g'], /With --producer you must specify a --topic/],
    ['--idempotent without --producer', ['add', '--idempotent', '--allow-principal', 'User:a', '--topic', 't'], /The --idempotent option is only available if --producer is set/],
    ['--producer with --operation', ['add', '--producer', '--operation', 'Read', '--allow-principal', 'User:a', '--topic', 't'], /Option "\[producer\]" can't be used with option "\[operation\]"/],
    ['--consumer with --deny-principal', ['remove', '--consumer', '--deny-principal', 'User:a', '--topic', 't', '--group', 'g', '--force'], /Option "\[consumer\]" can't be used with option "\[deny-principal\]"/],
    ['Write on a group', ['add', '--allow-principal', 'User:a', '--group', 'g', '--operation', 'Write'], /ResourceType GROUP only supports operations \[READ, DESCRIBE, DELETE, ALL\]/],
    ['Read on the cluster', ['add', '--allow-principal', 'User:a', '--cluster', '--operation', 'Read'], /ResourceType CLUSTER only supports operations \[CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALTER, DESCRIBE, ALL\]/],
    ['IdempotentWrite on a topic', ['add', '--allow-principal', 'User:a', '--topic', 't', '--operation', 'IdempotentWrite'], /ResourceType TOPIC only supports operations \[READ, WRITE, CREATE, DESCRIBE, DELETE, ALTER, DESCRIBE_CONFIGS, ALTER_CONFIGS, ALL\]/],
    ['Read on a transactional id', ['add', '--allow-principal', 'User:a', '--transactional-id', 'x', '--operation', 'Read'], /ResourceType TRANSACTIONAL_ID only supports operations \[DESCRIBE, WRITE, ALL\]/],
    ['Write on a delegation token', ['remove', '--allow-principal', 'User:a', '--delegation-token', 'x', '--operation', 'Write', '--force'], /ResourceType DELEGATION_TOKEN only supports operations \[DESCRIBE, ALL\]/],
    ['an unknown operation', ['add', '--allow-principal', 'User:a', '--topic', 't', '--operation', 'Fly'], /unknown --operation "Fly"; Kafka's operations are Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All/],
    ['match when adding', ['add', '--allow-principal', 'User:a', '--topic', 't', '--resource-pattern-type', 'match'], /A '--resource-pattern-type' value of 'MATCH' is not valid when adding acls\./],
    ['any when adding', ['add', '--allow-principal', 'User:a', '--topic', 't', '--resource-pattern-type', 'any'], /value of 'ANY' is not valid when adding acls/],
    ['an unknown pattern type', ['list', '--topic', 't', '--resource-pattern-type', 'glob'], /Unknown resource-pattern-type: glob/],
    ['add without a principal', ['add', '--topic', 't', '--operation', 'Read'], /You must specify one of: --allow-principal, --deny-principal when trying to add ACLs\./],
    ['add without a resource', ['add', '--allow-principal', 'User:a'], /You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>/],
    ['remove without a resource', ['remove', '--force'], /You must provide at least one resource/],
    ['a principal without a type', ['add', '--allow-principal', 'alice', '--topic', 't'], /--allow-principal: expected a string in format principalType:principalName but got alice/],
    ['--principal on add', ['add', '--principal', 'User:a', '--topic', 't'], /unknown option --principal/],
    ['--allow-principal on list', ['list', '--allow-principal', 'User:a'], /unknown option --allow-principal/],
    ['--cluster with prefixed', ['add', '--allow-principal', 'User:a', '--cluster', '--resource-pattern-type', 'prefixed'], /--cluster cannot be used with --resource-pattern-type prefixed/],
    ['remove without --force and without a terminal', ['remove', '--topic', 't'], /acls remove asks for confirmation and stdin is not a terminal; give --force/],
    ['a positional argument', ['list', 'orders'], /unexpected argument "orders"/],
  ] as const) {
    const result = await acls(...args);
    t.equal(result.code, 2, `${what}: exit 2 (${describe(result)})`);
    t.match(result.stderr, message, what);
    t.equal(result.out, '', `${what}: nothing on stdout`);
  }
  t.same(await listed(), [], 'nothing was added or removed');
  const help = await acls('add', '--help');
  t.equal(help.code, 0);
  t.match(help.out, /--resource-pattern-type literal\|prefixed/);
});

t.test('remove asks on a terminal, for each resource filter', { skip: existsSync('/usr/bin/script') ? false : 'no util-linux script to give the CLI a terminal' }, async (t) => {
  t.teardown(removeAll);
  const added = await acls('add', '--allow-principal', 'User:a', '--topic', 'kept', '--topic', 'dropped');
  t.equal(added.code, 0, describe(added));
  const [command, args] = plainNode([cliMain, '--bootstrap-server', admin, 'acls', 'remove', '--topic', 'kept', '--topic', 'dropped']);
  const quoted = [command, ...args].map((word) => `'${word.replace(/'/g, "'\\''")}'`).join(' ');
  // Answers typed ahead: y for the first question (dropped, sorted first), n for the second.
  const asked = await run('script', ['-qec', quoted, '/dev/null'], { input: 'y\nn\n', timeoutMs: 30_000 });
  const out = asked.stdout.toString();
  t.equal(asked.code, 0, `exit 0 (${out.slice(-300)})`);
  t.match(out, /Are you sure you want to delete all ACLs for resource filter `ResourcePatternFilter\(resourceType=TOPIC, name=dropped, patternType=LITERAL\)`\? \(y\/n\)/, 'Kafka\'s question');
  t.match(out, /Removed ACLs for resource `ResourcePattern\(resourceType=TOPIC, name=dropped, patternType=LITERAL\)`:/, 'what was answered y is removed');
  t.same(await listed(), [resource('TOPIC', 'kept', 'LITERAL', [['User:a', '*', 'ALL', 'ALLOW']])], 'what was answered n is kept');
});

t.test('the broker\'s errors keep their names, exit 1', async (t) => {
  const open = await BrokerProcess.start(t);
  for (const args of [['list'], ['add', '--allow-principal', 'User:a', '--topic', 't'], ['remove', '--topic', 't', '--force']]) {
    const result = await spate(open.bootstrap, ['acls', ...args]);
    t.equal(result.code, 1, `acls ${args[0]} on a broker without an authorizer: exit 1 (${describe(result)})`);
    t.match(result.stderr, /^error: SECURITY_DISABLED: /m, 'SECURITY_DISABLED');
  }

  const created = await spate(admin, ['users', 'create', 'eve', '--password', 'eve-secret', '--mechanism', 'SCRAM-SHA-256']);
  t.equal(created.code, 0, describe(created));
  const eve = loginAs('eve', 'eve-secret');
  for (const args of [['list'], ['add', '--allow-principal', 'User:eve', '--operation', 'All', '--cluster'], ['remove', '--cluster', '--force']]) {
    const result = await spate(sasl, ['acls', ...args, '--command-config', eve]);
    t.equal(result.code, 1, `acls ${args[0]} as eve, no super user: exit 1 (${describe(result)})`);
    t.match(result.stderr, /^error: CLUSTER_AUTHORIZATION_FAILED: /m, 'CLUSTER_AUTHORIZATION_FAILED');
  }
  const invalid = await acls('add', '--allow-principal', 'User:a', '--topic', '');
  t.equal(invalid.code, 1, `an empty topic name, refused by the broker: exit 1 (${describe(invalid)})`);
  t.match(invalid.stderr, /^error: INVALID_REQUEST: /m, 'INVALID_REQUEST');
  t.same(await listed(), [], 'nothing was added');
});

t.test('an ACL added by the CLI lets a SCRAM user produce and consume', async (t) => {
  t.teardown(removeAll);
  const created = await spate(admin, ['users', 'create', 'frank', '--password', 'frank-secret']);
  t.equal(created.code, 0, describe(created));
  const topic = await spate(admin, ['topics', 'create', 'payments']);
  t.equal(topic.code, 0, describe(topic));
  const frank = loginAs('frank', 'frank-secret');
  const produce = () => spate(sasl, ['produce', 'payments', '--command-config', frank], { input: 'one\ntwo\n' });
  const consume = () => spate(sasl, ['consume', 'payments', '--from-beginning', '--max-messages', '2', '--timeout-ms', '5000', '--command-config', frank]);

  const refused = await produce();
  t.equal(refused.code, 1, `before: frank may not produce (${describe(refused)})`);
  t.match(refused.stderr, /TOPIC_AUTHORIZATION_FAILED/, 'TOPIC_AUTHORIZATION_FAILED');
  const unread = await consume();
  t.not(unread.code, 0, `before: frank may not consume (${describe(unread)})`);
  t.match(unread.stderr, /TOPIC_AUTHORIZATION_FAILED/);

  const producer = await acls('add', '--producer', '--allow-principal', 'User:frank', '--topic', 'pay', '--resource-pattern-type', 'prefixed');
  t.equal(producer.code, 0, describe(producer));
  const produced = await produce();
  t.equal(produced.code, 0, `with --producer on the prefix: frank produces (${describe(produced)})`);
  const stillUnread = await consume();
  t.not(stillUnread.code, 0, 'WRITE gives no READ');

  const reader = await acls('add', '--allow-principal', 'User:frank', '--operation', 'Read', '--topic', 'payments');
  t.equal(reader.code, 0, describe(reader));
  const consumed = await consume();
  t.equal(consumed.code, 0, `with READ: frank consumes (${describe(consumed)})`);
  t.equal(consumed.out, 'one\ntwo\n', 'what he produced');

  const removed = await acls('remove', '--producer', '--allow-principal', 'User:frank', '--topic', 'payments', '--resource-pattern-type', 'match', '--force', '--json');
  t.equal(removed.code, 0, describe(removed));
  t.same(json(removed), [resource('TOPIC', 'pay', 'PREFIXED', [['User:frank', '*', 'WRITE', 'ALLOW'], ['User:frank', '*', 'CREATE', 'ALLOW'], ['User:frank', '*', 'DESCRIBE', 'ALLOW']])], 'remove --producer with match: the prefixed ACLs that applied to "payments"');
  const refusedAgain = await produce();
  t.equal(refusedAgain.code, 1, 'after `acls remove`: refused again');
  t.match(refusedAgain.stderr, /TOPIC_AUTHORIZATION_FAILED/);
});
