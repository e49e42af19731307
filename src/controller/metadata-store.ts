// The embedded metadata store: the cluster id, the topics with their ids, partitions,
// log directories and config overrides, and the producer-id block. One JSON file in
// the first log directory, rewritten atomically on every change (write to a temp file,
// fsync, rename). Writes go through the libuv thread pool, never the main thread.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const METADATA_FILE = 'spate-metadata.json';
const METADATA_VERSION = 1;

export interface TopicRecord {
  readonly name: string;
  readonly topicId: string;
  /** Log directory of each partition, by partition index. */
  readonly partitionDirs: readonly string[];
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
}

interface MetadataFile {
  readonly version: number;
  readonly clusterId: string;
  readonly brokerId: number;
  readonly producerIdBlockEnd: number;
  readonly topics: readonly TopicRecord[];
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
  private writeChain: Promise<void> = Promise.resolve();
  clusterId: string;
  producerIdBlockEnd: number;

  private constructor(
    readonly path: string,
    readonly brokerId: number,
    file: MetadataFile,
  ) {
    this.clusterId = file.clusterId;
    this.producerIdBlockEnd = file.producerIdBlockEnd;
    for (const topic of file.topics) this.index(topic);
  }

  /** Reads the store at startup (before any request is served), or starts an empty one. */
  static load(logDir: string, brokerId: number): { store: MetadataStore; created: boolean } {
    const path = join(logDir, METADATA_FILE);
    if (!existsSync(path)) {
      const empty: MetadataFile = { version: METADATA_VERSION, clusterId: randomUuid(), brokerId, producerIdBlockEnd: 0, topics: [] };
      return { store: new MetadataStore(path, brokerId, empty), created: true };
    }
    const file = JSON.parse(readFileSync(path, 'utf8')) as MetadataFile;
    if (file.version !== METADATA_VERSION) throw new Error(`${path}: unknown metadata version ${file.version}`);
    if (file.brokerId !== brokerId) {
      throw new Error(`${path} belongs to broker ${file.brokerId}, but this broker is configured as ${brokerId} (broker.id)`);
    }
    return { store: new MetadataStore(path, brokerId, file), created: false };
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

  get topicCount(): number {
    return this.topicsByName.size;
  }

  async putTopic(topic: TopicRecord): Promise<void> {
    const previous = this.topicsByName.get(topic.name);
    if (previous !== undefined) this.topicsById.delete(previous.topicId);
    this.index(topic);
    await this.persist();
  }

  async removeTopic(name: string): Promise<void> {
    const topic = this.topicsByName.get(name);
    if (topic === undefined) return;
    this.topicsByName.delete(name);
    this.topicsById.delete(topic.topicId);
    await this.persist();
  }

  /** Reserves the next block of producer ids; the block is on disk before any id in it is used. */
  async reserveProducerIdBlock(blockSize: number): Promise<{ start: number; end: number }> {
    const start = this.producerIdBlockEnd;
    this.producerIdBlockEnd = start + blockSize;
    await this.persist();
    return { start, end: start + blockSize };
  }

  /** Writes the whole store; writes are serialized so the file always holds the latest state. */
  persist(): Promise<void> {
    const contents = JSON.stringify(
      {
        version: METADATA_VERSION,
        clusterId: this.clusterId,
        brokerId: this.brokerId,
        producerIdBlockEnd: this.producerIdBlockEnd,
        topics: [...this.topicsByName.values()],
      } satisfies MetadataFile,
      null,
      1,
    );
    const write = this.writeChain.then(() => writeFileAtomic(this.path, contents));
    this.writeChain = write.catch(() => undefined);
    return write;
  }
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
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
