// Connections from this broker to the others for the requests brokers send each other outside
// replication and the controller's channel: the transaction coordinator's WriteTxnMarkers to
// partition leaders, and a partition leader's AddPartitionsToTxn (verifyOnly) to a
// transaction coordinator (Kafka's TransactionMarkerChannelManager and
// AddPartitionsToTxnManager). One KafkaClient per broker, on the inter-broker listener, made
// on first use and pipelined; a request that fails on it (lost connection, timeout) drops it,
// and the next request connects again. Clients of brokers that are no longer live are
// closed as new ones are made, so there are never more than the live brokers.

import type { Logger } from '../logger.js';
import { ConnectionError, KafkaClient, type RequestOptions, type Response } from '../network/kafka-client.js';
import type { ApiSchema, Encodable } from '../protocol/message.js';
import type { InterBrokerSecurity } from './inter-broker-security.js';
import type { MetadataCache } from './metadata-cache.js';

export interface BrokerClientsOptions {
  readonly brokerId: number;
  readonly listener: string;
  readonly cache: MetadataCache;
  /** Bounds connecting and, by default, each request (Kafka's request.timeout.ms). */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** The TLS options and login of a new connection (inter-broker-security.ts). */
  readonly security: () => InterBrokerSecurity;
}

interface Held {
  readonly address: string;
  readonly client: Promise<KafkaClient>;
}

export class BrokerClients {
  private readonly clients = new Map<number, Held>();
  private stopped = false;

  constructor(private readonly options: BrokerClientsOptions) {}

  /** Sends a request to a live broker; rejects with ConnectionError when it cannot be reached or does not answer. */
  async request<Req extends object, Res extends object>(brokerId: number, schema: ApiSchema<Req, Res>, body: Encodable<Req>, options: RequestOptions = {}): Promise<Response<Res>> {
    const held = this.connection(brokerId);
    let client: KafkaClient;
    try {
      client = await held.client;
    } catch (error) {
      this.drop(brokerId, held);
      throw error;
    }
    try {
      return await client.request(schema, body, options);
    } catch (error) {
      if (error instanceof ConnectionError) this.drop(brokerId, held);
      throw error;
    }
  }

  private connection(brokerId: number): Held {
    if (this.stopped) throw new ConnectionError('the broker is stopping');
    const endpoint = this.options.cache.endpoint(brokerId, this.options.listener);
    if (endpoint === undefined) throw new ConnectionError(`broker ${brokerId} is not live or has no ${this.options.listener} endpoint`);
    const host = endpoint.host === '' ? 'localhost' : endpoint.host;
    const address = `${host}:${endpoint.port}`;
    const held = this.clients.get(brokerId);
    if (held !== undefined && held.address === address) return held;
    if (held !== undefined) this.drop(brokerId, held);
    this.closeDeparted();
    const client = KafkaClient.connect([{ host, port: endpoint.port }], { timeoutMs: this.options.timeoutMs, clientId: `broker-${this.options.brokerId}`, ...this.options.security() });
    client.catch(() => undefined); // a failed connect is seen by the request that awaits it
    const made = { address, client };
    this.clients.set(brokerId, made);
    return made;
  }

  private drop(brokerId: number, held: Held): void {
    if (this.clients.get(brokerId) === held) this.clients.delete(brokerId);
    held.client.then((client) => client.close(), () => undefined);
  }

  private closeDeparted(): void {
    for (const [brokerId, held] of this.clients) if (!this.options.cache.isLive(brokerId)) this.drop(brokerId, held);
  }

  close(): void {
    this.stopped = true;
    for (const [brokerId, held] of [...this.clients]) this.drop(brokerId, held);
  }
}
