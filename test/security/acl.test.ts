// Kafka's ACL decisions (src/security/acl.ts), case by case as Kafka's AclAuthorizer makes them:
// literal, wildcard and prefixed patterns; principal and host wildcards; DENY winning over any
// ALLOW, but only for its own operation or ALL; the implied operations (DESCRIBE from
// READ/WRITE/DELETE/ALTER, DESCRIBE_CONFIGS from ALTER_CONFIGS) for ALLOW only; super users;
// allow.everyone.if.no.acl.found; filters with ANY and MATCH; what a creation may not name;
// and decisions forgotten when the ACLs change.

import t from 'tap';
import { AclIndex, AclOperation as Op, AclPermission, bindingProblem, filterMatches, PatternType, ResourceType, type AclBinding, type AclFilter } from '../../src/security/acl.js';

const ALLOW = AclPermission.ALLOW;
const DENY = AclPermission.DENY;

function acl(resourceName: string, operation: number, permission: number = ALLOW, options: Partial<AclBinding> = {}): AclBinding {
  return { resourceType: ResourceType.TOPIC, resourceName, patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation, permission, ...options };
}

function index(bindings: AclBinding[], settings: { superUsers?: string[]; allowEveryoneIfNoAclFound?: boolean } = {}): AclIndex {
  const made = new AclIndex({ superUsers: new Set(settings.superUsers ?? []), allowEveryoneIfNoAclFound: settings.allowEveryoneIfNoAclFound ?? false });
  for (const binding of bindings) made.add(binding);
  return made;
}

const can = (acls: AclIndex, operation: number, name: string, principal = 'User:alice', host = '10.0.0.1', type: number = ResourceType.TOPIC) => acls.authorize(principal, host, operation, type, name);

t.test('literal, wildcard and prefixed patterns', async (t) => {
  const acls = index([acl('orders', Op.READ), acl('*', Op.WRITE, ALLOW, { principal: 'User:bob' }), acl('acme.', Op.READ, ALLOW, { patternType: PatternType.PREFIXED })]);
  t.ok(can(acls, Op.READ, 'orders'), 'a literal ACL for the name');
  t.notOk(can(acls, Op.READ, 'orders2'), 'a literal ACL is not a prefix');
  t.ok(can(acls, Op.WRITE, 'anything', 'User:bob'), 'the literal wildcard "*" matches every name');
  t.ok(can(acls, Op.READ, 'acme.sales'), 'a prefixed ACL matches names that start with it');
  t.notOk(can(acls, Op.READ, 'acme'), 'but not a shorter name');
  t.notOk(can(acls, Op.READ, 'xacme.sales'), 'nor a name that merely contains it');
  t.notOk(can(acls, Op.READ, 'orders', 'User:alice', '10.0.0.1', ResourceType.GROUP), 'another resource type has no ACLs: denied');
});

t.test('principals and hosts', async (t) => {
  const acls = index([acl('t', Op.READ, ALLOW, { host: '10.0.0.1' }), acl('u', Op.READ, ALLOW, { principal: 'User:*' })]);
  t.ok(can(acls, Op.READ, 't', 'User:alice', '10.0.0.1'), 'from the host named');
  t.notOk(can(acls, Op.READ, 't', 'User:alice', '10.0.0.2'), 'not from another host');
  t.notOk(can(acls, Op.READ, 't', 'User:bob', '10.0.0.1'), 'not for another principal');
  t.ok(can(acls, Op.READ, 'u', 'User:carol'), 'User:* is every principal');
});

t.test('DENY wins, for its own operation or ALL', async (t) => {
  const acls = index([
    acl('t', Op.ALL),
    acl('t', Op.WRITE, DENY),
    acl('p.', Op.READ, ALLOW, { patternType: PatternType.PREFIXED }),
    acl('p.secret', Op.READ, DENY),
    acl('*', Op.ALL, DENY, { principal: 'User:mallory' }),
    acl('*', Op.READ, ALLOW, { principal: 'User:mallory' }),
  ]);
  t.ok(can(acls, Op.READ, 't'), 'ALLOW ALL allows READ');
  t.notOk(can(acls, Op.WRITE, 't'), 'a DENY WRITE beats ALLOW ALL for WRITE');
  t.ok(can(acls, Op.DESCRIBE, 't'), 'a DENY of WRITE does not deny DESCRIBE (no implied operations for DENY)');
  t.ok(can(acls, Op.READ, 'p.public'), 'a prefixed ALLOW');
  t.notOk(can(acls, Op.READ, 'p.secret'), 'a literal DENY inside it wins');
  t.notOk(can(acls, Op.READ, 'anything', 'User:mallory'), 'DENY ALL on "*" beats an ALLOW READ on "*"');
});

t.test('implied operations, for ALLOW', async (t) => {
  for (const operation of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) {
    t.ok(can(index([acl('t', operation)]), Op.DESCRIBE, 't'), `ALLOW ${operation} implies DESCRIBE`);
  }
  t.notOk(can(index([acl('t', Op.CREATE)]), Op.DESCRIBE, 't'), 'CREATE does not imply DESCRIBE');
  t.ok(can(index([acl('t', Op.ALTER_CONFIGS)]), Op.DESCRIBE_CONFIGS, 't'), 'ALTER_CONFIGS implies DESCRIBE_CONFIGS');
  t.notOk(can(index([acl('t', Op.DESCRIBE)]), Op.READ, 't'), 'DESCRIBE does not imply READ');
  t.notOk(can(index([acl('t', Op.READ)]), Op.WRITE, 't'), 'READ does not imply WRITE');
});

t.test('super users, and no ACL at all', async (t) => {
  const acls = index([acl('t', Op.READ, DENY, { principal: 'User:admin' })], { superUsers: ['User:admin'] });
  t.ok(can(acls, Op.WRITE, 't', 'User:admin'), 'a super user may do anything, a DENY notwithstanding');
  t.notOk(can(index([]), Op.READ, 't'), 'no ACL for the resource: denied by default');
  t.ok(can(index([], { allowEveryoneIfNoAclFound: true }), Op.READ, 't'), 'allowed with allow.everyone.if.no.acl.found');
  t.notOk(can(index([acl('t', Op.READ, ALLOW, { principal: 'User:bob' })], { allowEveryoneIfNoAclFound: true }), Op.READ, 't'), 'but any ACL for the resource turns that off for it');
});

t.test('decisions follow changes to the ACLs', async (t) => {
  const acls = index([]);
  t.notOk(can(acls, Op.READ, 't'));
  const binding = acl('t', Op.READ);
  t.ok(acls.add(binding), 'added');
  t.notOk(acls.add({ ...binding }), 'an equal binding is not added twice');
  t.ok(can(acls, Op.READ, 't'), 'allowed once added');
  t.ok(acls.remove({ ...binding }), 'removed');
  t.notOk(can(acls, Op.READ, 't'), 'denied again once removed');
  t.equal(acls.size, 0);
});

t.test('filters: ANY, MATCH, LITERAL, PREFIXED, nulls', async (t) => {
  const literal = acl('acme.orders', Op.READ);
  const wildcard = acl('*', Op.READ);
  const prefixed = acl('acme.', Op.WRITE, DENY, { patternType: PatternType.PREFIXED });
  const filter = (overrides: Partial<AclFilter>): AclFilter => ({ resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: Op.ANY, permission: AclPermission.ANY, ...overrides });
  const selected = (f: AclFilter) => [literal, wildcard, prefixed].filter((binding) => filterMatches(f, binding)).map((binding) => binding.resourceName);
  t.same(selected(filter({})), ['acme.orders', '*', 'acme.'], 'everything');
  t.same(selected(filter({ resourceName: 'acme.orders' })), ['acme.orders'], 'ANY with a name: that exact name, either pattern type');
  t.same(selected(filter({ resourceName: 'acme.orders', patternType: PatternType.MATCH })), ['acme.orders', '*', 'acme.'], 'MATCH: every pattern that would match the name');
  t.same(selected(filter({ patternType: PatternType.PREFIXED })), ['acme.'], 'PREFIXED with no name: every prefixed pattern');
  t.same(selected(filter({ resourceName: 'acme.', patternType: PatternType.LITERAL })), [], 'LITERAL acme. is not the prefixed acme.');
  t.same(selected(filter({ permission: DENY })), ['acme.'], 'by permission');
  t.same(selected(filter({ operation: Op.READ, principal: 'User:alice' })), ['acme.orders', '*'], 'by operation and principal');
  t.same(selected(filter({ resourceType: ResourceType.GROUP })), [], 'by resource type');
});

t.test('what a creation may not name', async (t) => {
  const good = acl('t', Op.READ);
  t.equal(bindingProblem(good), null);
  for (const [what, bad] of [
    ['resource type ANY', { resourceType: ResourceType.ANY }],
    ['pattern type MATCH', { patternType: PatternType.MATCH }],
    ['pattern type ANY', { patternType: PatternType.ANY }],
    ['operation ANY', { operation: Op.ANY }],
    ['permission ANY', { permission: AclPermission.ANY }],
    ['a principal without a type', { principal: 'alice' }],
    ['an empty host', { host: '' }],
    ['an empty name', { resourceName: '' }],
    ['a cluster not named kafka-cluster', { resourceType: ResourceType.CLUSTER, resourceName: 'mine' }],
    ['a prefixed wildcard', { patternType: PatternType.PREFIXED, resourceName: '*' }],
    ['an unknown operation', { operation: 99 }],
  ] as const) {
    t.type(bindingProblem({ ...good, ...bad }), 'string', what);
  }
  t.equal(bindingProblem({ ...good, resourceType: ResourceType.CLUSTER, resourceName: 'kafka-cluster', operation: Op.ALTER }), null, 'the cluster, by its name');
});

t.test('authorizeByResourceType: an ALLOW on some resource of the type, unless a DENY dominates it (Kafka\'s default Authorizer)', async (t) => {
  const any = (acls: AclIndex, principal = 'User:alice', operation: number = Op.WRITE) => acls.authorizeByResourceType(principal, '10.0.0.1', operation, ResourceType.TOPIC);
  t.notOk(any(index([])), 'no ACLs and allow.everyone.if.no.acl.found off: denied');
  t.ok(any(index([], { allowEveryoneIfNoAclFound: true })), 'no ACLs and allow.everyone.if.no.acl.found on: allowed');
  t.ok(any(index([], { superUsers: ['User:alice'] })), 'a super user');
  t.ok(any(index([acl('orders', Op.WRITE)])), 'a literal ALLOW on one topic');
  t.ok(any(index([acl('orders', Op.ALL)])), 'ALL counts');
  t.notOk(any(index([acl('orders', Op.READ)])), 'another operation does not');
  t.notOk(any(index([acl('orders', Op.WRITE)]), 'User:bob'), 'another principal\'s ALLOW does not');
  t.ok(any(index([acl('orders', Op.WRITE, ALLOW, { principal: 'User:*' })])), 'User:* counts');
  t.notOk(any(index([acl('orders', Op.WRITE, ALLOW, { resourceType: ResourceType.GROUP })])), 'another resource type does not');
  t.notOk(any(index([acl('orders', Op.WRITE), acl('orders', Op.WRITE, DENY)])), 'a literal DENY of the same name dominates');
  t.notOk(any(index([acl('orders', Op.WRITE), acl('ord', Op.WRITE, DENY, { patternType: PatternType.PREFIXED })])), 'a DENY prefixing it dominates');
  t.ok(any(index([acl('orders', Op.WRITE), acl('payments', Op.WRITE, DENY)])), 'a DENY elsewhere does not');
  t.ok(any(index([acl('acme.', Op.WRITE, ALLOW, { patternType: PatternType.PREFIXED }), acl('acme.x', Op.WRITE, DENY)])), 'a literal DENY inside a prefixed ALLOW leaves other names allowed');
  t.notOk(any(index([acl('orders', Op.WRITE), acl('*', Op.WRITE, DENY)])), 'a DENY of "*" denies');
  t.ok(any(index([acl('*', Op.WRITE), acl('orders', Op.WRITE, DENY)])), 'an ALLOW of "*" allows');
});
