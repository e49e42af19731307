// The WebSocket consumer endpoint, `/ws` of the HTTP listeners: each socket logs in, subscribes
// once, and is read for with a WsConsumer (ws-consumer.ts), in a consumer group through a
// GroupMember (group-member.ts) when it names one. The protocol is docs/websocket-protocol.md.
//
// Everything a socket does goes through a LocalClient (http/local-client.ts) as its user: the
// Kafka handlers decide what it may read, exactly as they do for a Kafka connection. Messages from
// the client are small JSON commands, at most limits.wsMessageBytesMax each; the sockets are
// bounded by limits.wsConnectionsMax (http-server.ts).

import { limits } from '../config/limits.js';
import type { BrokerServices } from '../handlers/handler.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { Logger } from '../logger.js';
import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import type { HttpAuthenticator, HttpLogin } from '../http/http-auth.js';
import type { HttpRequest, HttpServer, HttpWebSocket } from '../http/http-server.js';
import { LocalClient } from '../http/local-client.js';
import { GroupMember, type TopicPartitionRef } from './group-member.js';
import type { BinaryItem, DecodedItem, JsonItem } from './record-decoder.js';
import { ListOffsetsError, WsConsumer, type ConsumerSink, type Decoder, type PartitionRouting, type StartPoint } from './ws-consumer.js';

export const WS_PATH = '/ws';
export const WS_PROTOCOL = 'spate.v1';
export const PROTOCOL_VERSION = 1;

export const CloseCode = { normal: 1000, goingAway: 1001, badMessage: 4400, unauthenticated: 4401, forbidden: 4403, unknown: 4404, rebalanced: 4409 } as const;

/** Topics or partitions one subscription may name. */
const SUBSCRIPTION_ENTRIES_MAX = 1_000;
const NAME_CHARS_MAX = 249;

export interface WsRouteServices {
  readonly services: BrokerServices;
  readonly registry: HandlerRegistry;
  readonly auth: HttpAuthenticator;
  readonly decoder: Decoder;
  readonly logger: Logger;
}

/** Registers `/ws` on the HTTP server. */
export function routeWebSocketConsumers(http: HttpServer, services: WsRouteServices): void {
  http.websocket(WS_PATH, {
    // spate.v1 when offered; a client that offers none gets v1 too; one offering only others is refused.
    protocol: (offered) => (offered.size === 0 ? undefined : offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    handler: (socket, request) => new WsSession(socket, request, services).start(),
  });
}

class ProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

class WsSession {
  private client: LocalClient | null = null;
  private consumer: WsConsumer | null = null;
  private member: GroupMember | null = null;
  private loginTimer: NodeJS.Timeout | null = null;
  private loggingIn = false;
  private subscribing = false;
  /** Credit granted while the subscription is being set up, handed to the consumer once it exists. */
  private readonly earlyCredit = { records: 0, bytes: 0 };
  private closed = false;
  /** Commands handled and not yet answered (each may be a request to the broker's handlers). */
  private commandsInFlight = 0;
  /** Whether reading from the socket is paused (too many commands in flight, or answers unread). */
  private readingPaused = false;

  constructor(
    private readonly socket: HttpWebSocket,
    private readonly request: HttpRequest,
    private readonly services: WsRouteServices,
  ) {}

  start(): void {
    this.socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    this.socket.on('close', () => this.closedBySocket());
    this.socket.on('error', (error) => this.services.logger.debug(`WebSocket ${this.request.remoteAddress}: ${error.message}`));
    const authorization = this.request.headers.authorization;
    if (typeof authorization === 'string' && authorization !== '') {
      this.loggingIn = true;
      void this.services.auth.fromHeader(authorization, this.request).then((login) => this.loggedIn(login));
      return;
    }
    this.loginTimer = setTimeout(() => this.close(CloseCode.unauthenticated, `no login within ${limits.wsLoginTimeoutMs} ms`), limits.wsLoginTimeoutMs);
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    let message: Record<string, unknown>;
    try {
      if (isBinary) throw new Error('binary message');
      const parsed: unknown = JSON.parse(data.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as { op?: unknown }).op !== 'string') throw new Error('not an object with an op');
      message = parsed as Record<string, unknown>;
    } catch (error) {
      this.close(CloseCode.badMessage, `a message must be a JSON object with an "op" (${(error as Error).message})`);
      return;
    }
    const op = message.op as string;
    this.commandsInFlight++;
    this.paceReading();
    void this.handle(op, message)
      .catch((error: unknown) => {
        if (this.closed) return;
        if (error instanceof ProtocolError) this.send({ type: 'error', code: error.code, message: error.message, op });
        else if (error instanceof BrokerError) this.send({ type: 'error', code: error.errorName, message: error.message, op });
        else {
          this.services.logger.error(`WebSocket ${op} from ${this.request.remoteAddress} failed: ${(error as Error).stack ?? String(error)}`);
          this.send({ type: 'error', code: 'UNKNOWN_SERVER_ERROR', message: 'the broker failed to serve this request', op });
        }
      })
      .finally(() => {
        this.commandsInFlight--;
        this.paceReading();
      });
  }

  /**
   * Backpressure on the client's commands: its socket is not read while limits.wsCommandsInFlightMax
   * commands are unanswered or limits.wsBufferedBytesMax of what it was sent is unsent (a client
   * that sends and never reads would otherwise grow the broker's memory by every answer). Called
   * whenever either changes: a command starts or ends, a send is written out.
   */
  private paceReading(): void {
    if (this.closed) return;
    const over = this.commandsInFlight >= limits.wsCommandsInFlightMax || this.socket.bufferedAmount >= limits.wsBufferedBytesMax;
    if (over === this.readingPaused) return;
    this.readingPaused = over;
    if (over) this.socket.pause();
    else this.socket.resume();
  }

  private async handle(op: string, message: Record<string, unknown>): Promise<void> {
    if (op === 'auth') return this.auth(message);
    if (this.client === null) {
      this.close(CloseCode.unauthenticated, `"${op}" before logging in`);
      return;
    }
    switch (op) {
      case 'subscribe':
        return this.subscribe(message);
      case 'credit':
        return this.credit(message);
      case 'commit':
        return this.commit(message);
      case 'seek':
        return this.seek(message);
      case 'pause':
      case 'resume':
        this.requireConsumer().setPaused(partitionList(message.partitions), op === 'pause');
        return;
      default:
        throw new ProtocolError('INVALID_REQUEST', `unknown op "${op.slice(0, 32)}"`);
    }
  }

  private async auth(message: Record<string, unknown>): Promise<void> {
    if (this.client !== null || this.loggingIn) throw new ProtocolError('INVALID_REQUEST', 'already logged in');
    this.loggingIn = true;
    const { auth } = this.services;
    let login: HttpLogin;
    if (typeof message.token === 'string') login = await auth.withToken(message.token);
    else if (typeof message.username === 'string' && typeof message.password === 'string') login = await auth.withPassword(message.username, message.password, this.request);
    else login = auth.anonymousAllowed ? { kind: 'anonymous', principal: 'User:ANONYMOUS' } : { kind: 'missing' };
    this.loggedIn(login);
  }

  private loggedIn(login: HttpLogin): void {
    if (this.closed) return;
    if (this.loginTimer !== null) clearTimeout(this.loginTimer);
    this.loginTimer = null;
    if (login.kind === 'failed' || login.kind === 'missing') {
      if (login.kind === 'failed') this.services.logger.info(`WebSocket login from ${this.request.remoteAddress} failed: ${login.reason}`);
      this.close(CloseCode.unauthenticated, login.kind === 'missing' ? 'log in first: this broker needs a user' : 'authentication failed');
      return;
    }
    const { services, registry } = this.services;
    this.client = new LocalClient({ services, registry, principal: login.principal, clientHost: this.request.remoteAddress, clientId: 'spate-ws' });
    this.send({ type: 'ready', version: PROTOCOL_VERSION, principal: login.principal });
  }

  private async subscribe(message: Record<string, unknown>): Promise<void> {
    if (this.consumer !== null || this.subscribing) throw new ProtocolError('INVALID_REQUEST', 'this connection is already subscribed');
    this.subscribing = true;
    const client = this.client!;
    const format = message.format === undefined ? 'json' : oneOf(message.format, ['json', 'binary'] as const, 'format');
    const keyEncoding = message.key === undefined ? 'text' : oneOf(message.key, ['text', 'json', 'base64'] as const, 'key');
    const valueEncoding = message.value === undefined ? 'text' : oneOf(message.value, ['text', 'json', 'base64'] as const, 'value');
    const start = startPoint(message.from);
    const group = message.group === undefined ? null : name(message.group, 'group');
    const topics = message.topics === undefined ? null : list(message.topics, 'topics').map((entry) => name(entry, 'topics'));
    const partitions = message.partitions === undefined ? null : partitionList(message.partitions, true);
    if ((topics === null) === (partitions === null)) throw new ProtocolError('INVALID_REQUEST', 'subscribe names either "topics" or "partitions"');
    if (group !== null && topics === null) throw new ProtocolError('INVALID_REQUEST', 'a group subscription names "topics"');
    const wanted = topics ?? [...new Set(partitions!.map((entry) => entry.topic))];
    if (wanted.length === 0) throw new ProtocolError('INVALID_REQUEST', 'subscribe names no topic');

    // The topics as this user sees them: one it may not describe is unknown, as on the Kafka port.
    const metadata = await client.metadata(wanted);
    // Closed meanwhile: nothing may start reading, or join a group, for a socket already gone.
    if (this.closed) return;
    const counts = new Map<string, number>();
    for (const topic of metadata.topics) {
      if (topic.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED) return this.close(CloseCode.forbidden, `TOPIC_AUTHORIZATION_FAILED: ${topic.name}`);
      if (topic.errorCode !== ErrorCode.NONE) return this.close(CloseCode.unknown, `${errorName(topic.errorCode)}: ${topic.name}`);
      counts.set(topic.name!, topic.partitions.length);
    }
    const { authorizer } = this.services.services;
    for (const topic of wanted) {
      if (!counts.has(topic)) return this.close(CloseCode.unknown, `UNKNOWN_TOPIC_OR_PARTITION: ${topic}`);
      if (!authorizer.authorize(client.principal, this.request.remoteAddress, AclOperation.READ, ResourceType.TOPIC, topic)) return this.close(CloseCode.forbidden, `TOPIC_AUTHORIZATION_FAILED: ${topic}`);
    }
    if (group !== null && !authorizer.authorize(client.principal, this.request.remoteAddress, AclOperation.READ, ResourceType.GROUP, group)) {
      return this.close(CloseCode.forbidden, `GROUP_AUTHORIZATION_FAILED: ${group}`);
    }
    for (const entry of partitions ?? []) {
      if (entry.partition >= counts.get(entry.topic)!) return this.close(CloseCode.unknown, `UNKNOWN_TOPIC_OR_PARTITION: ${entry.topic}-${entry.partition}`);
    }

    const reset = start.kind === 'earliest' ? 'earliest' : 'latest';
    const consumer = new WsConsumer(client, this.services.decoder, this.sink(), { format, key: keyEncoding, value: valueEncoding }, reset, this.routing(client));
    this.consumer = consumer;
    consumer.grant(this.earlyCredit.records, this.earlyCredit.bytes);
    if (group === null) {
      const chosen = partitions ?? topics!.flatMap((topic) => Array.from({ length: counts.get(topic)! }, (_, partition) => ({ topic, partition })));
      const started = await this.startReading(chosen, start);
      if (started !== null) this.send({ type: 'assigned', partitions: started });
      return;
    }
    const routing = this.routing(client);
    const member = new GroupMember(client, this.services.services.config.brokerId, (brokerId) => routing.requester(brokerId), group, topics!, {
      assigned: (assigned) => void this.assigned(member, assigned, start),
      revoked: (revoked) => {
        consumer.remove(revoked);
        this.send({ type: 'revoked', partitions: revoked });
      },
      failed: (error) => this.close(error.errorCode === ErrorCode.GROUP_AUTHORIZATION_FAILED ? CloseCode.forbidden : CloseCode.rebalanced, `${error.errorName}: group ${group}`),
    });
    this.member = member;
    try {
      await member.join();
    } catch (error) {
      if (error instanceof BrokerError) {
        this.close(error.errorCode === ErrorCode.GROUP_AUTHORIZATION_FAILED ? CloseCode.forbidden : CloseCode.rebalanced, `${error.errorName}: group ${group}`);
        return;
      }
      throw error;
    }
  }

  /** A group's assignment: each partition from the group's committed offset, else from `start`. */
  private async assigned(member: GroupMember, partitions: readonly TopicPartitionRef[], start: StartPoint): Promise<void> {
    if (this.closed) return;
    try {
      const committed = partitions.length === 0 ? new Map<string, number>() : await member.committed(partitions);
      const withOffsets = partitions.map((entry) => {
        const offset = committed.get(`${entry.topic}:${entry.partition}`) ?? -1;
        return offset >= 0 ? { ...entry, offset } : entry;
      });
      const started = await this.startReading(withOffsets, start);
      if (started !== null) this.send({ type: 'assigned', partitions: started });
    } catch (error) {
      if (this.closed) return;
      this.send({ type: 'error', code: error instanceof BrokerError ? error.errorName : 'UNKNOWN_SERVER_ERROR', message: `cannot start reading the assignment: ${(error as Error).message}`, op: 'subscribe' });
    }
  }

  private async startReading(partitions: readonly (TopicPartitionRef & { readonly offset?: number })[], start: StartPoint): Promise<(TopicPartitionRef & { offset: number })[] | null> {
    try {
      return await this.consumer!.add(partitions, start);
    } catch (error) {
      if (error instanceof ListOffsetsError && error.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED) {
        this.close(CloseCode.forbidden, `TOPIC_AUTHORIZATION_FAILED: ${error.topic}`);
        return null;
      }
      if (error instanceof ListOffsetsError) throw new ProtocolError(errorName(error.errorCode), error.message);
      throw error;
    }
  }

  private credit(message: Record<string, unknown>): void {
    const records = message.records === undefined ? 0 : count(message.records, 'records');
    const bytes = message.bytes === undefined ? 0 : count(message.bytes, 'bytes');
    if (this.consumer === null && this.subscribing) {
      this.earlyCredit.records = Math.min(this.earlyCredit.records + records, Number.MAX_SAFE_INTEGER);
      this.earlyCredit.bytes = Math.min(this.earlyCredit.bytes + bytes, Number.MAX_SAFE_INTEGER);
      return;
    }
    this.requireConsumer().grant(records, bytes);
  }

  private async commit(message: Record<string, unknown>): Promise<void> {
    const consumer = this.requireConsumer();
    if (this.member === null) throw new ProtocolError('INVALID_REQUEST', 'commit needs a group subscription');
    const offsets =
      message.offsets === undefined
        ? consumer.deliveredOffsets()
        : list(message.offsets, 'offsets').map((entry) => {
            const partition = partitionRef(entry);
            return { ...partition, offset: count((entry as { offset?: unknown }).offset, 'offset') };
          });
    const results = offsets.length === 0 ? [] : await this.member.commit(offsets);
    this.send({ type: 'committed', offsets: results.map((entry) => (entry.error === null ? { topic: entry.topic, partition: entry.partition, offset: entry.offset } : entry)) });
  }

  private async seek(message: Record<string, unknown>): Promise<void> {
    const consumer = this.requireConsumer();
    const partition = partitionRef(message);
    if (!consumer.owns(partition)) throw new ProtocolError('INVALID_REQUEST', `${partition.topic}-${partition.partition} is not read by this subscription`);
    const start: StartPoint =
      message.offset !== undefined
        ? { kind: 'offset', offset: count(message.offset, 'offset') }
        : message.timestamp !== undefined
          ? { kind: 'timestamp', timestamp: count(message.timestamp, 'timestamp') }
          : { kind: oneOf(message.position, ['earliest', 'latest'] as const, 'position') };
    const offset = await consumer.seek(partition, start);
    this.send({ type: 'seeked', topic: partition.topic, partition: partition.partition, offset });
  }

  private requireConsumer(): WsConsumer {
    if (this.consumer === null) throw new ProtocolError('INVALID_REQUEST', 'subscribe first');
    return this.consumer;
  }

  /** Partitions this broker leads are read through the user's LocalClient; the others, in a cluster, from their leaders as this broker (after the user's READ is checked here). */
  private routing(client: LocalClient): PartitionRouting {
    const { services } = this.services;
    const cluster = services.cluster;
    const remote = new Map<number, KafkaRequester>();
    return {
      self: services.config.brokerId,
      requester: (leader) => {
        if (cluster === null || leader < 0) return null;
        let requester = remote.get(leader);
        if (requester === undefined) {
          requester = {
            request: (schema, body, options) => cluster.forward(leader, schema, body, options),
            metadata: () => Promise.reject(new Error('Metadata is asked of this broker')),
            // The other broker's versions are the inter-broker client's to pick (BrokerClients negotiates them).
            pickVersion: (schema, cap = Number.MAX_SAFE_INTEGER) => Math.min(schema.maxVersion, cap),
          };
          remote.set(leader, requester);
        }
        return requester;
      },
      mayRead: (topic) => services.authorizer.authorize(client.principal, this.request.remoteAddress, AclOperation.READ, ResourceType.TOPIC, topic),
    };
  }

  private sink(): ConsumerSink {
    const socket = this.socket;
    const drained = (): void => {
      this.paceReading();
      this.consumer?.poke();
    };
    return {
      writable: () => !this.closed && socket.bufferedAmount < limits.wsBufferedBytesMax,
      sendRecords: (items: readonly DecodedItem[], format) => {
        if (this.closed) return;
        if (format === 'json') {
          socket.send(`{"type":"records","records":[${items.map((item) => (item as JsonItem).json).join(',')}]}`, drained);
          return;
        }
        for (let index = 0; index < items.length; index++) socket.send((items[index] as BinaryItem).frame, { binary: true }, index === items.length - 1 ? drained : undefined);
      },
      error: (code, message, partition) => this.send({ type: 'error', code, message, ...(partition === undefined ? {} : { topic: partition.topic, partition: partition.partition }) }),
    };
  }

  private send(message: object): void {
    if (this.closed) return;
    this.socket.send(JSON.stringify(message), () => this.paceReading());
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    // A close reason is at most 123 bytes.
    this.socket.close(code, Buffer.from(reason, 'utf8').subarray(0, 123).toString('utf8').replace(/\uFFFD$/, ''));
    this.closedBySocket();
  }

  private closedBySocket(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.loginTimer !== null) clearTimeout(this.loginTimer);
    this.consumer?.close();
    void this.member?.leave();
  }
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ProtocolError('INVALID_REQUEST', `"${field}" is one of ${allowed.join(', ')}`);
}

function list(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value) || value.length > SUBSCRIPTION_ENTRIES_MAX) throw new ProtocolError('INVALID_REQUEST', `"${field}" is a list of at most ${SUBSCRIPTION_ENTRIES_MAX}`);
  return value;
}

function name(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > NAME_CHARS_MAX) throw new ProtocolError('INVALID_REQUEST', `"${field}" names are 1-${NAME_CHARS_MAX} characters`);
  return value;
}

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new ProtocolError('INVALID_REQUEST', `"${field}" is a whole number, 0 or more`);
  return value;
}

function partitionRef(value: unknown): TopicPartitionRef {
  const entry = value as { topic?: unknown; partition?: unknown } | null;
  if (typeof entry !== 'object' || entry === null) throw new ProtocolError('INVALID_REQUEST', 'a partition is {"topic","partition"}');
  const partition = entry.partition;
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) throw new ProtocolError('INVALID_REQUEST', '"partition" is a partition number');
  return { topic: name(entry.topic, 'topic'), partition };
}

function partitionList(value: unknown, withOffsets = false): (TopicPartitionRef & { offset?: number })[] {
  return list(value, 'partitions').map((entry) => {
    const partition = partitionRef(entry);
    const offset = withOffsets ? (entry as { offset?: unknown }).offset : undefined;
    return offset === undefined ? partition : { ...partition, offset: count(offset, 'offset') };
  });
}

function startPoint(value: unknown): StartPoint {
  if (value === undefined || value === 'latest') return { kind: 'latest' };
  if (value === 'earliest') return { kind: 'earliest' };
  if (typeof value === 'object' && value !== null) {
    const entry = value as { offset?: unknown; timestamp?: unknown };
    if (entry.offset !== undefined) return { kind: 'offset', offset: count(entry.offset, 'from.offset') };
    if (entry.timestamp !== undefined) return { kind: 'timestamp', timestamp: count(entry.timestamp, 'from.timestamp') };
  }
  throw new ProtocolError('INVALID_REQUEST', '"from" is "earliest", "latest", {"offset":n} or {"timestamp":ms}');
}

