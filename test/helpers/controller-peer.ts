// A stand-in broker for the controller's tests: it registers `/brokers/ids/<id>` in
// ZooKeeper with its own session, as a broker does, and serves a TCP port that answers
// ApiVersions, LeaderAndIsr, UpdateMetadata and StopReplica with the generated codecs,
// recording every request it received. Killing it closes its session (its registration goes
// at once) and its port; restarting registers again (a new broker epoch) on the same port.
// The lead's end-to-end tests run real brokers; these only show what the controller sends.

import { createServer, type Server, type Socket } from 'node:net';
import { ZkClient } from '../../src/cluster/zk/zk-client.js';
import { BrokerIdZnode } from '../../src/cluster/zk/znodes.js';
import type { Logger } from '../../src/logger.js';
import { ApiKey, apiVersionsApi, leaderAndIsrApi, stopReplicaApi, updateMetadataApi } from '../../src/protocol/generated/index.js';
import type { LeaderAndIsrRequest } from '../../src/protocol/generated/leader-and-isr-request.js';
import type { StopReplicaRequest } from '../../src/protocol/generated/stop-replica-request.js';
import type { UpdateMetadataRequest } from '../../src/protocol/generated/update-metadata-request.js';
import { writeResponseHeader } from '../../src/protocol/generated/response-header.js';
import { readRequestHeader, responseHeaderVersion } from '../../src/protocol/header.js';
import type { ApiSchema } from '../../src/protocol/message.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import type { Teardownable } from './broker-process.js';

export const quietLogger: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => quietLogger };

export type Received =
  | { readonly api: 'LeaderAndIsr'; readonly version: number; readonly body: LeaderAndIsrRequest }
  | { readonly api: 'UpdateMetadata'; readonly version: number; readonly body: UpdateMetadataRequest }
  | { readonly api: 'StopReplica'; readonly version: number; readonly body: StopReplicaRequest };

const SERVED: ReadonlyMap<number, ApiSchema<object, object>> = new Map<number, ApiSchema<object, object>>([
  [ApiKey.ApiVersions, apiVersionsApi as unknown as ApiSchema<object, object>],
  [ApiKey.LeaderAndIsr, leaderAndIsrApi as unknown as ApiSchema<object, object>],
  [ApiKey.UpdateMetadata, updateMetadataApi as unknown as ApiSchema<object, object>],
  [ApiKey.StopReplica, stopReplicaApi as unknown as ApiSchema<object, object>],
]);

export const WAIT_MS = 15_000;

export class PeerBroker {
  readonly received: Received[] = [];
  private zk: ZkClient | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** The czxid of the current registration (the broker epoch the controller must send). */
  epoch = -1n;
  port = 0;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly id: number,
    private readonly zkConnect: string,
  ) {}

  static async start(t: Teardownable, zkConnect: string, id: number): Promise<PeerBroker> {
    const peer = new PeerBroker(id, zkConnect);
    t.teardown(() => peer.kill());
    await peer.up();
    return peer;
  }

  /** Serves its port and registers (again). */
  async up(): Promise<void> {
    this.server = await listen(this.port, (socket) => this.serve(socket));
    this.port = (this.server.address() as { port: number }).port;
    this.zk = await ZkClient.connect(this.zkConnect, { sessionTimeoutMs: 6_000, connectionTimeoutMs: 5_000, logger: quietLogger });
    await this.zk.createPersistentPath('/brokers/ids');
    const registration = BrokerIdZnode.encode({
      endpoints: [{ listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: this.port }],
      rack: null,
      jmxPort: -1,
      timestampMs: Date.now(),
    });
    await this.zk.create(`/brokers/ids/${this.id}`, registration, 'ephemeral');
    const node = await this.zk.getData(`/brokers/ids/${this.id}`);
    this.epoch = node!.stat.czxid;
  }

  /** Its session closes (the registration goes at once) and its port stops answering. */
  async kill(): Promise<void> {
    const zk = this.zk;
    this.zk = null;
    await zk?.close();
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The first request received (from index `from` on) that matches; waits for it, bounded. */
  async waitFor<A extends Received['api']>(
    api: A,
    match: (request: Extract<Received, { api: A }>) => boolean = () => true,
    from = 0,
    timeoutMs = WAIT_MS,
  ): Promise<Extract<Received, { api: A }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.slice(from).find((request): request is Extract<Received, { api: A }> => request.api === api && match(request as Extract<Received, { api: A }>));
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`broker ${this.id} received no matching ${api} within ${timeoutMs} ms (got ${this.received.map((r) => r.api).join(', ')})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        socket.write(this.answer(frame));
      }
    });
  }

  private answer(frame: Buffer): Buffer {
    const r = new Reader(frame);
    const header = readRequestHeader(r);
    const schema = SERVED.get(header.apiKey)!;
    const body = schema.readRequest(r, header.apiVersion) as Record<string, unknown>;
    let response: object;
    switch (header.apiKey) {
      case ApiKey.ApiVersions:
        response = {
          ...apiVersionsApi.defaultResponse(),
          apiKeys: [...SERVED.values()].map((served) => ({ apiKey: served.apiKey, minVersion: served.minVersion, maxVersion: served.maxVersion })),
        };
        break;
      case ApiKey.LeaderAndIsr:
        this.record({ api: 'LeaderAndIsr', version: header.apiVersion, body: body as unknown as LeaderAndIsrRequest });
        response = {
          errorCode: 0,
          partitionErrors: [],
          topics: (body as unknown as LeaderAndIsrRequest).topicStates.map((topic) => ({
            topicId: topic.topicId,
            partitionErrors: topic.partitionStates.map((p) => ({ topicName: topic.topicName, partitionIndex: p.partitionIndex, errorCode: 0 })),
          })),
        };
        break;
      case ApiKey.UpdateMetadata:
        this.record({ api: 'UpdateMetadata', version: header.apiVersion, body: body as unknown as UpdateMetadataRequest });
        response = { errorCode: 0 };
        break;
      default: {
        const request = body as unknown as StopReplicaRequest;
        this.record({ api: 'StopReplica', version: header.apiVersion, body: request });
        response = {
          errorCode: 0,
          partitionErrors: request.topicStates.flatMap((topic) =>
            topic.partitionStates.map((p) => ({ topicName: topic.topicName, partitionIndex: p.partitionIndex, errorCode: 0 })),
          ),
        };
      }
    }
    const w = new Writer(256);
    w.int32(0);
    writeResponseHeader(w, responseHeaderVersion(header.apiKey, header.apiVersion), { correlationId: header.correlationId });
    schema.writeResponse(w, header.apiVersion, response);
    const out = w.toBuffer();
    out.writeInt32BE(out.length - 4, 0);
    return out;
  }

  private record(request: Received): void {
    this.received.push(request);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

function listen(port: number, onConnection: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(onConnection);
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Waits until `probe` returns a value other than undefined, bounded. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The promise's value, or an error naming `what` after `timeoutMs`. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
