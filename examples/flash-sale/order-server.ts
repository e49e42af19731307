// The flash sale's front door: an HTTP server that takes orders and writes them to `orders`,
// and serves the page that shows each order's result.
//
//   POST /orders {user, item, quantity?}  → 202 {orderId, topic, partition, offset}
//   GET  /api/session?user=U              → {user, wsUrl, topic, partition, offset, items}
//   GET  /  /app.js  /ws-client.js        → the page, its script, and Spate's browser client
//
// Where a result will be: the processor writes it to `order-results` keyed by user, so it lands
// in the user's partition (Kafka's default partitioner, model.ts resultPartition), at an offset
// at or after that partition's high watermark read *before* the order was produced: the result
// is written after the processor read the order, which was after the order was written, and a
// high watermark only grows. So a reader that starts there and keeps the records keyed by its
// user and carrying its order id cannot miss the result. The page subscribes once, when it
// loads (GET /api/session), before it places any order, so every order it places afterwards is
// covered; POST /orders returns the same for clients that subscribe after ordering.
//
// Orders are written in batches by one loop (OrderWriter): it reads the high watermarks of all
// result partitions (one ListOffsets), then produces every order queued meanwhile (one idempotent
// Produce, acks=all), so concurrent requests share round trips and the idempotent producer never
// has two sends racing for its sequence numbers. The queue is bounded (ORDERS_QUEUED_MAX): past it
// a request is answered 503 rather than held.
//
// Static files are read from the source folder (examples/flash-sale/page/, found relative to this
// module in dist/) once at start, like the broker's own /examples/ws-consumer.html: the build
// compiles only .ts, and reading them once means a request touches no disk. /ws-client.js is the
// compiled dist/src/ws-client/index.js, served from this origin so the page's module import needs
// no CORS; the WebSocket itself goes to the broker's HTTP listener (`wsUrl`).

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Admin, FetchIsolationLevels, ProduceAcks, Producer, compatibilityPartitioner, stringSerializers } from '@platformatic/kafka';
import { ORDER_RESULTS_TOPIC, ORDERS_TOPIC, OrderRequestError, parseOrderRequest, resultPartition, type Order } from './model.js';

/** Orders accepted by HTTP and not yet written; past it POST /orders answers 503. */
export const ORDERS_QUEUED_MAX = 5_000;
/** Orders in one Produce request. */
export const ORDERS_PER_BATCH_MAX = 1_000;
/** A POST body larger than this is refused (413): an order is a few dozen bytes. */
export const BODY_BYTES_MAX = 4_096;

export interface OrderServerOptions {
  readonly bootstrap: string;
  /** The broker's WebSocket endpoint as the browser reaches it, e.g. ws://127.0.0.1:8080/ws. */
  readonly wsUrl: string;
  /** Items shown on the page, with the stock the processor starts them at (display only: the processor's store decides). */
  readonly items: ReadonlyArray<{ readonly item: string; readonly stock: number }>;
  readonly host?: string;
  /** 0 (default) for any free port. */
  readonly port?: number;
}

export interface OrderServer {
  readonly url: string;
  readonly port: number;
  /** Orders written to `orders` so far. */
  readonly ordersWritten: number;
  close(): Promise<void>;
}

interface Placement {
  readonly partition: number;
  readonly offset: string;
}

interface QueuedOrder {
  readonly order: Order;
  readonly partition: number;
  resolve(placement: Placement): void;
  reject(error: Error): void;
}

class QueueFullError extends Error {}

/** The one loop that reads high watermarks and writes orders (see the header). */
class OrderWriter {
  private readonly queue: QueuedOrder[] = [];
  private running = false;
  private closed = false;
  written = 0;

  constructor(
    private readonly admin: Admin,
    private readonly producer: Producer<string, string, string, string>,
    readonly resultPartitions: number,
  ) {}

  place(order: Order): Promise<Placement> {
    if (this.closed) return Promise.reject(new Error('the order server is closing'));
    if (this.queue.length >= ORDERS_QUEUED_MAX) return Promise.reject(new QueueFullError(`${ORDERS_QUEUED_MAX} orders are waiting to be written; try again`));
    return new Promise<Placement>((resolve, reject) => {
      this.queue.push({ order, partition: resultPartition(order.user, this.resultPartitions), resolve, reject });
      if (!this.running) void this.run();
    });
  }

  /** The high watermark of every result partition, read before the batch is produced. */
  async highWatermarks(): Promise<bigint[]> {
    const [topic] = await this.admin.listOffsets({
      topics: [{ name: ORDER_RESULTS_TOPIC, partitions: Array.from({ length: this.resultPartitions }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) }],
      isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
    });
    const offsets: bigint[] = [];
    for (const partition of topic?.partitions ?? []) offsets[partition.partitionIndex] = partition.offset;
    for (let partition = 0; partition < this.resultPartitions; partition++) {
      if (offsets[partition] === undefined) throw new Error(`ListOffsets gave no offset for ${ORDER_RESULTS_TOPIC}-${partition}`);
    }
    return offsets;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, ORDERS_PER_BATCH_MAX);
        try {
          const highWatermarks = await this.highWatermarks();
          await this.producer.send({
            messages: batch.map(({ order }) => ({ topic: ORDERS_TOPIC, key: order.item, value: JSON.stringify(order) })),
          });
          this.written += batch.length;
          for (const queued of batch) queued.resolve({ partition: queued.partition, offset: highWatermarks[queued.partition]!.toString() });
        } catch (error) {
          // Each request of the batch gets the error (a 503); the loop goes on with the next batch.
          // A Produce that failed after the client's retries may still have been written (its
          // answer lost): the 503 says "not confirmed", and the order, if written, is decided and
          // its result reaches the user's partition like any other.
          for (const queued of batch) queued.reject(error as Error);
        }
      }
    } finally {
      this.running = false;
    }
  }

  close(): void {
    this.closed = true;
    for (const queued of this.queue.splice(0)) queued.reject(new Error('the order server is closing'));
  }
}

const pageDir = fileURLToPath(new URL('../../../examples/flash-sale/page/', import.meta.url));
const wsClientFile = fileURLToPath(new URL('../../src/ws-client/index.js', import.meta.url));

function staticFiles(): Map<string, { type: string; body: string }> {
  const files = new Map<string, { type: string; body: string }>();
  files.set('/', { type: 'text/html; charset=utf-8', body: readFileSync(`${pageDir}index.html`, 'utf8') });
  files.set('/app.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(`${pageDir}app.js`, 'utf8') });
  // The compiled client names its source map, which is not served: the comment goes, so the browser asks for nothing that answers 404.
  files.set('/ws-client.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(wsClientFile, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n') });
  return files;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > BODY_BYTES_MAX) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the server once its Kafka clients are ready (the result topic's partitions known, the idempotent producer's id taken). */
export async function startOrderServer(options: OrderServerOptions): Promise<OrderServer> {
  const files = staticFiles();
  const clientId = 'flash-sale-order-server';
  const admin = new Admin({ clientId, bootstrapBrokers: [options.bootstrap] });
  const producer = new Producer<string, string, string, string>({
    clientId,
    bootstrapBrokers: [options.bootstrap],
    serializers: stringSerializers,
    // Idempotent: a Produce retried after a lost answer does not write an order twice, which would
    // decide it twice (the processor decides records, not order ids).
    idempotent: true,
    acks: ProduceAcks.ALL,
    // Java's partitioner (murmur2 & 0x7fffffff): the library's default (murmur2 >>> 0) puts some keys elsewhere.
    partitioner: compatibilityPartitioner,
  });
  let server: Server | null = null;
  try {
    const metadata = await admin.metadata({ topics: [ORDER_RESULTS_TOPIC, ORDERS_TOPIC] });
    const resultPartitions = metadata.topics.get(ORDER_RESULTS_TOPIC)?.partitionsCount;
    if (resultPartitions === undefined) throw new Error(`topic ${ORDER_RESULTS_TOPIC} does not exist (create it first: topics.ts)`);
    await producer.initIdempotentProducer({});
    const writer = new OrderWriter(admin, producer, resultPartitions);

    const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (request.method === 'POST' && url.pathname === '/orders') {
        const body = await readBody(request);
        if (body === null) return send(response, 413, { error: `the body is over ${BODY_BYTES_MAX} bytes` });
        let parsed: ReturnType<typeof parseOrderRequest>;
        try {
          parsed = parseOrderRequest(JSON.parse(body));
        } catch (error) {
          if (error instanceof OrderRequestError || error instanceof SyntaxError) return send(response, 400, { error: error.message });
          throw error;
        }
        const order: Order = { orderId: randomUUID(), ...parsed, placedAtMs: Date.now() };
        try {
          const placement = await writer.place(order);
          return send(response, 202, { orderId: order.orderId, topic: ORDER_RESULTS_TOPIC, ...placement });
        } catch (error) {
          return send(response, 503, { error: `the order was not confirmed: ${(error as Error).message}` });
        }
      }
      if (request.method === 'GET' && url.pathname === '/api/session') {
        const user = url.searchParams.get('user') ?? '';
        try {
          parseOrderRequest({ user, item: 'x' });
        } catch (error) {
          return send(response, 400, { error: (error as Error).message });
        }
        const partition = resultPartition(user, resultPartitions);
        const highWatermarks = await writer.highWatermarks();
        return send(response, 200, { user, wsUrl: options.wsUrl, topic: ORDER_RESULTS_TOPIC, partition, offset: highWatermarks[partition]!.toString(), items: options.items });
      }
      const file = request.method === 'GET' ? files.get(url.pathname) : undefined;
      if (file === undefined) return send(response, 404, { error: `no ${request.method} ${url.pathname}` });
      response.writeHead(200, { 'content-type': file.type, 'content-length': Buffer.byteLength(file.body), 'cache-control': 'no-cache' });
      response.end(file.body);
    };

    const httpServer = createServer((request, response) => {
      handle(request, response).catch((error: unknown) => {
        // A bug or a broker failure outside the order path (a ListOffsets for a session): answered 500 and logged, never left hanging.
        process.stderr.write(`flash-sale order server: ${request.method} ${request.url}: ${(error as Error).stack ?? String(error)}\n`);
        if (!response.headersSent) send(response, 500, { error: (error as Error).message });
        else response.destroy();
      });
    });
    server = httpServer;
    // Many keep-alive clients (the test's 1,000 users share a pool, browsers keep theirs).
    httpServer.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    const { port } = httpServer.address() as AddressInfo;
    return {
      url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
      port,
      get ordersWritten() {
        return writer.written;
      },
      async close() {
        writer.close();
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await producer.close();
        await admin.close();
      },
    };
  } catch (error) {
    server?.close();
    await producer.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    throw error;
  }
}
