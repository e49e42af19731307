// The embedded metadata store: the cluster id, the topics with their ids, partitions,
// log directories and config overrides, the dynamic broker configs (KIP-226: the cluster
// default and this broker's), and the producer-id block, in the first log
// directory as a snapshot (spate-metadata.json) and a journal of the changes made since
// (spate-metadata.journal, see metadata-journal.ts).
//
// A change is one journal record of its own size (a new topic's partitions, a config set,
// a removal), fsynced before it is acknowledged; changes that arrive while a write is in
// flight are committed together with one fsync. A change becomes visible to readers only
// once it is durable. When the journal outgrows the snapshot (limits.metadataJournal*),
// the snapshot is rewritten atomically (temp file, fsync, rename) and the journal emptied,
// so rewrites cost a bounded number of bytes per journal byte whatever the topic count.
// Loading reads the snapshot, replays the journal records after the snapshot's sequence,
// and truncates a torn tail. A data directory written before the journal existed (a
// version 1 snapshot, rewritten whole on every change) loads and is migrated on first
// start. All I/O goes through the libuv thread pool, never the main thread.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import { decodeJournal, JournalBrokenError, JournalWriter, syncDirectory } from './metadata-journal.js';

export const METADATA_FILE = 'spate-metadata.json';
export const METADATA_JOURNAL_FILE = 'spate-metadata.journal';
/** 1: the whole state in one file, rewritten per change. 2: a snapshot with a journal beside it. */
const METADATA_VERSION = 2;

/**
 * Kafka's internal topics: the group coordinator's and the transaction coordinator's logs.
 * Only these are internal — a user's own `__`-prefixed topic is an ordinary topic (produced
 * to, deleted, grown like any other), as in Kafka's Topic.isInternal.
 */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state']);

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}

export interface TopicRecord {
  readonly name: string;
  readonly topicId: string;
  /** Log directory of each partition, by partition index. */
  readonly partitionDirs: readonly string[];
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
}

/** The topics a broker knows: the metadata store's on an embedded broker, the metadata cache's in a cluster (src/cluster/). */
export interface TopicTable {
  readonly clusterId: string;
  topic(name: string): TopicRecord | undefined;
  topicById(topicId: string): TopicRecord | undefined;
  topics(): IterableIterator<TopicRecord>;
}

/** One change: what the journal records, applied the same way when made and when replayed. */
export type MetadataChange =
  | { readonly type: 'createTopic'; readonly topic: TopicRecord }
  | { readonly type: 'addPartitions'; readonly name: string; readonly topicId: string; readonly partitionDirs: readonly string[] }
  | { readonly type: 'setTopicConfigs'; readonly name: string; readonly topicId: string; readonly configs: Readonly<Record<string, string>> }
  | { readonly type: 'removeTopic'; readonly name: string; readonly topicId: string }
  | { readonly type: 'producerIdBlock'; readonly end: number }
  | { readonly type: 'setBrokerConfigs'; readonly resource: string; readonly configs: Readonly<Record<string, string>> }
  | { readonly type: 'setEntityConfigs'; readonly entityType: EntityType; readonly name: string; readonly configs: Readonly<Record<string, string>> }
  | { readonly type: 'setAcls'; readonly resource: StoredAclResource; readonly acls: readonly StoredAclEntry[] };

/**
 * Partition directories on disk: the distinct directories and runs of [index into them,
 * partition count], so a topic in one log dir costs the same bytes for 1 or 30,000 partitions.
 */
interface StoredPlacement {
  readonly dirs: readonly string[];
  readonly runs: readonly number[];
}

interface StoredTopic extends StoredPlacement {
  readonly name: string;
  readonly topicId: string;
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
}

interface SnapshotFile {
  readonly version: number;
  readonly clusterId: string;
  readonly brokerId: number;
  readonly producerIdBlockEnd: number;
  /** The last journal record the snapshot includes (version 2). */
  readonly journalSequence: number;
  readonly topics: readonly StoredTopic[];
  /**
   * Dynamic broker configs by BROKER resource name: "" for the cluster default, a broker's id
   * for that broker's own. Absent in files written before dynamic configs (none set).
   */
  readonly brokerConfigs?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** ACLs by resource pattern. Absent before any was set. */
  readonly acls?: readonly { readonly resource: StoredAclResource; readonly acls: readonly StoredAclEntry[] }[];
  /** Configs of users (SCRAM credentials, later quotas) by entity type and name, as Kafka's /config/users/<name>. Absent before any was set. */
  readonly entityConfigs?: Readonly<Partial<Record<EntityType, Readonly<Record<string, Readonly<Record<string, string>>>>>>>;
}

/** A resource pattern ACLs are kept under (Kafka's /kafka-acl/<type>/<name> and /kafka-acl-extended/prefixed/<type>/<name>). */
export interface StoredAclResource {
  readonly resourceType: number;
  readonly patternType: number;
  readonly name: string;
}

/** One ACL entry of a resource pattern, with the wire's codes. */
export interface StoredAclEntry {
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

/**
 * Kafka's config entity types other than topics and brokers (ConfigType): what /config/<type>/<name>
 * holds in ZooKeeper. 'users' (SCRAM credentials and quotas: /config/users/<user>), 'clients'
 * (client id quotas: /config/clients/<client id>) and 'user-clients', Spate's name for Kafka's
 * nested /config/users/<user>/clients/<client id> (quotas of a client id of a user); 'ips' (IP
 * connection_creation_rate quotas: /config/ips/<ip>, KIP-612). And 'tenants', Spate's own
 * (/config/tenants/<name>: src/tenant/tenants.ts), which Kafka has no type for.
 */
export const ENTITY_TYPES = ['users', 'clients', 'user-clients', 'ips', 'tenants'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/**
 * The name of the default entity of a type (Kafka's `<default>`, a null entity name in the
 * quota APIs): the empty name, which Kafka never accepts for a user or a client id.
 */
export const DEFAULT_ENTITY_NAME = '';

/** The name of a 'user-clients' entity: the user and the client id (either DEFAULT_ENTITY_NAME), unambiguous whatever they contain. */
export function userClientEntityName(user: string, clientId: string): string {
  return JSON.stringify([user, clientId]);
}

/** The user and client id of a 'user-clients' entity name; null for a name userClientEntityName would not make. */
export function parseUserClientEntityName(name: string): readonly [user: string, clientId: string] | null {
  try {
    const parsed: unknown = JSON.parse(name);
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string') return [parsed[0], parsed[1]];
  } catch {
    // not one
  }
  return null;
}

/** What the store has written, for tests and metrics: bytes per change must not grow with the topic count. */
export interface MetadataStoreProbe {
  journalBytesWritten: number;
  journalRecordsWritten: number;
  /** fdatasyncs of the journal: one per group commit. */
  journalSyncs: number;
  snapshotBytesWritten: number;
  snapshotsWritten: number;
}

export interface MetadataStoreOptions {
  readonly logger?: Logger;
  readonly journalBytesMin?: number;
  readonly journalToSnapshotRatio?: number;
  readonly groupCommitBytesMax?: number;
}

/** The store can no longer record changes (its journal is in an unknown state); the broker keeps serving what it has. */
export class MetadataStorageError extends Error {
  override readonly name = 'MetadataStorageError';
}

/** A change named a topic that was removed (or replaced) before the change applied. */
export class TopicGoneError extends Error {
  override readonly name = 'TopicGoneError';
  constructor(topic: TopicRecord) {
    super(`Topic '${topic.name}' (${topic.topicId}) no longer exists.`);
  }
}

interface PendingChange {
  readonly change: MetadataChange;
  readonly payload: Buffer;
  readonly resolve: (topic: TopicRecord | undefined) => void;
  readonly reject: (error: Error) => void;
}

/** A Kafka-style UUID: 16 random bytes in unpadded base64url, never starting with '-' (Kafka's rule, for command lines). */
export function randomUuid(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-') && id !== 'AAAAAAAAAAAAAAAAAAAAAA' && id !== 'AAAAAAAAAAAAAAAAAAAAAQ') return id;
  }
}

export class MetadataStore {
  private readonly topicsByName = new Map<string, TopicRecord>();
  private readonly topicsById = new Map<string, TopicRecord>();
  private readonly brokerConfigsByResource = new Map<string, Readonly<Record<string, string>>>();
  private readonly entityConfigsByType = new Map<EntityType, Map<string, Readonly<Record<string, string>>>>(ENTITY_TYPES.map((type) => [type, new Map()]));
  private entityConfigChanges = 0;
  private readonly aclsByResource = new Map<string, { readonly resource: StoredAclResource; readonly acls: readonly StoredAclEntry[] }>();
  private journal: JournalWriter | null = null;
  private readonly queue: PendingChange[] = [];
  private writing = false;
  private drained: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private closed = false;
  private snapshotBytes = 0;
  /** After a failed snapshot rewrite, the journal size at which to try again. */
  private snapshotRetryBytes = 0;
  /** Producer ids up to here are promised to a caller (durable or about to be). */
  private producerIdBlockReserved: number;
  readonly probe: MetadataStoreProbe = { journalBytesWritten: 0, journalRecordsWritten: 0, journalSyncs: 0, snapshotBytesWritten: 0, snapshotsWritten: 0 };
  private readonly journalBytesMin: number;
  private readonly journalToSnapshotRatio: number;
  private readonly groupCommitBytesMax: number;
  private readonly logger: Logger | undefined;
  clusterId: string;
  /** Producer ids below this are reserved on disk. */
  producerIdBlockEnd: number;

  private constructor(
    readonly path: string,
    readonly brokerId: number,
    file: SnapshotFile,
    options: MetadataStoreOptions,
  ) {
    this.clusterId = file.clusterId;
    this.producerIdBlockEnd = file.producerIdBlockEnd;
    this.producerIdBlockReserved = file.producerIdBlockEnd;
    this.logger = options.logger;
    this.journalBytesMin = options.journalBytesMin ?? limits.metadataJournalBytesMin;
    this.journalToSnapshotRatio = options.journalToSnapshotRatio ?? limits.metadataJournalToSnapshotRatio;
    this.groupCommitBytesMax = options.groupCommitBytesMax ?? limits.metadataGroupCommitBytesMax;
    for (const stored of file.topics) this.index(decodeTopic(stored, path));
    for (const [resource, configs] of Object.entries(file.brokerConfigs ?? {})) {
      this.brokerConfigsByResource.set(resource, decodeBrokerConfigs(configs, `${path}, broker configs of "${resource}"`));
    }
    for (const stored of file.acls ?? []) this.apply({ type: 'setAcls', resource: decodeAclResource(stored.resource, path), acls: decodeAclEntries(stored.acls, path) });
    for (const type of ENTITY_TYPES) {
      for (const [name, configs] of Object.entries(file.entityConfigs?.[type] ?? {})) {
        this.entityConfigsByType.get(type)!.set(name, decodeBrokerConfigs(configs, `${path}, configs of ${type} "${name}"`));
      }
    }
  }

  /**
   * Loads the store at startup (before any request is served): the snapshot, then the
   * journal's records after it. A new data directory gets an empty store with a new cluster
   * id, written before this resolves.
   */
  static async open(logDir: string, brokerId: number, options: MetadataStoreOptions = {}): Promise<{ store: MetadataStore; created: boolean }> {
    const path = join(logDir, METADATA_FILE);
    const journalPath = join(logDir, METADATA_JOURNAL_FILE);
    await rm(`${path}.tmp`, { force: true });
    let file: SnapshotFile;
    let created = false;
    if (!existsSync(path)) {
      if (existsSync(journalPath) && statSync(journalPath).size > 0) {
        throw new Error(`${journalPath} exists but ${path} does not: the metadata snapshot is missing`);
      }
      file = { version: METADATA_VERSION, clusterId: randomUuid(), brokerId, producerIdBlockEnd: 0, journalSequence: 0, topics: [] };
      await writeFileAtomic(path, JSON.stringify(file));
      created = true;
    } else {
      file = parseSnapshot(readFileSync(path, 'utf8'), path);
      if (file.brokerId !== brokerId) {
        throw new Error(`${path} belongs to broker ${file.brokerId}, but this broker is configured as ${brokerId} (broker.id)`);
      }
    }
    const store = new MetadataStore(path, brokerId, file, options);
    const bytes = existsSync(journalPath) ? readFileSync(journalPath) : Buffer.alloc(0);
    const contents = decodeJournal(bytes);
    let lastSequence = file.journalSequence;
    let replayed = 0;
    for (const record of contents.records) {
      // Records the snapshot already holds (a crash between the snapshot's rename and the journal's truncation).
      if (record.sequence <= file.journalSequence) continue;
      if (record.sequence !== lastSequence + 1) {
        throw new Error(`${journalPath}: record ${record.sequence} follows the snapshot's ${lastSequence}: records are missing`);
      }
      store.apply(decodeChange(record.payload, `${journalPath} record ${record.sequence}`));
      lastSequence = record.sequence;
      replayed++;
    }
    if (contents.problem !== null) {
      options.logger?.warn(`${journalPath}: ${contents.problem}; truncating the ${bytes.length - contents.validBytes} byte(s) from there (changes never acknowledged)`);
    }
    if (file.version === 1) {
      await writeFileAtomic(path, JSON.stringify(store.snapshotFile(lastSequence)));
      options.logger?.info(`${path}: migrated from version 1 to version ${METADATA_VERSION} (a snapshot and ${METADATA_JOURNAL_FILE})`);
    }
    store.snapshotBytes = statSync(path).size;
    // With nothing to replay the snapshot holds everything: start the journal empty.
    store.journal = await JournalWriter.open(journalPath, replayed > 0 ? contents.validBytes : 0, lastSequence + 1);
    return { store, created };
  }

  private index(topic: TopicRecord): void {
    this.topicsByName.set(topic.name, topic);
    this.topicsById.set(topic.topicId, topic);
  }

  topic(name: string): TopicRecord | undefined {
    return this.topicsByName.get(name);
  }

  topicById(topicId: string): TopicRecord | undefined {
    return this.topicsById.get(topicId);
  }

  topics(): IterableIterator<TopicRecord> {
    return this.topicsByName.values();
  }

  /** Bytes in the journal now (the snapshot is rewritten when this outgrows it). */
  get journalBytes(): number {
    return this.journal?.bytes ?? 0;
  }

  /** Records a new topic; it is visible (topic(), topics()) once durable, when this resolves. */
  async createTopic(topic: TopicRecord): Promise<void> {
    await this.submit({ type: 'createTopic', topic });
  }

  /** Records partitions appended to a topic; resolves with the grown topic. */
  async addPartitions(topic: TopicRecord, partitionDirs: readonly string[]): Promise<TopicRecord> {
    const grown = await this.submit({ type: 'addPartitions', name: topic.name, topicId: topic.topicId, partitionDirs });
    if (grown === undefined) throw new TopicGoneError(topic);
    return grown;
  }

  /** Replaces a topic's config overrides; resolves with the updated topic. */
  async setTopicConfigs(topic: TopicRecord, configs: Readonly<Record<string, string>>): Promise<TopicRecord> {
    const updated = await this.submit({ type: 'setTopicConfigs', name: topic.name, topicId: topic.topicId, configs });
    if (updated === undefined) throw new TopicGoneError(topic);
    return updated;
  }

  /** Removes a topic; resolves with its record as it stood when the removal applied. */
  async removeTopic(topic: TopicRecord): Promise<TopicRecord> {
    const removed = await this.submit({ type: 'removeTopic', name: topic.name, topicId: topic.topicId });
    if (removed === undefined) throw new TopicGoneError(topic);
    return removed;
  }

  /** The dynamic broker configs of a BROKER resource ("" for the cluster default), as set; empty when none. */
  brokerConfigs(resource: string): Readonly<Record<string, string>> {
    return this.brokerConfigsByResource.get(resource) ?? {};
  }

  /** Replaces the dynamic broker configs of a BROKER resource; they are durable when this resolves. */
  /** Every resource pattern with ACLs, and its entries. */
  acls(): IterableIterator<{ readonly resource: StoredAclResource; readonly acls: readonly StoredAclEntry[] }> {
    return this.aclsByResource.values();
  }

  /** One resource pattern's ACL entries (none when it has none). */
  aclsOf(resource: StoredAclResource): readonly StoredAclEntry[] {
    return this.aclsByResource.get(aclResourceKey(resource))?.acls ?? [];
  }

  /** Replaces a resource pattern's ACL entries (none removes it), durably. */
  async setAcls(resource: StoredAclResource, acls: readonly StoredAclEntry[]): Promise<void> {
    await this.submit({ type: 'setAcls', resource, acls });
  }

  /** An entity's configs (a user's SCRAM credentials); empty when it has none. */
  entityConfigs(entityType: EntityType, name: string): Readonly<Record<string, string>> {
    return this.entityConfigsByType.get(entityType)!.get(name) ?? {};
  }

  /** A count that moves whenever an entity's configs change (caches of them compare it). */
  get entityConfigsVersion(): number {
    return this.entityConfigChanges;
  }

  /** The names of the entities of a type that have configs. */
  entities(entityType: EntityType): IterableIterator<string> {
    return this.entityConfigsByType.get(entityType)!.keys();
  }

  /** Replaces an entity's configs (an empty set removes it), durably. */
  async setEntityConfigs(entityType: EntityType, name: string, configs: Readonly<Record<string, string>>): Promise<void> {
    await this.submit({ type: 'setEntityConfigs', entityType, name, configs });
  }

  async setBrokerConfigs(resource: string, configs: Readonly<Record<string, string>>): Promise<void> {
    await this.submit({ type: 'setBrokerConfigs', resource, configs });
  }

  /** Reserves the next block of producer ids; the block is on disk before any id in it is used. */
  async reserveProducerIdBlock(blockSize: number): Promise<{ start: number; end: number }> {
    const start = this.producerIdBlockReserved;
    const end = start + blockSize;
    // Taken at once, so a concurrent reservation gets the next block; a failed write only skips ids.
    this.producerIdBlockReserved = end;
    await this.submit({ type: 'producerIdBlock', end });
    return { start, end };
  }

  /** Resolves once every change submitted so far is written (or failed) and any snapshot rewrite it started is done. */
  async settled(): Promise<void> {
    while (this.writing) await this.drained;
  }

  /** Waits for changes in flight, then closes the journal; later changes are refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
    await this.journal?.close();
  }

  private submit(change: MetadataChange): Promise<TopicRecord | undefined> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closed || this.journal === null) return Promise.reject(new Error('the metadata store is closed'));
    const payload = Buffer.from(JSON.stringify(encodeChange(change)));
    return new Promise((resolve, reject) => {
      this.queue.push({ change, payload, resolve, reject });
      if (!this.writing) {
        this.writing = true;
        this.drained = this.drain();
      }
    });
  }

  /** Writes queued changes, a group per fsync, until none are left; the only writer of the journal and snapshot. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.takeGroup();
      try {
        const { bytesWritten } = await this.journal!.append(group.map((pending) => pending.payload));
        this.probe.journalBytesWritten += bytesWritten;
        this.probe.journalRecordsWritten += group.length;
        this.probe.journalSyncs++;
      } catch (error) {
        if (error instanceof JournalBrokenError) this.fail(error);
        for (const pending of group) pending.reject(error as Error);
        continue;
      }
      for (const pending of group) pending.resolve(this.apply(pending.change));
      await this.maybeRewriteSnapshot();
    }
    // Synchronous with the emptiness check above: a submit from here on starts a new drain.
    this.writing = false;
  }

  private takeGroup(): PendingChange[] {
    let bytes = this.queue[0]!.payload.length;
    let count = 1;
    while (count < this.queue.length && bytes + this.queue[count]!.payload.length <= this.groupCommitBytesMax) {
      bytes += this.queue[count]!.payload.length;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private fail(error: Error): void {
    this.failure = new MetadataStorageError(`metadata changes are refused until restart: ${error.message}`, { cause: error });
    this.logger?.error(this.failure.message);
    for (const pending of this.queue.splice(0)) pending.reject(this.failure);
  }

  private async maybeRewriteSnapshot(): Promise<void> {
    const journal = this.journal!;
    const threshold = Math.max(this.journalBytesMin, this.snapshotBytes * this.journalToSnapshotRatio, this.snapshotRetryBytes);
    if (journal.bytes < threshold) return;
    const text = JSON.stringify(this.snapshotFile(journal.lastSequence));
    try {
      await writeFileAtomic(this.path, text);
    } catch (error) {
      // The old snapshot and the whole journal still hold every change: try again once the journal has doubled.
      this.snapshotRetryBytes = journal.bytes * 2;
      this.logger?.error(`rewriting ${this.path} failed (the journal keeps every change; retrying at ${this.snapshotRetryBytes} journal bytes): ${(error as Error).message}`);
      return;
    }
    this.snapshotRetryBytes = 0;
    this.snapshotBytes = Buffer.byteLength(text);
    this.probe.snapshotBytesWritten += this.snapshotBytes;
    this.probe.snapshotsWritten++;
    try {
      await journal.reset();
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private snapshotFile(journalSequence: number): SnapshotFile {
    return {
      version: METADATA_VERSION,
      clusterId: this.clusterId,
      brokerId: this.brokerId,
      producerIdBlockEnd: this.producerIdBlockEnd,
      journalSequence,
      topics: [...this.topicsByName.values()].map(encodeTopic),
      brokerConfigs: Object.fromEntries(this.brokerConfigsByResource),
      entityConfigs: Object.fromEntries([...this.entityConfigsByType].map(([type, byName]) => [type, Object.fromEntries(byName)])),
      acls: [...this.aclsByResource.values()],
    };
  }

  /** Applies one durable change; returns the topic it made or changed (undefined when it names a topic that is gone). */
  private apply(change: MetadataChange): TopicRecord | undefined {
    switch (change.type) {
      case 'createTopic': {
        const previous = this.topicsByName.get(change.topic.name);
        if (previous !== undefined) this.topicsById.delete(previous.topicId);
        this.index(change.topic);
        return change.topic;
      }
      case 'addPartitions': {
        const topic = this.topicsByName.get(change.name);
        if (topic === undefined || topic.topicId !== change.topicId) return undefined;
        const grown: TopicRecord = { ...topic, partitionDirs: [...topic.partitionDirs, ...change.partitionDirs] };
        this.index(grown);
        return grown;
      }
      case 'setTopicConfigs': {
        const topic = this.topicsByName.get(change.name);
        if (topic === undefined || topic.topicId !== change.topicId) return undefined;
        const updated: TopicRecord = { ...topic, configs: change.configs };
        this.index(updated);
        return updated;
      }
      case 'removeTopic': {
        const topic = this.topicsByName.get(change.name);
        if (topic === undefined || topic.topicId !== change.topicId) return undefined;
        this.topicsByName.delete(change.name);
        this.topicsById.delete(change.topicId);
        return topic;
      }
      case 'producerIdBlock':
        this.producerIdBlockEnd = Math.max(this.producerIdBlockEnd, change.end);
        this.producerIdBlockReserved = Math.max(this.producerIdBlockReserved, change.end);
        return undefined;
      case 'setBrokerConfigs':
        if (Object.keys(change.configs).length === 0) this.brokerConfigsByResource.delete(change.resource);
        else this.brokerConfigsByResource.set(change.resource, change.configs);
        return undefined;
      case 'setAcls': {
        const key = aclResourceKey(change.resource);
        if (change.acls.length === 0) this.aclsByResource.delete(key);
        else this.aclsByResource.set(key, { resource: change.resource, acls: change.acls });
        return undefined;
      }
      case 'setEntityConfigs': {
        const byName = this.entityConfigsByType.get(change.entityType)!;
        this.entityConfigChanges++;
        if (Object.keys(change.configs).length === 0) byName.delete(change.name);
        else byName.set(change.name, change.configs);
        return undefined;
      }
    }
  }
}

const aclResourceKey = (resource: StoredAclResource): string => `${resource.resourceType}\u0000${resource.patternType}\u0000${resource.name}`;

function decodeAclResource(resource: unknown, where: string): StoredAclResource {
  const candidate = resource as StoredAclResource | null;
  if (typeof candidate !== 'object' || candidate === null || !Number.isInteger(candidate.resourceType) || !Number.isInteger(candidate.patternType) || typeof candidate.name !== 'string') {
    throw new Error(`${where}: malformed ACL resource ${JSON.stringify(resource).slice(0, 200)}`);
  }
  return { resourceType: candidate.resourceType, patternType: candidate.patternType, name: candidate.name };
}

function decodeAclEntries(entries: unknown, where: string): StoredAclEntry[] {
  if (!Array.isArray(entries)) throw new Error(`${where}: malformed ACL entries ${JSON.stringify(entries).slice(0, 200)}`);
  return entries.map((entry: StoredAclEntry) => {
    if (typeof entry !== 'object' || entry === null || typeof entry.principal !== 'string' || typeof entry.host !== 'string' || !Number.isInteger(entry.operation) || !Number.isInteger(entry.permission)) {
      throw new Error(`${where}: malformed ACL entry ${JSON.stringify(entry).slice(0, 200)}`);
    }
    return { principal: entry.principal, host: entry.host, operation: entry.operation, permission: entry.permission };
  });
}

/** A resource's stored broker configs: names to string values; anything else is a corrupt file. */
function decodeBrokerConfigs(configs: unknown, where: string): Readonly<Record<string, string>> {
  if (typeof configs !== 'object' || configs === null || Array.isArray(configs) || !Object.values(configs).every((value) => typeof value === 'string')) {
    throw new Error(`${where}: malformed broker configs ${JSON.stringify(configs).slice(0, 200)}`);
  }
  return configs as Readonly<Record<string, string>>;
}

function encodePlacement(partitionDirs: readonly string[]): StoredPlacement {
  const dirs: string[] = [];
  const runs: number[] = [];
  for (const dir of partitionDirs) {
    let index = dirs.indexOf(dir);
    if (index < 0) index = dirs.push(dir) - 1;
    if (runs.length > 0 && runs[runs.length - 2] === index) runs[runs.length - 1]!++;
    else runs.push(index, 1);
  }
  return { dirs, runs };
}

function decodePlacement(placement: StoredPlacement, where: string): string[] {
  const { dirs, runs } = placement;
  if (!Array.isArray(dirs) || !dirs.every((dir) => typeof dir === 'string') || !Array.isArray(runs) || runs.length % 2 !== 0) {
    throw new Error(`${where}: malformed partition placement ${JSON.stringify({ dirs, runs })}`);
  }
  const partitionDirs: string[] = [];
  for (let index = 0; index < runs.length; index += 2) {
    const dir = dirs[runs[index]!];
    const count = runs[index + 1]!;
    if (dir === undefined || !Number.isInteger(count) || count <= 0 || partitionDirs.length + count > limits.topicPartitionsMax) {
      throw new Error(`${where}: malformed partition placement run [${runs[index]}, ${count}]`);
    }
    for (let partition = 0; partition < count; partition++) partitionDirs.push(dir);
  }
  return partitionDirs;
}

function encodeTopic(topic: TopicRecord): StoredTopic {
  return { name: topic.name, topicId: topic.topicId, configs: topic.configs, internal: topic.internal, ...encodePlacement(topic.partitionDirs) };
}

function decodeTopic(stored: StoredTopic, where: string): TopicRecord {
  if (typeof stored !== 'object' || stored === null || typeof stored.name !== 'string' || typeof stored.topicId !== 'string') {
    throw new Error(`${where}: malformed topic ${JSON.stringify(stored)}`);
  }
  if (typeof stored.configs !== 'object' || stored.configs === null || typeof stored.internal !== 'boolean') {
    throw new Error(`${where}: malformed configs or internal flag of topic ${stored.name}`);
  }
  // Derived from the name, not trusted from the file: earlier versions stored every `__` topic as internal.
  return { name: stored.name, topicId: stored.topicId, configs: stored.configs, internal: isInternalTopic(stored.name), partitionDirs: decodePlacement(stored, `${where}, topic ${stored.name}`) };
}

type StoredChange =
  | { readonly type: 'createTopic'; readonly topic: StoredTopic }
  | ({ readonly type: 'addPartitions'; readonly name: string; readonly topicId: string } & StoredPlacement)
  | { readonly type: 'setTopicConfigs'; readonly name: string; readonly topicId: string; readonly configs: Readonly<Record<string, string>> }
  | { readonly type: 'removeTopic'; readonly name: string; readonly topicId: string }
  | { readonly type: 'producerIdBlock'; readonly end: number }
  | { readonly type: 'setBrokerConfigs'; readonly resource: string; readonly configs: Readonly<Record<string, string>> }
  | { readonly type: 'setEntityConfigs'; readonly entityType: EntityType; readonly name: string; readonly configs: Readonly<Record<string, string>> }
  | { readonly type: 'setAcls'; readonly resource: StoredAclResource; readonly acls: readonly StoredAclEntry[] };

function encodeChange(change: MetadataChange): StoredChange {
  switch (change.type) {
    case 'createTopic':
      return { type: change.type, topic: encodeTopic(change.topic) };
    case 'addPartitions':
      return { type: change.type, name: change.name, topicId: change.topicId, ...encodePlacement(change.partitionDirs) };
    default:
      return change;
  }
}

/** A record whose CRC matched but whose contents do not parse is not a torn write: loading stops with the reason. */
function decodeChange(payload: Buffer, where: string): MetadataChange {
  let stored: StoredChange;
  try {
    stored = JSON.parse(payload.toString('utf8')) as StoredChange;
  } catch (error) {
    throw new Error(`${where}: not JSON: ${(error as Error).message}`);
  }
  const named = (value: { name?: unknown; topicId?: unknown }): boolean => typeof value.name === 'string' && typeof value.topicId === 'string';
  switch (stored?.type) {
    case 'createTopic':
      return { type: 'createTopic', topic: decodeTopic(stored.topic, where) };
    case 'addPartitions':
      if (!named(stored)) break;
      return { type: 'addPartitions', name: stored.name, topicId: stored.topicId, partitionDirs: decodePlacement(stored, where) };
    case 'setTopicConfigs':
      if (!named(stored) || typeof stored.configs !== 'object' || stored.configs === null) break;
      return { type: 'setTopicConfigs', name: stored.name, topicId: stored.topicId, configs: stored.configs };
    case 'removeTopic':
      if (!named(stored)) break;
      return { type: 'removeTopic', name: stored.name, topicId: stored.topicId };
    case 'producerIdBlock':
      if (!Number.isSafeInteger(stored.end) || stored.end < 0) break;
      return { type: 'producerIdBlock', end: stored.end };
    case 'setBrokerConfigs':
      if (typeof stored.resource !== 'string') break;
      return { type: 'setBrokerConfigs', resource: stored.resource, configs: decodeBrokerConfigs(stored.configs, where) };
    case 'setAcls':
      return { type: 'setAcls', resource: decodeAclResource(stored.resource, where), acls: decodeAclEntries(stored.acls, where) };
    case 'setEntityConfigs':
      if (typeof stored.name !== 'string' || !(ENTITY_TYPES as readonly string[]).includes(stored.entityType as string)) break;
      return { type: 'setEntityConfigs', entityType: stored.entityType as EntityType, name: stored.name, configs: decodeBrokerConfigs(stored.configs, where) };
  }
  throw new Error(`${where}: unknown or malformed change ${payload.toString('utf8').slice(0, 200)}`);
}

/** Version 2, or version 1 (topics with a partitionDirs array, no journal). */
function parseSnapshot(text: string, path: string): SnapshotFile {
  const file = JSON.parse(text) as SnapshotFile;
  if (file.version === 1) {
    const topics = file.topics as unknown as readonly (Omit<TopicRecord, 'partitionDirs'> & { partitionDirs: readonly string[] })[];
    return {
      version: 1,
      clusterId: file.clusterId,
      brokerId: file.brokerId,
      producerIdBlockEnd: file.producerIdBlockEnd,
      journalSequence: 0,
      topics: topics.map((topic) => ({ ...topic, ...encodePlacement(Array.isArray(topic.partitionDirs) ? topic.partitionDirs : []) })),
    };
  }
  if (file.version !== METADATA_VERSION) throw new Error(`${path}: unknown metadata version ${file.version}`);
  if (!Number.isSafeInteger(file.journalSequence) || file.journalSequence < 0) throw new Error(`${path}: malformed journalSequence ${file.journalSequence}`);
  return file;
}

/** Atomic replace through the thread pool: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, contents: string): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(contents);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  await syncDirectory(dirname(path));
}
