// The change watchers' one watch at a time (config-change-watcher.ts, zk-acls.ts) against an
// in-memory ZooKeeper that delivers a watch in the same tick as the answer of the read that
// set it — as a real server does when a notification is created just after that read and both
// arrive in one packet. The watcher must still hold a watch afterwards: every later
// notification is seen. Also: the ACL store reads every pattern at load, takes in changes
// announced by another writer, and retries a write that met another writer's change.

import t from 'tap';
import { ConfigChangeWatcher } from '../../src/cluster/config-change-watcher.js';
import { ZkAclStore } from '../../src/cluster/zk-acls.js';
import { ZkError, type ZkClient, type ZkStat } from '../../src/cluster/zk/zk-client.js';
import { AclChangeZnode, AclZnode, ConfigChangeZnode, EntityConfigZnode } from '../../src/cluster/zk/znodes.js';
import { createLogger } from '../../src/logger.js';

const logger = createLogger('change-watch-test', process.env['SPATE_LOG_LEVEL'] === undefined ? 'error' : undefined);

interface Node {
  data: Buffer | null;
  version: number;
  ctimeMs: number;
}

/** The few ZooKeeper calls the watchers and the ACL store make, over a map of paths. */
class FakeZk {
  readonly nodes = new Map<string, Node>([['/', { data: null, version: 0, ctimeMs: Date.now() }]]);
  private readonly childWatches = new Map<string, (() => void)[]>();
  private sequence = 0;
  /** When set, the next children read of this path answers, then a child is created and the watch fires before the reader resumes. */
  raceOn: { path: string; create: () => void } | null = null;
  /** Called before each setData (another writer getting in first). */
  beforeSetData: (() => void) | null = null;

  on(): this {
    return this;
  }
  off(): this {
    return this;
  }

  private stat(node: Node): ZkStat {
    return { version: node.version, czxid: 0n, mzxid: 0n, pzxid: 0n, ephemeralOwner: 0n, numChildren: 0, ctimeMs: node.ctimeMs };
  }

  private parent(path: string): string {
    return path.slice(0, path.lastIndexOf('/')) || '/';
  }

  private fire(parent: string): void {
    const watches = this.childWatches.get(parent) ?? [];
    this.childWatches.delete(parent);
    for (const watch of watches) queueMicrotask(watch);
  }

  createNow(path: string, data: Buffer | null, mode: string = 'persistent'): string {
    if (!this.nodes.has(this.parent(path))) throw new ZkError('NO_NODE', `create ${path}`);
    const name = mode === 'persistent_sequential' ? `${path}${String(this.sequence++).padStart(10, '0')}` : path;
    if (this.nodes.has(name)) throw new ZkError('NODE_EXISTS', `create ${name}`);
    this.nodes.set(name, { data, version: 0, ctimeMs: Date.now() });
    this.fire(this.parent(name));
    return name;
  }

  async create(path: string, data: Buffer | null, mode?: string): Promise<string> {
    return this.createNow(path, data, mode);
  }

  async createPersistentPath(path: string): Promise<void> {
    const segments = path.split('/').filter(Boolean);
    for (let index = 1; index <= segments.length; index++) {
      const prefix = `/${segments.slice(0, index).join('/')}`;
      if (!this.nodes.has(prefix)) this.createNow(prefix, null);
    }
  }

  getChildren(path: string, watch?: () => void): Promise<string[] | null> {
    if (!this.nodes.has(path)) return Promise.resolve(null);
    const prefix = path === '/' ? '/' : `${path}/`;
    const children = [...this.nodes.keys()].filter((key) => key.startsWith(prefix) && key !== path && !key.slice(prefix.length).includes('/')).map((key) => key.slice(prefix.length));
    if (watch !== undefined) this.childWatches.set(path, [...(this.childWatches.get(path) ?? []), watch]);
    const answer = Promise.resolve(children);
    if (this.raceOn !== null && this.raceOn.path === path) {
      const race = this.raceOn;
      this.raceOn = null;
      race.create(); // queues the watch now: it runs before the reader's await resumes
    }
    return answer;
  }

  async getData(path: string): Promise<{ data: Buffer | null; stat: ZkStat } | null> {
    const node = this.nodes.get(path);
    return node === undefined ? null : { data: node.data, stat: this.stat(node) };
  }

  async exists(path: string): Promise<ZkStat | null> {
    const node = this.nodes.get(path);
    return node === undefined ? null : this.stat(node);
  }

  async setData(path: string, data: Buffer, version: number): Promise<ZkStat> {
    this.beforeSetData?.();
    const node = this.nodes.get(path);
    if (node === undefined) throw new ZkError('NO_NODE', `setData ${path}`);
    if (version !== -1 && version !== node.version) throw new ZkError('BAD_VERSION', `setData ${path}`);
    node.data = data;
    node.version++;
    return this.stat(node);
  }

  async remove(path: string, version: number): Promise<void> {
    const node = this.nodes.get(path);
    if (node === undefined) throw new ZkError('NO_NODE', `remove ${path}`);
    if (version !== -1 && version !== node.version) throw new ZkError('BAD_VERSION', `remove ${path}`);
    this.nodes.delete(path);
    this.fire(this.parent(path));
  }
}

async function eventually(check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 2000;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  return check();
}

t.test('the config change watcher keeps a watch when it fires in the same tick as the read', async (t) => {
  const zk = new FakeZk();
  await zk.createPersistentPath('/config/changes');
  await zk.createPersistentPath('/config/topics');
  const seen: string[] = [];
  const watcher = new ConfigChangeWatcher(zk as unknown as ZkClient, { onTopicConfigs: (topic) => void seen.push(topic) }, { logger });
  t.teardown(() => watcher.close());
  const announce = (topic: string) => {
    zk.createNow(`/config/topics/${topic}`, EntityConfigZnode.encode({ 'retention.ms': '1' }));
    zk.createNow('/config/changes/config_change_', ConfigChangeZnode.encode(`topics/${topic}`), 'persistent_sequential');
  };
  zk.raceOn = { path: '/config/changes', create: () => announce('a') };
  await watcher.start();
  t.ok(await eventually(() => seen.includes('a')), 'the change that raced the read');
  announce('b');
  t.ok(await eventually(() => seen.includes('b')), 'a later change is still seen: a watch is set');
  announce('c');
  t.ok(await eventually(() => seen.includes('c')), 'and the next');
});

t.test('the ACL store: load, changes by another writer, a raced watch, a conflicting write retried', async (t) => {
  const zk = new FakeZk();
  await zk.createPersistentPath('/kafka-acl/Topic');
  zk.createNow('/kafka-acl/Topic/orders', Buffer.from('{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}'));
  const store = await ZkAclStore.load(() => zk as unknown as ZkClient, logger);
  t.teardown(() => store.close());
  t.same([...store.acls()], [{ resource: { resourceType: 2, patternType: 3, name: 'orders' }, acls: [{ principal: 'User:alice', host: '*', operation: 3, permission: 3 }] }], 'read at load');
  for (const path of ['/kafka-acl/Group', '/kafka-acl-extended/prefixed/TransactionalId', '/kafka-acl-changes', '/kafka-acl-extended-changes']) t.ok(zk.nodes.has(path), `${path} created`);
  const pushed: string[] = [];
  store.onChange((resource, acls) => void pushed.push(`${resource.name}:${acls.length}`));

  // Another writer (another broker, Kafka's tools): a znode, then its notification, racing the watcher's read.
  const other = (name: string) => {
    zk.createNow(`/kafka-acl-extended/prefixed/Topic/${name}`, AclZnode.encode({ entries: [{ principal: 'User:bob', host: '*', operation: 4, permission: 3 }], unknown: [] }));
    zk.createNow('/kafka-acl-extended-changes/acl_changes_', AclChangeZnode.encode({ resourceType: 2, patternType: 4, name }), 'persistent_sequential');
  };
  zk.raceOn = { path: '/kafka-acl-extended-changes', create: () => other('pay-') };
  // A first notification starts a round of the watcher; its read meets the race.
  zk.createNow('/kafka-acl-extended-changes/acl_changes_', AclChangeZnode.encode({ resourceType: 2, patternType: 4, name: 'none' }), 'persistent_sequential');
  t.ok(await eventually(() => pushed.includes('pay-:1')), 'the change that raced the read');
  other('pre-');
  t.ok(await eventually(() => pushed.includes('pre-:1')), 'a later change is still seen');

  // A write that meets another writer's change is read again and retried on top of it.
  let interfered = false;
  zk.beforeSetData = () => {
    if (interfered) return;
    interfered = true;
    const node = zk.nodes.get('/kafka-acl/Topic/orders')!;
    node.data = Buffer.from('{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"},{"principal":"User:carol","permissionType":"Allow","operation":"Read","host":"*"}]}');
    node.version++;
  };
  const stored = await store.updateAcls({ resourceType: 2, patternType: 3, name: 'orders' }, (current) => [...current, { principal: 'User:alice', host: '*', operation: 4, permission: 3 }]);
  t.same(stored.map((entry) => `${entry.principal} ${entry.operation}`), ['User:alice 3', 'User:carol 3', 'User:alice 4'], "carol's ACL, written meanwhile, is kept");
  t.equal(zk.nodes.get('/kafka-acl/Topic/orders')!.version, 2, 'written at the version read again');
  const stillThere = await store.updateAcls({ resourceType: 2, patternType: 3, name: 'orders' }, () => []);
  t.same(stillThere, [], 'every entry removed');
  t.notOk(zk.nodes.has('/kafka-acl/Topic/orders'), 'the znode of a pattern with no ACLs left is deleted');

  // A renewed session: what changed meanwhile, announced or not, is read again.
  zk.nodes.delete('/kafka-acl-extended/prefixed/Topic/pay-');
  zk.createNow('/kafka-acl/Group/g', AclZnode.encode({ entries: [{ principal: 'User:dave', host: '*', operation: 3, permission: 3 }], unknown: [] }));
  await store.rewatch(zk as unknown as ZkClient);
  t.same([...store.acls()].map(({ resource }) => resource.name).sort(), ['g', 'pre-'], 'after rewatch: the pattern gone meanwhile is dropped, the new one read');
  t.ok(pushed.includes('pay-:0') && pushed.includes('g:1'), 'and both pushed to the authorizer');
});
