// The consumer side of bench/peers.ts' latency phases for Redis Streams and NATS JetStream, in
// its own process (as rdkafka_performance's consumer is for Spate), so that the paced producer
// and the consumer do not queue behind each other on one JavaScript thread.
//
//   parent → child (argv): JSON { system: 'redis' | 'nats', port, name, count, timeoutSeconds, file }
//   child → parent: { type: 'ready' } once subscribed, then exit 0 after writing `count` latencies
//   (receive time minus the send time in the payload's first 8 bytes, µs, one per line) to `file`.

import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { connect } from 'nats';

interface Request {
  readonly system: 'redis' | 'nats';
  readonly port: number;
  readonly name: string;
  readonly count: number;
  readonly timeoutSeconds: number;
  readonly file: string;
}

function nowMicros(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

async function consumeRedis(request: Request, latencies: number[]): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', port: request.port, maxRetriesPerRequest: 1 });
  await redis.ping();
  process.send!({ type: 'ready' });
  let lastId = '0';
  while (latencies.length < request.count) {
    const reply = (await redis.xreadBuffer('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', request.name, lastId)) as [Buffer, [Buffer, Buffer[]][]][] | null;
    const now = nowMicros();
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        lastId = id.toString();
        latencies.push(now - fields[1]!.readDoubleLE(0));
      }
    }
  }
  redis.disconnect();
}

async function consumeNats(request: Request, latencies: number[]): Promise<void> {
  const connection = await connect({ servers: `127.0.0.1:${request.port}`, maxReconnectAttempts: 0 });
  const consumer = await connection.jetstream().consumers.get(request.name); // ordered, from the stream's start
  const messages = await consumer.consume();
  process.send!({ type: 'ready' });
  for await (const message of messages) {
    latencies.push(nowMicros() - Buffer.from(message.data.buffer, message.data.byteOffset, 8).readDoubleLE(0));
    if (latencies.length >= request.count) break;
  }
  await connection.close();
}

const request = JSON.parse(process.argv[2] ?? '{}') as Request;
const latencies: number[] = [];
const timer = setTimeout(() => {
  process.stderr.write(`peer-consumer: received ${latencies.length} of ${request.count} within ${request.timeoutSeconds} s\n`);
  process.exit(1);
}, request.timeoutSeconds * 1000);
process.on('disconnect', () => process.exit(1)); // the benchmark is gone
(request.system === 'redis' ? consumeRedis(request, latencies) : consumeNats(request, latencies)).then(
  () => {
    clearTimeout(timer);
    writeFileSync(request.file, `${latencies.map((value) => value.toFixed(0)).join('\n')}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`peer-consumer: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
