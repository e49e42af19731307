// The controller's connections to the brokers (Kafka's ControllerChannelManager): one queue
// and one connection per live broker, its requests sent one at a time in order. A lost
// connection or an unanswered request is retried, with backoff, on a new connection for as
// long as the broker is live; removing the broker (it died) or closing the channel (the
// controller resigned) drops its queue at once, and nothing more is sent. A queue that
// reaches limits.controllerRequestsQueuedPerBrokerMax is dropped and `onOverflow` tells the
// controller to send that broker the whole state again, so the bound never loses a change.

import { limits } from '../../config/limits.js';
import type { Logger } from '../../logger.js';
import type { ApiSchema, Encodable } from '../../protocol/message.js';
import { ConnectionError, KafkaClient } from '../../network/kafka-client.js';

/** A connection to one broker: what the controller needs of network/kafka-client.ts's KafkaClient. */
export interface ControllerConnection {
  request<Req extends object, Res extends object>(
    schema: ApiSchema<Req, Res>,
    body: Encodable<Req>,
    options: { readonly maxVersion: number; readonly timeoutMs: number },
  ): Promise<{ readonly body: Res }>;
  close(): void;
}

/** Opens a connection to a broker; tests replace it. Failures are retried with backoff. */
export type ConnectToBroker = (
  endpoint: { readonly host: string; readonly port: number },
  options: { readonly timeoutMs: number; readonly clientId: string },
) => Promise<ControllerConnection>;

export const connectWithKafkaClient: ConnectToBroker = (endpoint, options) =>
  KafkaClient.connect(endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`, options);

/** The answer, or why there will be none (the channel dropped it, or it cannot be sent). */
export type RequestOutcome<Res> = { readonly ok: true; readonly body: Res } | { readonly ok: false; readonly error: Error };

/** One request to one broker. */
export interface ControllerRequest<Req extends object, Res extends object> {
  readonly schema: ApiSchema<Req, Res>;
  readonly maxVersion: number;
  readonly body: Encodable<Req>;
  readonly done?: (outcome: RequestOutcome<Res>) => void;
}

interface Queued {
  readonly name: string;
  send(connection: ControllerConnection): Promise<unknown>;
  done(outcome: RequestOutcome<unknown>): void;
}

export interface BrokerTarget {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

export class ControllerChannel {
  private readonly senders = new Map<number, BrokerSender>();

  constructor(
    private readonly options: {
      readonly controllerId: number;
      readonly connect: ConnectToBroker;
      readonly logger: Logger;
      readonly onOverflow: (brokerId: number) => void;
    },
  ) {}

  /** Starts a queue for a live broker (or replaces one at an older address). */
  addBroker(target: BrokerTarget): void {
    const existing = this.senders.get(target.id);
    if (existing !== undefined) {
      if (existing.target.host === target.host && existing.target.port === target.port) return;
      existing.close();
    }
    this.senders.set(target.id, new BrokerSender(target, this.options.controllerId, this.options.connect, this.options.logger));
  }

  /** The broker died: its queue and connection go. */
  removeBroker(brokerId: number): void {
    this.senders.get(brokerId)?.close();
    this.senders.delete(brokerId);
  }

  hasBroker(brokerId: number): boolean {
    return this.senders.has(brokerId);
  }

  /** Queues a request; false when the broker has no queue (not live). */
  send<Req extends object, Res extends object>(brokerId: number, request: ControllerRequest<Req, Res>): boolean {
    const sender = this.senders.get(brokerId);
    if (sender === undefined) {
      this.options.logger.debug(`not sending ${request.schema.name} to broker ${brokerId}: it is not live`);
      request.done?.({ ok: false, error: new ConnectionError(`broker ${brokerId} is not live`) });
      return false;
    }
    const queued: Queued = {
      name: request.schema.name,
      send: async (connection) =>
        (await connection.request(request.schema, request.body, { maxVersion: request.maxVersion, timeoutMs: limits.controllerSocketTimeoutMs })).body,
      done: (outcome) => request.done?.(outcome as RequestOutcome<Res>),
    };
    if (!sender.enqueue(queued)) {
      this.options.logger.error(
        `the request queue of broker ${brokerId} reached ${limits.controllerRequestsQueuedPerBrokerMax}: dropped; the broker gets the whole state again`,
      );
      this.removeBroker(brokerId);
      this.addBroker(sender.target);
      this.options.onOverflow(brokerId);
      return false;
    }
    return true;
  }

  /** The controller resigned: every queue and connection goes; queued requests are dropped. */
  close(): void {
    for (const sender of this.senders.values()) sender.close();
    this.senders.clear();
  }
}

/** Kafka's RequestSendThread: one broker's queue, sent in order over one connection. */
class BrokerSender {
  private readonly queue: Queued[] = [];
  private connection: ControllerConnection | null = null;
  private running = false;
  private closed = false;
  private backoffMs: number = limits.controllerBrokerBackoffMsMin;
  private wake: (() => void) | null = null;

  constructor(
    readonly target: BrokerTarget,
    private readonly controllerId: number,
    private readonly connect: ConnectToBroker,
    private readonly logger: Logger,
  ) {}

  enqueue(request: Queued): boolean {
    if (this.closed) return false;
    if (this.queue.length >= limits.controllerRequestsQueuedPerBrokerMax) return false;
    this.queue.push(request);
    if (!this.running) void this.run();
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection?.close();
    this.connection = null;
    this.wake?.();
    const dropped = this.queue.splice(0);
    for (const request of dropped) request.done({ ok: false, error: new ConnectionError(`the controller's channel to broker ${this.target.id} closed`) });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const request = this.queue[0]!;
        let connection = this.connection;
        try {
          if (connection === null) {
            connection = await this.connect(
              { host: this.target.host, port: this.target.port },
              { timeoutMs: limits.controllerSocketTimeoutMs, clientId: `controller-${this.controllerId}` },
            );
            if (this.closed) {
              connection.close();
              return;
            }
            this.connection = connection;
          }
        } catch (error) {
          await this.retryLater(`cannot connect to broker ${this.target.id} at ${this.target.host}:${this.target.port}: ${(error as Error).message}`);
          continue;
        }
        let outcome: RequestOutcome<unknown>;
        try {
          outcome = { ok: true, body: await request.send(connection) };
        } catch (error) {
          if (this.closed) return;
          if (error instanceof ConnectionError) {
            connection.close();
            this.connection = null;
            await this.retryLater(`${request.name} to broker ${this.target.id} failed: ${error.message}`);
            continue;
          }
          // Not the network's fault (no common version, a body that does not encode): it can never succeed.
          this.logger.error(`${request.name} to broker ${this.target.id} cannot be sent: ${(error as Error).message}; dropped`);
          outcome = { ok: false, error: error as Error };
        }
        if (this.closed) return;
        this.queue.shift();
        this.backoffMs = limits.controllerBrokerBackoffMsMin;
        request.done(outcome);
      }
    } finally {
      this.running = false;
    }
  }

  private async retryLater(reason: string): Promise<void> {
    if (this.closed) return;
    this.logger.warn(`${reason}; retrying in ${this.backoffMs} ms`);
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, limits.controllerBrokerBackoffMsMax);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, delayMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }
}
