// The ACLs of a cluster, in ZooKeeper as Kafka's ZooKeeper-mode AclAuthorizer keeps them, so
// ACLs made through any broker — or by Kafka's own tools against the same ZooKeeper — apply on
// every broker, and the other way round (zk/znodes.ts has the formats):
//
// - one znode per resource pattern: `/kafka-acl/<ResourceType>/<name>` for LITERAL,
//   `/kafka-acl-extended/prefixed/<ResourceType>/<name>` for PREFIXED, its data
//   `{"version":1,"acls":[…]}`; a pattern with no ACLs left has no znode;
// - every change announced by a persistent sequential `acl_changes_` under
//   `/kafka-acl-changes` (LITERAL) or `/kafka-acl-extended-changes` (PREFIXED) naming the
//   pattern.
//
// Writes are Kafka's updateResourceAcls: the new entries are computed from the entries as
// known (read from ZooKeeper when not), written at the znode version they were read at
// (created when there was none, deleted when none are left), and on a conflict with another
// broker read again and retried (at most limits.aclUpdateRetriesMax times, 100-150 ms apart);
// then the notification. Every broker watches both change paths and re-reads the pattern a
// notification names (the notification says which, not what), so the broker that wrote it
// reads its own change again too, harmlessly. Notifications older than 15 minutes are
// deleted by whichever broker reads them (zk/notification-listener.ts, Kafka's
// ZkNodeChangeNotificationListener), at most limits.changeNotificationsPurgedPerReadMax per read.
//
// Startup (before the listeners accept): the paths Kafka creates (createAclPaths), the
// watches (the notifications already there are taken as read), then every pattern read — in
// that order, as Kafka's AclAuthorizer, so a change made in between is read twice, not missed.
// At most limits.aclsMax ACLs are read. After a session is renewed the watches are set again
// and everything is read again, since notifications may have come and gone meanwhile.
//
// Reads and writes of the store run one at a time, so a re-read never lands after, and
// undoes, a newer write of this broker.

import { setTimeout as sleep } from 'node:timers/promises';
import { limits } from '../config/limits.js';
import type { StoredAclEntry, StoredAclResource } from '../controller/metadata-store.js';
import type { Logger } from '../logger.js';
import type { AclStore } from '../security/authorizer.js';
import { forEachBounded } from './bounded.js';
import { ZkNotificationListener } from './zk/notification-listener.js';
import { ZkError, type ZkClient } from './zk/zk-client.js';
import {
  ACL_RESOURCE_TYPE_CODES,
  AclChangeZnode,
  aclChangePath,
  aclResourceNameProblem,
  aclResourcePath,
  aclResourceTypeName,
  aclResourceTypeOf,
  aclRootPath,
  AclZnode,
  ZnodeFormatError,
  type AclZnodeContent,
} from './zk/znodes.js';

const LITERAL = 3;
const PREFIXED = 4;

/** Kafka's AclAuthorizer retryBackoffMs and retryBackoffJitterMs. */
const RETRY_BACKOFF_MS = 100;
const RETRY_JITTER_MS = 50;

/** A pattern as last read or written: its entries, entries this version cannot read (kept on rewrite), and the znode version. */
interface KnownPattern {
  readonly resource: StoredAclResource;
  readonly content: AclZnodeContent;
  /** -1: no znode. */
  readonly version: number;
}

const keyOf = (resource: StoredAclResource): string => `${resource.resourceType}\u0000${resource.patternType}\u0000${resource.name}`;
const sameEntry = (a: StoredAclEntry, b: StoredAclEntry): boolean => a.principal === b.principal && a.host === b.host && a.operation === b.operation && a.permission === b.permission;
const sameEntries = (a: readonly StoredAclEntry[], b: readonly StoredAclEntry[]): boolean => a.length === b.length && a.every((entry) => b.some((other) => sameEntry(entry, other)));
const describe = (resource: StoredAclResource): string => `${resource.patternType === LITERAL ? 'LITERAL' : 'PREFIXED'} ${aclResourceTypeName(resource.resourceType)}:${resource.name}`;

export class ZkAclStore implements AclStore {
  private readonly patterns = new Map<string, KnownPattern>();
  /** ACL entries held, over all patterns (bounded by limits.aclsMax). */
  private entryCount = 0;
  private listener: ((resource: StoredAclResource, acls: readonly StoredAclEntry[]) => void) | null = null;
  private watchers: ZkNotificationListener[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private overLimitLogged = false;

  private constructor(
    private readonly zk: () => ZkClient,
    private readonly logger: Logger,
  ) {}

  /** Creates Kafka's ACL paths, watches the change paths and reads every ACL (startup, before the listeners accept). */
  static async load(zk: () => ZkClient, logger: Logger): Promise<ZkAclStore> {
    const store = new ZkAclStore(zk, logger.child('acls'));
    const session = zk();
    for (const patternType of [LITERAL, PREFIXED]) {
      for (const resourceType of ACL_RESOURCE_TYPE_CODES) await session.createPersistentPath(`${aclRootPath(patternType)}/${aclResourceTypeName(resourceType)}`);
      await session.createPersistentPath(aclChangePath(patternType));
    }
    await store.watch(session);
    await store.serially(() => store.readAll());
    return store;
  }

  /** After a session renewal: the watches on the new session, and everything read again (notifications may have been missed). */
  async rewatch(zk: ZkClient): Promise<void> {
    await this.watch(zk);
    await this.serially(() => this.readAll());
  }

  /** Stops watching; nothing is pushed to the listener once this resolves. */
  async close(): Promise<void> {
    const watchers = this.watchers;
    this.watchers = [];
    await Promise.all(watchers.map((watcher) => watcher.close()));
    this.listener = null;
  }

  acls(): Iterable<{ readonly resource: StoredAclResource; readonly acls: readonly StoredAclEntry[] }> {
    return [...this.patterns.values()].map((known) => ({ resource: known.resource, acls: known.content.entries }));
  }

  onChange(listener: (resource: StoredAclResource, acls: readonly StoredAclEntry[]) => void): void {
    this.listener = listener;
  }

  resourceProblem(resource: StoredAclResource): string | null {
    return aclResourceNameProblem(resource.name);
  }

  updateAcls(resource: StoredAclResource, change: (current: readonly StoredAclEntry[]) => readonly StoredAclEntry[]): Promise<readonly StoredAclEntry[]> {
    return this.serially(async () => {
      const path = aclResourcePath(resource.resourceType, resource.patternType, resource.name);
      let known = this.patterns.get(keyOf(resource)) ?? (await this.read(resource));
      for (let retries = 0; ; retries++) {
        if (known === null) throw new Error(`the ACLs of ${describe(resource)} in ${path} cannot be read, so are not changed`);
        const entries = change(known.content.entries);
        if (sameEntries(known.content.entries, entries)) return known.content.entries;
        const content: AclZnodeContent = { entries, unknown: known.content.unknown };
        try {
          const version = await this.write(path, known.version, content);
          this.remember(resource, content, version, true);
          break;
        } catch (error) {
          const conflict = error instanceof ZkError && (error.code === 'BAD_VERSION' || error.code === 'NODE_EXISTS' || error.code === 'NO_NODE');
          if (!conflict || retries >= limits.aclUpdateRetriesMax) throw error;
          await sleep(RETRY_BACKOFF_MS + Math.floor(Math.random() * RETRY_JITTER_MS));
          known = await this.read(resource);
        }
      }
      await this.zk().create(`${aclChangePath(resource.patternType)}/acl_changes_`, AclChangeZnode.encode(resource), 'persistent_sequential');
      return this.patterns.get(keyOf(resource))?.content.entries ?? [];
    });
  }

  /** Writes a pattern's znode at the version read (-1: there was none); its new version, -1 when deleted. */
  private async write(path: string, version: number, content: AclZnodeContent): Promise<number> {
    const zk = this.zk();
    if (content.entries.length === 0 && content.unknown.length === 0) {
      if (version < 0) return -1; // no znode, and none needed
      await zk.remove(path, version); // at the version read: a change by another broker meanwhile is BAD_VERSION, a conflict
      return -1;
    }
    if (version < 0) {
      // Its resource type's folder exists (load created them); another broker creating the pattern meanwhile is NODE_EXISTS, a conflict.
      await zk.create(path, AclZnode.encode(content), 'persistent');
      return 0;
    }
    return (await zk.setData(path, AclZnode.encode(content), version)).version;
  }

  /** A notification named this pattern: its entries as they now stand, pushed to the listener when they changed. */
  refresh(resource: StoredAclResource): Promise<void> {
    return this.serially(async () => {
      const read = await this.read(resource);
      if (read !== null) this.remember(resource, read.content, read.version, false);
    });
  }

  /** A pattern as ZooKeeper has it (version -1 and no entries when it has no znode); null, logged, when its znode is not Kafka's format. */
  private async read(resource: StoredAclResource): Promise<KnownPattern | null> {
    const path = aclResourcePath(resource.resourceType, resource.patternType, resource.name);
    const node = await this.zk().getData(path);
    if (node === null) return { resource, content: { entries: [], unknown: [] }, version: -1 };
    try {
      const content = AclZnode.decode(node.data, path);
      if (content.unknown.length > 0) this.logger.warn(`${path}: ${content.unknown.length} ACL(s) with an operation or permission Spate does not know are ignored (and kept on rewrite)`);
      return { resource, content, version: node.stat.version };
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) throw error;
      this.logger.error(`the ACLs of ${describe(resource)} are not applied: ${error.message}`);
      return null;
    }
  }

  /**
   * Keeps a pattern as read or written and tells the listener when its entries changed. A
   * pattern read (not written here) that would take the store past limits.aclsMax is left
   * out, logged once.
   */
  private remember(resource: StoredAclResource, content: AclZnodeContent, version: number, written: boolean): void {
    const key = keyOf(resource);
    const before = this.patterns.get(key);
    const held = before?.content.entries.length ?? 0;
    if (!written && this.entryCount - held + content.entries.length > limits.aclsMax) {
      if (!this.overLimitLogged) this.logger.warn(`ZooKeeper holds more than ${limits.aclsMax} ACLs (limits.aclsMax); those past it are not applied (first: ${describe(resource)})`);
      this.overLimitLogged = true;
      return;
    }
    this.entryCount += content.entries.length - held;
    if (content.entries.length === 0 && content.unknown.length === 0) this.patterns.delete(key);
    else this.patterns.set(key, { resource, content, version });
    if (!sameEntries(before?.content.entries ?? [], content.entries)) this.listener?.(resource, content.entries);
  }

  /** Every pattern under both roots, read into the store; patterns it held that are gone are dropped. */
  private async readAll(): Promise<void> {
    const zk = this.zk();
    const found: StoredAclResource[] = [];
    for (const patternType of [LITERAL, PREFIXED]) {
      const root = aclRootPath(patternType);
      for (const typeName of (await zk.getChildren(root)) ?? []) {
        const resourceType = aclResourceTypeOf(typeName);
        if (resourceType === null) {
          this.logger.warn(`ignoring ${root}/${typeName}: not a resource type Kafka's ACLs name`);
          continue;
        }
        for (const name of (await zk.getChildren(`${root}/${typeName}`)) ?? []) {
          if (aclResourceNameProblem(name) === null) found.push({ resourceType, patternType, name });
        }
      }
    }
    const seen = new Set(found.map(keyOf));
    for (const known of [...this.patterns.values()]) {
      if (!seen.has(keyOf(known.resource))) this.remember(known.resource, { entries: [], unknown: [] }, -1, false);
    }
    await forEachBounded(found, limits.aclZnodeReadsInFlightMax, async (resource) => {
      const read = await this.read(resource);
      if (read !== null) this.remember(resource, read.content, read.version, false);
    });
    this.logger.info(`${this.entryCount} ACLs on ${this.patterns.size} resource patterns read from ZooKeeper`);
  }

  private async watch(zk: ZkClient): Promise<void> {
    await Promise.all(this.watchers.map((watcher) => watcher.close()));
    this.watchers = [LITERAL, PREFIXED].map((patternType) => aclChangeListener(zk, patternType, (resource) => this.refresh(resource), this.logger));
    await Promise.all(this.watchers.map((watcher) => watcher.start()));
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** The listener of one ACL change path, bound to one session: each notification names a pattern to read again. */
function aclChangeListener(zk: ZkClient, patternType: number, onResource: (resource: StoredAclResource) => Promise<void>, logger: Logger): ZkNotificationListener {
  return new ZkNotificationListener(zk, {
    path: aclChangePath(patternType),
    prefix: 'acl_changes_',
    // What the notifications there announced is read whole at startup (or after a renewal) just after.
    skipExisting: true,
    // Made by load() before the listener starts; gone only if someone removed it.
    watchCreation: false,
    logger,
    apply: async (path, data) => {
      let resource: StoredAclResource;
      try {
        resource = AclChangeZnode.decode(data, path, patternType === LITERAL);
      } catch (error) {
        if (!(error instanceof ZnodeFormatError)) throw error;
        logger.error(`skipping ACL change notification: ${error.message}`);
        return;
      }
      if (aclResourceNameProblem(resource.name) !== null) {
        logger.error(`skipping ACL change notification ${path}: ${aclResourceNameProblem(resource.name)}`);
        return;
      }
      await onResource(resource);
    },
  });
}
