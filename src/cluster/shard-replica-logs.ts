// The logs of a cluster broker's replicas, as the replica manager and the replica fetchers
// use them, carried to the shards that own them: creating a replica's log where the
// controller assigned one (with its topic's configs read from ZooKeeper first), roles and
// leader epochs, fetched batches, truncation, high watermarks. Every answer's offsets land
// in `shards.offsets` (ShardSet), which wakes the purgatories.

import { join } from 'node:path';
import { resolveTopicConfig } from '../config/broker-config.js';
import type { Controller } from '../controller/controller.js';
import type { Logger } from '../logger.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { partitionKey, type PartitionOffsets } from '../shard/messages.js';
import type { ShardSet } from '../shard/shard-set.js';
import type { ReplicaDirs } from './local-replicas.js';
import type { FollowerLogs } from './replica-fetcher.js';
import type { ReplicaLogs, ReplicaRole } from './replica-manager.js';

export interface ShardReplicaLogsOptions {
  readonly shards: ShardSet;
  readonly controller: Controller;
  readonly dirs: ReplicaDirs;
  /** The topic's config overrides (ZooKeeper's /config/topics/<t>), read when not known yet. */
  readonly configsOf: (topic: string) => Promise<Readonly<Record<string, string>>>;
  readonly logger: Logger;
}

function offsetsOf(reply: Partial<PartitionOffsets>): PartitionOffsets {
  return {
    logStartOffset: reply.logStartOffset ?? 0,
    logEndOffset: reply.logEndOffset ?? 0,
    highWatermark: reply.highWatermark ?? 0,
    lastStableOffset: reply.lastStableOffset ?? 0,
    abortedThrough: reply.abortedThrough ?? -1,
  };
}

/** A shard's refusal of a replica command, as an error the caller logs. */
function check(what: string, reply: { errorCode: number }): void {
  if (reply.errorCode !== ErrorCode.NONE) throw new Error(`${what}: ${errorName(reply.errorCode)}`);
}

export class ShardReplicaLogs implements ReplicaLogs, FollowerLogs {
  private readonly shards: ShardSet;
  private readonly controller: Controller;
  private readonly dirs: ReplicaDirs;
  private readonly configsOf: ShardReplicaLogsOptions['configsOf'];
  private readonly creating = new Map<string, Promise<void>>();

  constructor(options: ShardReplicaLogsOptions) {
    this.shards = options.shards;
    this.controller = options.controller;
    this.dirs = options.dirs;
    this.configsOf = options.configsOf;
  }

  offsets(topic: string, partition: number): PartitionOffsets | undefined {
    return this.shards.offsets.get(partitionKey(topic, partition));
  }

  logEndOffset(topic: string, partition: number): number | undefined {
    return this.offsets(topic, partition)?.logEndOffset;
  }

  logStartOffset(topic: string, partition: number): number | undefined {
    return this.offsets(topic, partition)?.logStartOffset;
  }

  async ensure(topic: string, topicId: string, partition: number): Promise<PartitionOffsets> {
    const key = partitionKey(topic, partition);
    if (this.dirs.get(topic, partition) === '') {
      // One creation per partition, however many requests name it meanwhile.
      let creation = this.creating.get(key);
      if (creation === undefined) {
        creation = this.create(topic, topicId, partition).finally(() => this.creating.delete(key));
        this.creating.set(key, creation);
      }
      await creation;
    } else {
      await this.creating.get(key);
    }
    // Also makes the shard set remember the partition's offsets.
    return offsetsOf(await this.shards.listOffsets(topicId, { topic, partition, timestamp: -1 }));
  }

  private async create(topic: string, topicId: string, partition: number): Promise<void> {
    const configs = await this.configsOf(topic);
    const logDir = this.dirs.place(topic, partition);
    const spec = {
      topic,
      partition,
      topicId,
      dir: join(logDir, `${topic}-${partition}`),
      config: resolveTopicConfig(this.controller.config.topicDefaults, configs),
      leaderEpoch: 0,
      replicated: true,
    };
    const reply = await this.shards.shardFor(topicId, partition).send({ kind: 'create', partitions: [spec] });
    if (reply.errorCode !== ErrorCode.NONE) {
      this.dirs.remove(topic, partition);
      throw new Error(`creating the log of ${topic}-${partition} failed: ${errorName(reply.errorCode)} ${reply.errorMessage ?? ''}`);
    }
  }

  async setRole(topic: string, topicId: string, partition: number, role: ReplicaRole, leaderEpoch: number): Promise<PartitionOffsets> {
    const reply = await this.shards.leadership(topicId, { topic, partition, role, leaderEpoch });
    check(`${topic}-${partition}: becoming ${role} in epoch ${leaderEpoch}`, reply);
    return offsetsOf(reply);
  }

  async setHighWatermark(topic: string, topicId: string, partition: number, offset: number): Promise<void> {
    const reply = await this.shards.highWatermark(topicId, { topic, partition, offset });
    check(`${topic}-${partition}: high watermark ${offset}`, reply);
  }

  async remove(topic: string, topicId: string, partition: number): Promise<void> {
    await this.shards.shardFor(topicId, partition).send({ kind: 'delete', partitions: [{ topic, partition }] });
    this.shards.forget(topic, partition);
    this.dirs.remove(topic, partition);
  }

  async endOffsetForEpoch(topic: string, topicId: string, partition: number, epoch: number | 'latest'): Promise<{ epoch: number; endOffset: number }> {
    let wanted: number;
    if (epoch === 'latest') {
      const latest = await this.shards.listOffsets(topicId, { topic, partition, timestamp: -1 });
      wanted = latest.leaderEpoch ?? -1;
      if (wanted < 0) return { epoch: -1, endOffset: -1 };
    } else {
      wanted = epoch;
    }
    const reply = await this.shards.shardFor(topicId, partition).send({ kind: 'offsetForLeaderEpoch', queries: [{ topic, partition, leaderEpoch: wanted }] });
    const result = reply.results[0]!;
    return { epoch: result.leaderEpoch, endOffset: result.endOffset };
  }

  async truncate(topic: string, topicId: string, partition: number, offset: number, fully: boolean): Promise<void> {
    const reply = await this.shards.truncate(topicId, { topic, partition, offset, fully });
    check(`${topic}-${partition}: truncating to ${offset}`, reply);
  }

  async replicate(topic: string, topicId: string, partition: number, records: Buffer, leaderHighWatermark: number): Promise<{ errorCode: number; logEndOffset: number }> {
    const reply = await this.shards.replicate(topicId, topic, partition, records, leaderHighWatermark);
    return { errorCode: reply.errorCode, logEndOffset: reply.logEndOffset ?? -1 };
  }

  async followerLogStart(topic: string, topicId: string, partition: number, leaderLogStartOffset: number): Promise<void> {
    const offsets = this.offsets(topic, partition);
    if (offsets === undefined || leaderLogStartOffset <= offsets.logStartOffset) return;
    const offset = Math.min(leaderLogStartOffset, offsets.highWatermark);
    if (offset <= offsets.logStartOffset) return;
    const result = await this.shards.deleteRecords(topicId, { topic, partition, offset });
    check(`${topic}-${partition}: log start to ${offset}`, result);
  }

  async followerHighWatermark(topic: string, topicId: string, partition: number, leaderHighWatermark: number): Promise<void> {
    const logEnd = this.logEndOffset(topic, partition) ?? 0;
    const current = this.offsets(topic, partition)?.highWatermark ?? 0;
    const next = Math.min(leaderHighWatermark, logEnd);
    if (next <= current) return;
    await this.setHighWatermark(topic, topicId, partition, next);
  }
}
