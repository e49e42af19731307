// The replicas a broker of a cluster keeps on its own disks, found the way Kafka's LogManager
// finds them: by the partition directories (`<topic>-<partition>`) in its log dirs, each
// naming its topic id in `partition.metadata`. At startup a directory whose topic is gone
// from ZooKeeper (deleted while this broker was down), or whose topic id is not the
// topic's (deleted and re-created), is removed, and so is one whose partition ZooKeeper no
// longer assigns to this broker (reassigned away while it was down, so the controller's
// StopReplica with deletion never reached it; Kafka's KRaft brokers remove such stray
// replicas too, its ZooKeeper-era ones kept them forever); the others are opened, as followers until
// the controller's LeaderAndIsr says what they are. A replica the controller assigns here
// later is placed in the log dir holding the fewest.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { markDirectoryDeleted } from '../storage/deleted-dirs.js';
import { partitionKey } from '../shard/messages.js';
import type { ZkClient } from './zk/zk-client.js';
import { EntityConfigZnode, TopicZnode, ZkPaths, type TopicAssignment } from './zk/znodes.js';

export interface LocalReplica {
  readonly topic: string;
  readonly partition: number;
  readonly topicId: string;
  /** The log dir holding it (the partition's directory is `<logDir>/<topic>-<partition>`). */
  readonly logDir: string;
}

const PARTITION_DIR = /^(.+)-(\d+)$/;

/** Reads the topic id a partition directory's `partition.metadata` names, or undefined. */
function topicIdOf(partitionDir: string): string | undefined {
  const path = join(partitionDir, 'partition.metadata');
  if (!existsSync(path)) return undefined;
  return /topic_id:\s*(\S+)/.exec(readFileSync(path, 'utf8'))?.[1];
}

/**
 * The replicas on disk whose topics ZooKeeper still has with the same id and whose partitions
 * it assigns to this broker, with those topics' config overrides; removes the others. Topics
 * are read once each.
 */
export async function findLocalReplicas(
  logDirs: readonly string[],
  zk: ZkClient,
  logger: Logger,
  brokerId: number,
): Promise<{ replicas: LocalReplica[]; configs: Map<string, Readonly<Record<string, string>>> }> {
  const assignments = new Map<string, TopicAssignment | null>();
  const configs = new Map<string, Readonly<Record<string, string>>>();
  const replicas: LocalReplica[] = [];
  for (const logDir of logDirs) {
    for (const entry of readdirSync(logDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const match = PARTITION_DIR.exec(entry.name);
      if (match === null) continue;
      const topic = match[1]!;
      const partition = Number(match[2]);
      const dir = join(logDir, entry.name);
      if (!assignments.has(topic)) {
        // A failed read fails the startup: a directory is removed only when ZooKeeper said its topic is gone.
        const node = await zk.getData(ZkPaths.topicPath(topic));
        assignments.set(topic, node === null ? null : TopicZnode.decode(topic, node.data));
        if (node !== null) {
          const config = await zk.getData(ZkPaths.topicConfigPath(topic));
          configs.set(topic, config === null ? {} : EntityConfigZnode.decode(config.data, ZkPaths.topicConfigPath(topic)));
        }
      }
      const assignment = assignments.get(topic)!;
      const topicId = topicIdOf(dir);
      const known = assignment !== null && assignment.partitions.has(partition) && (topicId === undefined || topicId === assignment.topicId);
      if (!known || assignment.topicId === null) {
        logger.info(`removing partition directory ${dir}: its topic no longer exists in the cluster`);
        markDirectoryDeleted(dir);
        continue;
      }
      if (!assignment.partitions.get(partition)!.includes(brokerId)) {
        logger.info(`removing partition directory ${dir}: the partition was reassigned to brokers [${assignment.partitions.get(partition)!.join(', ')}]`);
        markDirectoryDeleted(dir);
        continue;
      }
      replicas.push({ topic, partition, topicId: assignment.topicId, logDir });
    }
  }
  return { replicas, configs };
}

/** Which log dir holds each of this broker's replicas; a new one goes to the dir with the fewest. */
export class ReplicaDirs {
  private readonly dirs = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  constructor(logDirs: readonly string[], existing: readonly LocalReplica[]) {
    for (const dir of logDirs) this.counts.set(dir, 0);
    for (const replica of existing) this.add(replica.topic, replica.partition, replica.logDir);
  }

  /** The log dir of the partition's replica here, or '' when this broker holds none. */
  get(topic: string, partition: number): string {
    return this.dirs.get(partitionKey(topic, partition)) ?? '';
  }

  /** The log dir for the partition's replica: where it is, or a new place. */
  place(topic: string, partition: number): string {
    const existing = this.dirs.get(partitionKey(topic, partition));
    if (existing !== undefined) return existing;
    let best = '';
    let fewest = Number.POSITIVE_INFINITY;
    for (const [dir, count] of this.counts) {
      if (count < fewest) {
        best = dir;
        fewest = count;
      }
    }
    this.add(topic, partition, best);
    return best;
  }

  remove(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    const dir = this.dirs.get(key);
    if (dir === undefined) return;
    this.dirs.delete(key);
    this.counts.set(dir, (this.counts.get(dir) ?? 1) - 1);
  }

  private add(topic: string, partition: number, dir: string): void {
    this.dirs.set(partitionKey(topic, partition), dir);
    this.counts.set(dir, (this.counts.get(dir) ?? 0) + 1);
  }
}
