// Kafka's ZkNodeChangeNotificationListener: a folder of persistent sequential notifications
// (`/config/changes/config_change_<n>`, `/kafka-acl-changes/acl_changes_<n>`, …) that every
// broker watches. Each round reads the children (setting the watch), applies those numbered
// after the last applied, in sequence order, and deletes notifications older than 15 minutes
// (Kafka's changeExpirationMs: every live broker has read them by then, and a broker starting
// later reads the state itself), at most limits.changeNotificationsPurgedPerReadMax a round,
// oldest first.
//
// Rounds run one at a time; a watch firing during a round asks for one more round after it. A
// round that fails (a lost connection) does not advance, so the next one (on the next change,
// or on reconnection) retries from the same notification. A listener is bound to one
// ZooKeeper session: after an expiry its owner makes a new one on the new session.

import { limits } from '../../config/limits.js';
import type { Logger } from '../../logger.js';
import { ZkError, type ZkClient } from './zk-client.js';
import { sequenceNumberOf } from './znodes.js';

/** Kafka's ZkNodeChangeNotificationListener changeExpirationMs. */
export const CHANGE_NOTIFICATION_EXPIRATION_MS = 15 * 60 * 1000;

export interface NotificationListenerOptions {
  /** The folder of notifications. */
  readonly path: string;
  /** The children's name before the sequence number. */
  readonly prefix: 'config_change_' | 'acl_changes_';
  /** Applies one notification (its znode's data); throws only for what a retry may fix (ZooKeeper errors). */
  readonly apply: (path: string, data: Buffer | null) => Promise<void>;
  /**
   * true: the notifications present at the first read count as applied (the owner reads the
   * state whole just after), and start() rejects when that read fails. false: they are applied.
   */
  readonly skipExisting: boolean;
  /** A folder not there yet: watch for its creation (true), or leave it to the owner, which made it (false). */
  readonly watchCreation: boolean;
  readonly logger: Logger;
  /** The clock notifications' ages are measured with (tests move it). */
  readonly nowMs?: () => number;
}

export class ZkNotificationListener {
  /** The sequence number of the last notification applied (Kafka's lastExecutedChange); null until the first read of a skipExisting listener. */
  private lastApplied: number | null;
  private running: Promise<void> | null = null;
  private roundAgain = false;
  private watchArmed = false;
  private closed = false;
  private firstReadFailure = '';
  private readonly nowMs: () => number;
  private readonly onConnected = () => void this.schedule();

  constructor(
    private readonly zk: ZkClient,
    private readonly options: NotificationListenerOptions,
  ) {
    this.lastApplied = options.skipExisting ? null : -1;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** The first round (which sets the watch); resolves once it is done. */
  async start(): Promise<void> {
    this.zk.on('connected', this.onConnected);
    await this.schedule();
    if (this.lastApplied === null) {
      await this.close();
      throw new Error(`could not read ${this.options.path}: ${this.firstReadFailure}`);
    }
  }

  /** Stops: no callback after this resolves (a round in progress finishes its current notification first). */
  async close(): Promise<void> {
    this.closed = true;
    this.zk.off('connected', this.onConnected);
    await this.running;
  }

  /** Runs a round now, or one more after the round in progress; resolves when the rounds asked for so far are done. */
  schedule(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running !== null) {
      this.roundAgain = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.roundAgain = false;
        await this.round();
      } while (this.roundAgain && !this.closed);
      this.running = null;
    })();
    return this.running;
  }

  private async round(): Promise<void> {
    const { path } = this.options;
    try {
      const children = await this.readChildren();
      if (children === null) return;
      const notifications = children
        .map((child) => ({ child, number: Number(sequenceNumberOf(child, this.options.prefix) ?? NaN) }))
        .filter((entry) => !Number.isNaN(entry.number))
        .sort((a, b) => a.number - b.number);
      const nowMs = this.nowMs();
      if (this.lastApplied === null) {
        this.lastApplied = notifications.at(-1)?.number ?? -1;
      } else {
        for (const { child, number } of notifications) {
          if (this.closed) return;
          if (number <= this.lastApplied) continue;
          const read = await this.zk.getData(`${path}/${child}`);
          // Gone: purged by another broker meanwhile, so older than 15 minutes, so already applied.
          if (read !== null) await this.options.apply(`${path}/${child}`, read.data);
          this.lastApplied = number;
        }
      }
      await this.purgeObsolete(nowMs, notifications.map(({ child }) => child));
    } catch (error) {
      if (this.lastApplied === null) {
        this.firstReadFailure = (error as Error).message;
        return;
      }
      // A lost connection or session: the next round (the next change, or the reconnection) starts again from lastApplied.
      this.options.logger.warn(`processing ${path} failed, retried on the next change or reconnection: ${(error as Error).message}`);
    }
  }

  /**
   * The folder's children, setting the watch when none is set; null when the folder is not there
   * (with watchCreation, a watch for its creation is set instead).
   */
  private async readChildren(): Promise<string[] | null> {
    const { path } = this.options;
    // One watch at a time: a watch already set fires for any change after the read that set it.
    // Marked armed before the read, not after: the watch can fire (a notification created just
    // after the read) before the read's answer is taken in here, and marking it then would leave
    // no watch set while saying there is one, so no later change would be seen.
    let watch: (() => void) | undefined;
    if (!this.watchArmed) {
      this.watchArmed = true;
      watch = () => {
        this.watchArmed = false;
        void this.schedule();
      };
    }
    let children: string[] | null;
    try {
      children = await this.zk.getChildren(path, watch);
    } catch (error) {
      if (watch !== undefined) this.watchArmed = false; // not set; a spare one would only cost a round
      throw error;
    }
    if (children !== null) return children;
    if (watch !== undefined) this.watchArmed = false; // no watch is set on a missing node
    if (this.options.watchCreation && !this.watchArmed) {
      this.watchArmed = true;
      const stat = await this.zk
        .exists(path, () => {
          this.watchArmed = false;
          void this.schedule();
        })
        .catch((error: unknown) => {
          this.watchArmed = false;
          throw error;
        });
      if (stat !== null) {
        // Created meanwhile: read it again, setting the children watch (the exists watch fires only on its data or deletion).
        this.watchArmed = false;
        this.roundAgain = true;
      }
    }
    return null;
  }

  /** Deletes the oldest notifications created more than 15 minutes before `nowMs`, stopping at the first younger one (another broker deleting one first is fine). */
  private async purgeObsolete(nowMs: number, children: readonly string[]): Promise<void> {
    for (const child of children.slice(0, limits.changeNotificationsPurgedPerReadMax)) {
      const path = `${this.options.path}/${child}`;
      const stat = await this.zk.exists(path);
      if (stat === null) continue;
      if (nowMs - stat.ctimeMs <= CHANGE_NOTIFICATION_EXPIRATION_MS) return;
      try {
        await this.zk.remove(path, -1);
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
      }
    }
  }
}
