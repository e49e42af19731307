// What the CLI's coordinator commands share (`groups`, `transactions`): the bootstrap
// connection plus one per broker talked to, a key's coordinator found with FindCoordinator
// (key type GROUP or TRANSACTION) and remembered, and requests to it retried while the
// coordinator loads or moves, within the request timeout.

import { connect, type Context } from './command.js';
import { BrokerError, ConnectionError } from './errors.js';
import type { KafkaClient } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { findCoordinatorApi } from '../protocol/generated/index.js';

export const CoordinatorKeyType = { group: 0, transaction: 1 } as const;
/** FindCoordinator v1+ carries the key type. */
const KEY_TYPE_COORDINATOR_VERSION = 1;
/** FindCoordinator v4+ looks up a batch of keys (KIP-699). */
const BATCHED_COORDINATOR_VERSION = 4;
/** Errors that mean "ask again (maybe another broker) in a moment". */
export const COORDINATOR_RETRIABLE: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);
/** How often NOT_COORDINATOR is retried: a coordinator that keeps disowning the key will not change its mind. */
const NOT_COORDINATOR_ATTEMPTS = 4;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Node {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export function addressOf(node: Node): string {
  return node.host.includes(':') ? `[${node.host}]:${node.port}` : `${node.host}:${node.port}`;
}

export class CoordinatorAdmin {
  private readonly connections = new Map<string, KafkaClient>();
  private readonly coordinators = new Map<string, { node: Node; client: KafkaClient }>();

  /** Bound on each wait (the context's). */
  readonly timeoutMs: number;

  /** @param subject how errors name a key's coordinator ("the coordinator of group …") */
  protected constructor(
    readonly client: KafkaClient,
    private readonly context: Context,
    private readonly keyType: (typeof CoordinatorKeyType)[keyof typeof CoordinatorKeyType],
    private readonly subject: (key: string) => string,
  ) {
    this.timeoutMs = context.timeoutMs;
  }

  protected static async connectBootstrap(context: Context): Promise<KafkaClient> {
    return connect(context);
  }

  close(): void {
    for (const client of this.connections.values()) if (client !== this.client) client.close();
    this.client.close();
  }

  /**
   * A connection to `node`. Where its advertised address cannot be reached (NAT, a container's
   * name) and `fallBack` says so — a single broker, which the bootstrap connection is anyway —
   * the bootstrap connection.
   */
  async connect(node: Node, fallBack: boolean): Promise<KafkaClient> {
    const address = addressOf(node);
    if (address === this.client.address) return this.client;
    const open = this.connections.get(address);
    if (open !== undefined) return open;
    let client: KafkaClient;
    try {
      client = await connect(this.context, address);
    } catch (error) {
      if (!(error instanceof ConnectionError) || !fallBack) throw error;
      client = this.client;
    }
    this.connections.set(address, client);
    return client;
  }

  /**
   * The key's coordinator and a connection to it. `fallBack` as for connect: whether an
   * unreachable coordinator may be answered for by the bootstrap connection.
   */
  async coordinator(key: string, fallBack = true): Promise<{ node: Node; client: KafkaClient }> {
    const known = this.coordinators.get(key);
    if (known !== undefined) return known;
    const node = await this.findCoordinator(key);
    const found = { node, client: await this.connect(node, fallBack) };
    this.coordinators.set(key, found);
    return found;
  }

  /** Runs `attempt` at the key's coordinator, again while it throws a coordinator error (until the timeout). */
  async atCoordinator<T>(key: string, attempt: (client: KafkaClient, node: Node) => Promise<T>, fallBack = true): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    let notCoordinator = 0;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      const { client, node } = await this.coordinator(key, fallBack);
      try {
        return await attempt(client, node);
      } catch (error) {
        if (!(error instanceof BrokerError) || !COORDINATOR_RETRIABLE.has(error.errorCode) || Date.now() + delay > deadline) throw error;
        if (error.errorCode === ErrorCode.NOT_COORDINATOR && ++notCoordinator >= NOT_COORDINATOR_ATTEMPTS) throw error;
        if (error.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) this.coordinators.delete(key);
        await sleep(delay);
      }
    }
  }

  private async findCoordinator(key: string): Promise<Node> {
    const version = this.client.pickVersion(findCoordinatorApi);
    if (this.keyType !== CoordinatorKeyType.group && version < KEY_TYPE_COORDINATOR_VERSION) {
      throw new BrokerError(ErrorCode.UNSUPPORTED_VERSION, `this lookup needs FindCoordinator v${KEY_TYPE_COORDINATOR_VERSION}`, 'FindCoordinator');
    }
    const deadline = Date.now() + this.timeoutMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      const { body } = await this.client.request(findCoordinatorApi, { key, keyType: this.keyType, coordinatorKeys: [key] });
      const answer = version >= BATCHED_COORDINATOR_VERSION ? (body.coordinators.find((c) => c.key === key) ?? body.coordinators[0]) : body;
      if (answer === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'FindCoordinator answered without it', this.subject(key));
      if (answer.errorCode === ErrorCode.NONE) return { nodeId: answer.nodeId, host: answer.host, port: answer.port };
      if (!COORDINATOR_RETRIABLE.has(answer.errorCode) || Date.now() + delay > deadline) throw new BrokerError(answer.errorCode, answer.errorMessage ?? null, this.subject(key));
      await sleep(delay);
    }
  }
}
