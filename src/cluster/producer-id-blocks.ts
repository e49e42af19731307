// Producer ids unique across a cluster: Kafka's ZkProducerIdManager. Each broker claims
// blocks of limits.producerIdBlockSize ids from `/latest_producer_id_block`, which holds the
// last block handed out (`{"version":1,"broker":N,"block_start":"S","block_end":"E"}`, both
// ends inclusive). A claim reads the znode with its version and writes the next block at that
// version; a broker that lost the race to another's claim (BAD_VERSION) reads again. So two
// brokers can never hold the same block, and a broker restarting claims a new one (the ids
// of a block it did not finish are never reused).
//
// The znode exists with no data once any broker ran ensurePersistentPaths (as in Kafka): the
// first claim then writes block 0 at version 0. ZkClient.setData sends version 0 as 0 (the
// library's bug is only in its Transaction), so that first claim is fenced like any other.
// When the znode is absent (a ZooKeeper nobody has set up) the claim creates it, and a
// NODE_EXISTS means another broker's creation won.

import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import { ZkError, type ZkClient } from './zk/zk-client.js';
import { ProducerIdBlockZnode, ZkPaths } from './zk/znodes.js';

/** A block claimed: ids blockStart to blockEnd, both inclusive. */
interface ClaimedBlock {
  readonly blockStart: number;
  readonly blockEnd: number;
}

export class ProducerIdBlocks {
  private readonly logger: Logger;
  /** The next id to hand out and the last of the current block; empty (next > end) until the first claim. */
  private nextId = 0;
  private blockEnd = -1;
  private claim: Promise<void> | null = null;

  constructor(
    private readonly zk: ZkClient,
    private readonly brokerId: number,
    logger: Logger,
    private readonly blockSize: number = limits.producerIdBlockSize,
  ) {
    this.logger = logger.child('producer-ids');
  }

  /** A producer id no broker of the cluster has handed out or will. */
  async next(): Promise<number> {
    while (this.nextId > this.blockEnd) {
      // Callers waiting together share one claim; a failed claim fails each of them, and the next call tries again.
      if (this.claim === null) {
        this.claim = this.claimBlock().then(
          (block) => {
            this.nextId = block.blockStart;
            this.blockEnd = block.blockEnd;
            this.claim = null;
          },
          (error: unknown) => {
            this.claim = null;
            throw error;
          },
        );
      }
      await this.claim;
    }
    return this.nextId++;
  }

  /** Kafka's ZkProducerIdManager.getNewProducerIdBlock, with a bound on the attempts lost to other brokers. */
  private async claimBlock(): Promise<ClaimedBlock> {
    for (let attempt = 1; attempt <= limits.producerIdBlockClaimAttemptsMax; attempt++) {
      const read = await this.zk.getData(ZkPaths.latestProducerIdBlock);
      const previous = read === null || read.data === null || read.data.length === 0 ? null : ProducerIdBlockZnode.decode(read.data);
      const blockStart = previous === null ? 0n : previous.blockEnd + 1n;
      const blockEnd = blockStart + BigInt(this.blockSize) - 1n;
      // Kafka's ids are longs; Spate hands them out as numbers, exact only up to 2^53 - 1.
      if (blockEnd > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`producer ids exhausted: the next block would end at ${blockEnd}, beyond 2^53 - 1`);
      const data = ProducerIdBlockZnode.encode({ brokerId: this.brokerId, blockStart, blockEnd });
      try {
        if (read === null) await this.zk.create(ZkPaths.latestProducerIdBlock, data, 'persistent');
        else await this.zk.setData(ZkPaths.latestProducerIdBlock, data, read.stat.version);
      } catch (error) {
        // Another broker claimed (or created the znode) first: read what it wrote and take the block after.
        if (error instanceof ZkError && (error.code === 'BAD_VERSION' || error.code === 'NODE_EXISTS' || error.code === 'NO_NODE')) continue;
        throw error;
      }
      this.logger.info(`claimed producer ids ${blockStart}-${blockEnd} (znode version ${read === null ? 0 : read.stat.version + 1})`);
      return { blockStart: Number(blockStart), blockEnd: Number(blockEnd) };
    }
    throw new Error(`could not claim a producer-id block: ${limits.producerIdBlockClaimAttemptsMax} attempts each lost to another broker's claim`);
  }
}
