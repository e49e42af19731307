// Where the dynamic broker configs (KIP-226) are kept, by level: "" for the cluster default,
// a broker id for that broker's own. The controller reads and changes them through this
// interface; an embedded broker keeps them with its metadata (LocalBrokerConfigStore, below),
// a broker of a cluster in ZooKeeper (src/cluster/zk-broker-configs.ts), where every broker
// reads them, as Kafka's ZooKeeper mode does.

import type { MetadataStore } from './metadata-store.js';

/** One level's configs as read now, and the version a write of the level is conditional on. */
export interface StoredBrokerConfigs {
  readonly configs: Readonly<Record<string, string>>;
  /** Opaque to the controller: handed back to `write`. */
  readonly version: number;
}

export interface BrokerConfigStore {
  /** The level's configs as this broker last read them: what its effective configuration is made of. */
  brokerConfigs(level: string): Readonly<Record<string, string>>;
  /** The level's configs as they stand now (another broker may have changed them), to compute a change from. */
  read(level: string): Promise<StoredBrokerConfigs>;
  /**
   * Replaces the level's whole set (an empty set: none), if it is still at `version`; false
   * when it changed since it was read (read again). Once true, `brokerConfigs(level)` is the new set.
   */
  write(level: string, configs: Readonly<Record<string, string>>, version: number): Promise<boolean>;
}

/** A failure of the store with the Kafka error code the request is answered with. */
export class BrokerConfigStoreError extends Error {
  override readonly name = 'BrokerConfigStoreError';
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The embedded broker's: its metadata store (snapshot and journal). Changes are serialized by the controller, so no write ever meets another. */
export class LocalBrokerConfigStore implements BrokerConfigStore {
  constructor(private readonly store: MetadataStore) {}

  brokerConfigs(level: string): Readonly<Record<string, string>> {
    return this.store.brokerConfigs(level);
  }

  read(level: string): Promise<StoredBrokerConfigs> {
    return Promise.resolve({ configs: this.store.brokerConfigs(level), version: 0 });
  }

  async write(level: string, configs: Readonly<Record<string, string>>): Promise<boolean> {
    await this.store.setBrokerConfigs(level, configs);
    return true;
  }
}
