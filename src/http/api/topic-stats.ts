// What the topics pages show that no Kafka request answers for a user: each partition's size in
// bytes (of its leader's log) and each topic's messages per second. Read from the broker's own
// state (PartitionManager.status(), the one call src/http/metrics.ts makes per scrape); the caller
// asks only for partitions of topics its user's Metadata listed, so nothing here reaches a user
// about a topic they may not describe.
//
// In a cluster a partition led by another broker is sized by that broker: one DescribeLogDirs
// forwarded to each such leader as this broker (ClusterServices.forward, as the WebSocket
// consumers read partitions led elsewhere), naming only those partitions. When the leader cannot
// be asked, a replica held here gives its size (a follower trails its leader by what is in
// flight); with none, the size is null.
//
// Messages per second: the change of a topic's log end offsets (summed over the partitions this
// broker holds) between two samples at least limits.adminApiTopicRateSampleMinMs apart, taken when
// a page asks. Offsets count records, so transaction markers count too; null until two samples
// exist. Where the broker's metrics history has a topic's rate (`recordedRate`), that is answered.

import { limits } from '../../config/limits.js';
import type { BrokerServices } from '../../handlers/handler.js';
import type { KafkaRequester } from '../../network/kafka-client.js';
import { describeLogDirsApi } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { PartitionStatus } from '../../shard/messages.js';

export interface PartitionLeader {
  readonly topic: string;
  readonly partition: number;
  /** The leader's broker id as Metadata gave it; -1 when it has none. */
  readonly leader: number;
}

interface RateSample {
  readonly atMs: number;
  readonly logEndOffsetSum: number;
  /** Messages per second between the sample before this one and this one; null for the first. */
  readonly messagesPerSec: number | null;
}

/** `topic\0partition`, the key of the maps this module answers. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class TopicStats {
  private readonly samples = new Map<string, RateSample>();

  /**
   * `recordedRate`: a topic's messages per second from elsewhere (the broker's metrics history),
   * undefined or null where it has none; the samples here answer for those topics.
   */
  constructor(
    private readonly services: BrokerServices,
    private readonly recordedRate: (topic: string) => number | null | undefined = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Each partition's size in bytes on its leader (null where it is not known), by partitionKey,
   * and the messages per second of each topic named (null where not known yet).
   */
  async read(partitions: readonly PartitionLeader[], timeoutMs: number): Promise<{ sizes: Map<string, number | null>; messagesPerSec: Map<string, number | null> }> {
    const statuses = await this.services.partitions.status();
    const local = new Map<string, PartitionStatus>();
    for (const status of statuses) local.set(partitionKey(status.topic, status.partition), status);
    this.sample(statuses);

    const sizes = new Map<string, number | null>();
    const remote = new Map<number, PartitionLeader[]>();
    const cluster = this.services.cluster;
    const self = this.services.config.brokerId;
    for (const wanted of partitions) {
      const key = partitionKey(wanted.topic, wanted.partition);
      if (cluster !== null && wanted.leader >= 0 && wanted.leader !== self) {
        const list = remote.get(wanted.leader) ?? [];
        list.push(wanted);
        remote.set(wanted.leader, list);
      }
      sizes.set(key, local.get(key)?.sizeBytes ?? null);
    }
    if (cluster !== null && remote.size > 0) {
      await Promise.all(
        [...remote].map(async ([leader, led]) => {
          const byTopic = new Map<string, number[]>();
          for (const { topic, partition } of led) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
          try {
            const { body } = await cluster.forward(leader, describeLogDirsApi, { topics: [...byTopic].map(([topic, indexes]) => ({ topic, partitions: indexes })) }, { timeoutMs });
            if (body.errorCode !== ErrorCode.NONE) throw new Error(`DescribeLogDirs answered error ${body.errorCode}`);
            for (const logDir of body.results) {
              if (logDir.errorCode !== ErrorCode.NONE) continue;
              for (const topic of logDir.topics) {
                for (const partition of topic.partitions) {
                  const key = partitionKey(topic.name, partition.partitionIndex);
                  // Only what was asked: a leader answering more is not passed on.
                  if (sizes.has(key)) sizes.set(key, partition.partitionSize);
                }
              }
            }
          } catch (error) {
            // The local replica's size (or null) stays: a page of sizes is not worth failing for one broker.
            this.services.logger.debug(`topic sizes: DescribeLogDirs to broker ${leader} failed: ${(error as Error).message}`);
          }
        }),
      );
    }

    const topics = new Set(partitions.map((partition) => partition.topic));
    const messagesPerSec = new Map<string, number | null>();
    for (const topic of topics) messagesPerSec.set(topic, this.recordedRate(topic) ?? this.samples.get(topic)?.messagesPerSec ?? null);
    return { sizes, messagesPerSec };
  }

  /** Takes a sample of every topic held here (so every user's page sees the same rates); forgets topics no longer here. */
  private sample(statuses: readonly PartitionStatus[]): void {
    const nowMs = this.now();
    const sums = new Map<string, number>();
    for (const status of statuses) sums.set(status.topic, (sums.get(status.topic) ?? 0) + status.logEndOffset);
    for (const topic of this.samples.keys()) if (!sums.has(topic)) this.samples.delete(topic);
    for (const [topic, logEndOffsetSum] of sums) {
      const previous = this.samples.get(topic);
      if (previous === undefined) {
        this.samples.set(topic, { atMs: nowMs, logEndOffsetSum, messagesPerSec: null });
        continue;
      }
      const elapsedMs = nowMs - previous.atMs;
      if (elapsedMs < limits.adminApiTopicRateSampleMinMs) continue;
      const delta = logEndOffsetSum - previous.logEndOffsetSum;
      // Fewer offsets than before: the topic was deleted and made again between samples; start over.
      this.samples.set(topic, { atMs: nowMs, logEndOffsetSum, messagesPerSec: delta < 0 ? null : (delta * 1000) / elapsedMs });
    }
  }
}

/**
 * In a cluster, a requester to another broker (as this broker, on the inter-broker listener) for
 * the partitions it leads: what a topic's offsets are asked of once the user's Metadata showed the
 * topic (ListOffsets to this broker answers NOT_LEADER_OR_FOLLOWER for them). Null for this broker,
 * no leader, or no cluster. Requesters are kept per broker for the function's life (one request).
 */
export function leaderRequesters(services: BrokerServices): (leader: number) => KafkaRequester | null {
  const cluster = services.cluster;
  const requesters = new Map<number, KafkaRequester>();
  return (leader) => {
    if (cluster === null || leader < 0 || leader === services.config.brokerId) return null;
    let requester = requesters.get(leader);
    if (requester === undefined) {
      requester = {
        request: (schema, body, options) => cluster.forward(leader, schema, body, options),
        metadata: () => Promise.reject(new Error('Metadata is asked of this broker')),
        // The other broker's versions are the inter-broker client's to pick (BrokerClients negotiates them).
        pickVersion: (schema, cap = Number.MAX_SAFE_INTEGER) => Math.min(schema.maxVersion, cap),
      };
      requesters.set(leader, requester);
    }
    return requester;
  };
}
