// Reads every partition of the fuzzer's topics the way a consumer would, from where the
// last check stopped to the high watermark, and reports any batch a consumer could not
// read (batch-check.ts) and any offset below the high watermark where a fetch returns no
// whole batch (a consumer would be stuck there for ever). The fuzzer's produce requests
// put whatever the broker accepts into these partitions: this is where "one batch makes a
// partition unreadable" shows.

import { fetchApi, listOffsetsApi, metadataApi } from '../../../src/protocol/generated/index.js';
import { ErrorCode, errorName } from '../../../src/protocol/errors.js';
import type { Teardownable } from '../../helpers/broker-process.js';
import { RawClient, fetchBody } from '../../helpers/raw-client.js';
import { splitBatches } from '../../../src/protocol/record-batch.js';
import { checkBatch, recordsBytes } from '../../helpers/batch-check.js';

/** Fetches one partition may take in one check (1 MiB each); the rest waits for the next check. */
const FETCHES_PER_PARTITION_MAX = 16;
/**
 * No fetch starts with less time than this left in a check: a fetch given only what remains
 * of the check's time (a few ms, at its end) would time out and be taken for a broker that
 * cannot serve a consumer.
 */
const FETCH_BUDGET_MIN_MS = 2000;

export interface PartitionProblem {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly message: string;
  /** The CRC field of the batch at fault, when the problem is one batch. */
  readonly crc: number | null;
}


export class PartitionChecker {
  private readonly nextOffsets = new Map<string, number>();
  /** Partitions seen stuck at an offset, and whether that was reported. */
  private readonly stuckAt = new Map<string, { offset: number; reported: boolean }>();
  batchesChecked = 0;
  /** The last partition a check that ran out of time reached ('' when the last check finished). */
  private resumeAfter = '';

  constructor(
    private readonly t: Teardownable,
    private readonly topics: readonly string[],
    private readonly compacted: ReadonlySet<string>,
  ) {}

  async check(port: number, timeoutMs: number): Promise<PartitionProblem[]> {
    const deadline = Date.now() + timeoutMs;
    const problems: PartitionProblem[] = [];
    const client = await RawClient.connect(this.t, port);
    try {
      const metadata = await client.request(metadataApi, 12, { topics: this.topics.map((name) => ({ name, topicId: undefined })), allowAutoTopicCreation: false }, { timeoutMs });
      // A fuzz case may grow a topic to thousands of partitions: only those whose high watermark
      // moved since the last check are fetched (their high watermarks in one ListOffsets per
      // topic), and a check that runs out of time resumes at the next check where it stopped.
      const due: [string, number][] = [];
      for (const topic of metadata.topics) {
        if (topic.errorCode !== ErrorCode.NONE || topic.name === null || topic.partitions.length === 0) continue;
        const name = topic.name;
        const ends = await this.latest(client, name, topic.partitions.map((partition) => partition.partitionIndex), timeoutMs);
        for (const [partition, end] of ends) if (end < 0 || end !== (this.nextOffsets.get(`${name}/${partition}`) ?? 0)) due.push([name, partition]);
      }
      const start = due.findIndex(([topic, partition]) => `${topic}/${partition}` === this.resumeAfter) + 1;
      const ordered = [...due.slice(start), ...due.slice(0, start)];
      for (const [topic, partition] of ordered) {
        if (deadline - Date.now() < FETCH_BUDGET_MIN_MS) return problems;
        await this.checkPartition(client, topic, partition, deadline, problems);
        this.resumeAfter = `${topic}/${partition}`;
      }
      this.resumeAfter = '';
    } finally {
      client.destroy();
    }
    return problems;
  }

  private async checkPartition(client: RawClient, topic: string, partition: number, deadline: number, problems: PartitionProblem[]): Promise<void> {
    const key = `${topic}/${partition}`;
    let offset = this.nextOffsets.get(key) ?? 0;
    for (let fetches = 0; fetches < FETCHES_PER_PARTITION_MAX && deadline - Date.now() >= FETCH_BUDGET_MIN_MS; fetches++) {
      const response = await client.request(fetchApi, 12, fetchBody(topic, partition, offset, 0, 0), { timeoutMs: deadline - Date.now() });
      const data = response.responses[0]?.partitions[0];
      if (data === undefined) {
        problems.push({ topic, partition, offset, message: 'fetch response without the partition', crc: null });
        return;
      }
      if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
        // Retention, DeleteRecords or a re-created topic moved the log: start again from its start.
        offset = await this.earliest(client, topic, partition);
        continue;
      }
      if (data.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || data.errorCode === ErrorCode.UNKNOWN_TOPIC_ID) return;
      if (data.errorCode !== ErrorCode.NONE) {
        problems.push({ topic, partition, offset, message: `fetch: ${errorName(data.errorCode)}`, crc: null });
        return;
      }
      if (offset >= data.highWatermark) break;
      let advanced = false;
      for (const bytes of splitBatches(recordsBytes(data.records))) {
        const batch = checkBatch(bytes, this.compacted.has(topic));
        this.batchesChecked++;
        if (batch.lastOffset < offset) continue;
        if (batch.problem !== null) problems.push({ topic, partition, offset: batch.baseOffset, message: batch.problem, crc: batch.crc });
        if (batch.lastOffset + 1 > data.highWatermark) {
          // A consumer would move past the high watermark, fetch out of range and reset: report, and go on from the watermark.
          problems.push({ topic, partition, offset: batch.baseOffset, message: `batch ends at offset ${batch.lastOffset}, past the high watermark ${data.highWatermark}`, crc: batch.crc });
          offset = data.highWatermark;
          advanced = true;
          break;
        }
        offset = batch.lastOffset + 1;
        advanced = true;
      }
      if (!advanced) {
        // A consumer retries: stuck is when it stays so, not one empty answer in a race with a
        // topic being deleted and created again. Then it is reported once, when seen again at
        // the next check (the partition may have moved on in between).
        const size = recordsBytes(data.records).length;
        const seenBefore = this.stuckAt.get(key);
        if (seenBefore === undefined || seenBefore.offset !== offset) {
          this.stuckAt.set(key, { offset, reported: false });
        } else if (!seenBefore.reported) {
          seenBefore.reported = true;
          problems.push({
            topic,
            partition,
            offset,
            message: `stuck: fetches at ${offset}, below the high watermark ${data.highWatermark} (log start ${data.logStartOffset}), return ${size} record bytes and no whole batch past it, in two checks in a row`,
            crc: null,
          });
        }
        break;
      }
      this.stuckAt.delete(key);
    }
    this.nextOffsets.set(key, offset);
  }

  /** Each partition's high watermark (-1 where the broker gave none: such a partition is fetched, to see why). */
  private async latest(client: RawClient, topic: string, partitions: readonly number[], timeoutMs: number): Promise<Map<number, number>> {
    const response = await client.request(
      listOffsetsApi,
      7,
      {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1 })) }],
      },
      { timeoutMs },
    );
    const ends = new Map<number, number>(partitions.map((partition) => [partition, -1]));
    for (const answer of response.topics[0]?.partitions ?? []) {
      if (answer.errorCode === ErrorCode.NONE) ends.set(answer.partitionIndex, answer.offset);
    }
    return ends;
  }

  private async earliest(client: RawClient, topic: string, partition: number): Promise<number> {
    const response = await client.request(listOffsetsApi, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -2 }] }],
    });
    return Math.max(response.topics[0]?.partitions[0]?.offset ?? 0, 0);
  }
}
