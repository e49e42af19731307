// The Kafka client under spate/streams (issue 18, point 1): @platformatic/kafka against kafkajs,
// measured on one Spate broker process (bench/lib/broker-child.ts) with the same workloads:
//   1. produce: --records records of --size bytes (1 KiB), acks=all, in sends of --batch
//      records with --window sends in flight: records/s and MB/s;
//   2. consume: a new consumer group reads that topic from the beginning; the clock runs from
//      the consumer's start (group join included) to the last record: records/s, and from the
//      first record to the last (the pace without the join);
//   3. read-process-write in transactions: a new group reads the same topic at read_committed
//      and, every --txn-records records, one transaction writes them to an output topic and
//      commits the consumed offsets in it (platformatic: beginTransaction, send, addConsumer,
//      addOffset, commit; kafkajs: transaction, send, sendOffsets, commit): records/s, transactions/s.
// Then, with @platformatic/kafka only, what request/reply over Kafka costs (src/streams/
// request-reply.ts: a Requester and a Responder in this process): the round trip of one request
// at a time (p50/p99) and of --rr-concurrency in flight, beside a plain HTTP/1.1 round trip
// (node:http, keep-alive) on the same machine — the numbers docs/mq-vs-rpc.md quotes.
// The clients run in this process, one after the other; the client order alternates by run.
// Prints medians as a table and writes bench/results/streams-clients.json. See bench/README.md
// (streams-clients).
//
//   npm run bench:streams-clients [-- --quick] [-- --runs 3 --records 200000]

import { createServer, request as httpRequest, Agent } from 'node:http';
import { type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import kafkajs from 'kafkajs';
import {
  Admin,
  Consumer,
  FetchIsolationLevels,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer,
  type Message,
} from '@platformatic/kafka';
import { createRequester, serveRequests } from '../src/streams/request-reply.js';
import type { Serde } from '../src/streams/serdes.js';
import {
  BenchError,
  findProjectRoot,
  fixed,
  formatTable,
  gitRevision,
  integerFormat,
  integerOption,
  machineInfo,
  median,
  outOption,
  parseOptions,
  runBenchmark,
  waitForQuiet,
  writeResults,
} from './lib/bench-common.js';
import { startBrokerChild, stopBrokerChild } from './lib/broker-child.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

interface Settings {
  readonly records: number;
  readonly size: number;
  readonly batch: number;
  readonly window: number;
  readonly txnRecords: number;
  readonly partitions: number;
  readonly runs: number;
  readonly rrRequests: number;
  readonly rrConcurrency: number;
  readonly quietWaitSeconds: number;
  readonly out: string | null;
}

const USAGE = `usage: node dist/bench/streams-clients.js [options]

  --quick             a smoke run: 1 run of 10000 records, 500 request/reply round trips, no idle wait
  --records N         records per produce, consume and transactional phase (default 200000)
  --size BYTES        record value size (default 1024)
  --batch N           records per produce send (default 1000)
  --window N          produce sends in flight (default 4)
  --txn-records N     records per transaction of the read-process-write phase (default 500)
  --partitions P      partitions of every topic (default 3)
  --runs R            runs; the table shows the medians (default 3)
  --rr-requests N     request/reply and HTTP round trips per latency phase (default 2000)
  --rr-concurrency N  requests in flight in the concurrent request/reply phase (default 64)
  --quiet-wait S      before each run, wait up to S seconds for an idle machine (default 10)
  --out PATH          results JSON (default bench/results/streams-clients.json; "-" for none)
`;

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const quick = argv.includes('--quick');
  const values = parseOptions(
    argv.filter((arg) => arg !== '--quick'),
    ['records', 'size', 'batch', 'window', 'txn-records', 'partitions', 'runs', 'rr-requests', 'rr-concurrency', 'quiet-wait', 'out'],
    USAGE,
  );
  const integer = (key: string, fallback: number, min: number): number => integerOption(values, key, fallback, min);
  return {
    records: integer('records', quick ? 10_000 : 200_000, 1),
    size: integer('size', 1024, 1),
    batch: integer('batch', 1000, 1),
    window: integer('window', 4, 1),
    txnRecords: integer('txn-records', 500, 1),
    partitions: integer('partitions', 3, 1),
    runs: integer('runs', quick ? 1 : 3, 1),
    rrRequests: integer('rr-requests', quick ? 500 : 2000, 10),
    rrConcurrency: integer('rr-concurrency', 64, 1),
    quietWaitSeconds: integer('quiet-wait', quick ? 0 : 10, 0),
    out: outOption(values, projectRoot, 'streams-clients.json'),
  };
}

type ClientName = 'platformatic' | 'kafkajs';

interface ClientRun {
  readonly client: ClientName;
  readonly run: number;
  readonly produceSeconds: number;
  readonly consumeSeconds: number;
  /** From the first record received to the last: the consumer's pace without the group join and first fetch. */
  readonly consumeStreamSeconds: number;
  readonly txnSeconds: number;
  readonly transactions: number;
  /** Cores other processes kept busy just before the run (the machine is shared), or null without --quiet-wait. */
  readonly busyCoresBefore: number | null;
}

const TIMEOUT_MS = 300_000;

/** Rejects when `promise` has not settled within the bench's timeout (a stuck client). */
function withTimeout<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new BenchError(`${what}: no end after ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `count` items in sends of `batch`, `window` sends in flight. */
async function windowed(count: number, batch: number, window: number, send: (records: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const records = Math.min(batch, count - next);
      next += records;
      await send(records);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
}

/**
 * Checks with kafkajs's admin that `topic`'s partitions hold `records` records and, after the
 * transactional phase, that `groupId` committed every one of them as consumed: a client that lost
 * records or offsets fails the run instead of looking fast.
 */
async function verify(bootstrap: string, topic: string, records: number, groupId: string): Promise<void> {
  const admin = new Kafka({ brokers: [bootstrap], clientId: 'bench-streams-clients-verify', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const written = (await admin.fetchTopicOffsets(topic)).reduce((sum, partition) => sum + Number(partition.high), 0);
    if (written !== records) throw new BenchError(`${topic} holds ${written} records, not ${records}`);
    const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions.reduce((sum, partition) => sum + Math.max(0, Number(partition.offset)), 0);
    if (committed !== records) throw new BenchError(`group ${groupId} committed ${committed} of ${records} records of ${topic} in its transactions`);
  } finally {
    await admin.disconnect();
  }
}

// ---------------------------------------------------------------------------------------
// @platformatic/kafka

async function platformaticRun(bootstrap: string, settings: Settings, run: number, admin: Admin): Promise<Omit<ClientRun, 'busyCoresBefore'>> {
  const brokers = [bootstrap];
  const topic = `platformatic-${run}`;
  const output = `platformatic-${run}-out`;
  await admin.createTopics({ topics: [topic, output], partitions: settings.partitions, replicas: 1 });
  const payload = Buffer.alloc(settings.size, 0x78);

  const producer = new Producer({ clientId: `bench-platformatic-${run}`, bootstrapBrokers: brokers, acks: -1 });
  const produceStarted = performance.now();
  await withTimeout(
    'platformatic produce',
    windowed(settings.records, settings.batch, settings.window, (records) => producer.send({ messages: Array.from({ length: records }, () => ({ topic, value: payload })) })),
  );
  const produceSeconds = (performance.now() - produceStarted) / 1000;
  await producer.close();

  const consumer = new Consumer({ clientId: `bench-platformatic-c-${run}`, groupId: `platformatic-consume-${run}`, bootstrapBrokers: brokers, maxWaitTime: 100 });
  const consumeStarted = performance.now();
  let firstRecordAt = 0;
  await withTimeout(
    'platformatic consume',
    (async () => {
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        stream.on('data', () => {
          if (received === 0) firstRecordAt = performance.now();
          if (++received === settings.records) resolve();
        });
        stream.on('error', reject);
      });
      await stream.close();
    })(),
  );
  const consumeSeconds = (performance.now() - consumeStarted) / 1000;
  const consumeStreamSeconds = (performance.now() - firstRecordAt) / 1000;
  await consumer.close(true);

  // Read-process-write, each --txn-records records in one transaction with the consumed offsets (KIP-447 metadata: addOffset sends the member's generation).
  const txnProducer = new Producer({ clientId: `bench-platformatic-txn-${run}`, bootstrapBrokers: brokers, idempotent: true, transactionalId: `bench-platformatic-txn-${run}`, acks: -1 });
  const txnConsumer = new Consumer({ clientId: `bench-platformatic-txn-c-${run}`, groupId: `platformatic-txn-${run}`, bootstrapBrokers: brokers, maxWaitTime: 100, isolationLevel: FetchIsolationLevels.READ_COMMITTED });
  let transactions = 0;
  const txnStarted = performance.now();
  await withTimeout(
    'platformatic read-process-write',
    (async () => {
      const stream = await txnConsumer.consume({ topics: [topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: MessagesStreamFallbackModes.EARLIEST, autocommit: false });
      let processed = 0;
      let pending: Message[] = [];
      for await (const message of stream as AsyncIterable<Message>) {
        pending.push(message);
        if (pending.length < settings.txnRecords && processed + pending.length < settings.records) continue;
        const transaction = await txnProducer.beginTransaction();
        try {
          await transaction.send({ messages: pending.map((each) => ({ topic: output, partition: each.partition, value: each.value })) });
          await transaction.addConsumer(txnConsumer);
          const lastPerPartition = new Map<number, Message>();
          for (const each of pending) lastPerPartition.set(each.partition, each);
          for (const last of lastPerPartition.values()) await transaction.addOffset(last);
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => undefined); // the original error is what counts
          throw error;
        }
        transactions++;
        processed += pending.length;
        pending = [];
        if (processed >= settings.records) break;
      }
    })(),
  );
  const txnSeconds = (performance.now() - txnStarted) / 1000;
  await Promise.allSettled([txnConsumer.close(true), txnProducer.close()]);
  await verify(bootstrap, topic, settings.records, `platformatic-txn-${run}`);
  return { client: 'platformatic', run, produceSeconds, consumeSeconds, consumeStreamSeconds, txnSeconds, transactions };
}

// ---------------------------------------------------------------------------------------
// kafkajs

async function kafkajsRun(bootstrap: string, settings: Settings, run: number, admin: Admin): Promise<Omit<ClientRun, 'busyCoresBefore'>> {
  const topic = `kafkajs-${run}`;
  const output = `kafkajs-${run}-out`;
  await admin.createTopics({ topics: [topic, output], partitions: settings.partitions, replicas: 1 });
  const kafka = new Kafka({ brokers: [bootstrap], clientId: `bench-kafkajs-${run}`, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 50 } });
  const payload = Buffer.alloc(settings.size, 0x78);

  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const produceStarted = performance.now();
  await withTimeout(
    'kafkajs produce',
    windowed(settings.records, settings.batch, settings.window, (records) => producer.send({ topic, acks: -1, messages: Array.from({ length: records }, () => ({ value: payload })) })),
  );
  const produceSeconds = (performance.now() - produceStarted) / 1000;
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `kafkajs-consume-${run}`, maxWaitTimeInMs: 100 });
  const consumeStarted = performance.now();
  let firstRecordAt = 0;
  await withTimeout(
    'kafkajs consume',
    (async () => {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              if (received === 0 && batch.messages.length > 0) firstRecordAt = performance.now();
              received += batch.messages.length;
              if (received >= settings.records) resolve();
            },
          })
          .catch(reject);
      });
    })(),
  );
  const consumeSeconds = (performance.now() - consumeStarted) / 1000;
  const consumeStreamSeconds = (performance.now() - firstRecordAt) / 1000;
  await consumer.disconnect();

  // kafkajs's eachBatch is one partition's records: a transaction holds at most --txn-records of one partition.
  const txnProducer = kafka.producer({ transactionalId: `bench-kafkajs-txn-${run}`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await txnProducer.connect();
  const groupId = `kafkajs-txn-${run}`;
  const txnConsumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
  let transactions = 0;
  const txnStarted = performance.now();
  await withTimeout(
    'kafkajs read-process-write',
    (async () => {
      await txnConsumer.connect();
      await txnConsumer.subscribe({ topic, fromBeginning: true });
      let processed = 0;
      await new Promise<void>((resolve, reject) => {
        txnConsumer
          .run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
              for (let start = 0; start < batch.messages.length; start += settings.txnRecords) {
                const chunk = batch.messages.slice(start, start + settings.txnRecords);
                const last = chunk[chunk.length - 1]!;
                const transaction = await txnProducer.transaction();
                try {
                  await transaction.send({ topic: output, acks: -1, messages: chunk.map((each) => ({ partition: batch.partition, value: each.value })) });
                  await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }] }] });
                  await transaction.commit();
                } catch (error) {
                  await transaction.abort().catch(() => undefined); // the original error is what counts
                  reject(error);
                  return;
                }
                transactions++;
                resolveOffset(last.offset);
                processed += chunk.length;
                await heartbeat();
                if (processed >= settings.records) resolve();
              }
            },
          })
          .catch(reject);
      });
    })(),
  );
  const txnSeconds = (performance.now() - txnStarted) / 1000;
  await Promise.allSettled([txnConsumer.disconnect(), txnProducer.disconnect()]);
  await verify(bootstrap, topic, settings.records, groupId);
  return { client: 'kafkajs', run, produceSeconds, consumeSeconds, consumeStreamSeconds, txnSeconds, transactions };
}

// ---------------------------------------------------------------------------------------
// Request/reply against HTTP

interface Latency {
  readonly requests: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

function latencyOf(samplesMs: number[], concurrency: number, seconds: number): Latency {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (fraction: number): number => sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
  return { requests: sorted.length, concurrency, seconds, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1]! };
}

/** `count` calls of `call`, `concurrency` at a time, each timed. */
async function timedCalls(count: number, concurrency: number, call: (index: number) => Promise<void>): Promise<Latency> {
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        const callStarted = performance.now();
        await call(index);
        samples.push(performance.now() - callStarted);
      }
    }),
  );
  return latencyOf(samples, concurrency, (performance.now() - started) / 1000);
}

const numberSerde: Serde<number> = {
  serialize: (_topic, value) => Buffer.from(String(value), 'utf8'),
  deserialize: (_topic, data) => Number(data!.toString('utf8')),
};

interface RoundTrips {
  readonly kafkaSequential: Latency;
  readonly kafkaConcurrent: Latency;
  readonly httpSequential: Latency;
  readonly httpConcurrent: Latency;
}

async function roundTrips(bootstrap: string, settings: Settings, admin: Admin): Promise<RoundTrips> {
  await admin.createTopics({ topics: ['rr-requests', 'rr-replies'], partitions: 1, replicas: 1 });
  const errors: Error[] = [];
  const responder = await serveRequests<number, number>({
    'bootstrap.servers': bootstrap,
    'group.id': 'rr-bench',
    'request.topic': 'rr-requests',
    requestSerde: numberSerde,
    replySerde: numberSerde,
    handler: (value) => value * 2,
    onError: (error) => void errors.push(error),
  });
  const requester = await createRequester<number, number>({
    'bootstrap.servers': bootstrap,
    'request.topic': 'rr-requests',
    'reply.topic': 'rr-replies',
    'reply.partition': 0,
    'reply.timeout.ms': 30_000,
    requestSerde: numberSerde,
    replySerde: numberSerde,
    onError: (error) => void errors.push(error),
  });
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => response.end(String(Number(Buffer.concat(chunks).toString('utf8')) * 2)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const agent = new Agent({ keepAlive: true, maxSockets: settings.rrConcurrency });
  const httpCall = (value: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const outgoing = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/double', agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Number(Buffer.concat(chunks).toString('utf8'))));
        response.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end(String(value));
    });
  const check = (value: number, reply: number): void => {
    if (reply !== value * 2) throw new BenchError(`wrong reply ${reply} to ${value}`);
  };
  try {
    // Warm-up, not measured: connections, metadata, the JIT.
    await timedCalls(200, 8, async (index) => check(index, await requester.request(index)));
    await timedCalls(200, 8, async (index) => check(index, await httpCall(index)));
    const kafkaSequential = await withTimeout('request/reply', timedCalls(settings.rrRequests, 1, async (index) => check(index, await requester.request(index))));
    const httpSequential = await timedCalls(settings.rrRequests, 1, async (index) => check(index, await httpCall(index)));
    const kafkaConcurrent = await withTimeout('request/reply', timedCalls(settings.rrRequests * 5, settings.rrConcurrency, async (index) => check(index, await requester.request(index))));
    const httpConcurrent = await timedCalls(settings.rrRequests * 5, settings.rrConcurrency, async (index) => check(index, await httpCall(index)));
    if (errors.length > 0) throw new BenchError(`request/reply reported errors: ${errors.map((error) => error.message).join('; ')}`);
    return { kafkaSequential, kafkaConcurrent, httpSequential, httpConcurrent };
  } finally {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
    await requester.close();
    await responder.close();
  }
}

// ---------------------------------------------------------------------------------------

function versionOf(projectRoot: string, name: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const versions = { platformatic: versionOf(projectRoot, '@platformatic/kafka'), kafkajs: versionOf(projectRoot, 'kafkajs') };
  const machine = machineInfo();
  process.stdout.write(`streams clients: @platformatic/kafka ${versions.platformatic} and kafkajs ${versions.kafkajs} on ${machine.cpuCount} × ${machine.cpuModel}, Node ${machine.node}\n`);
  const broker = await startBrokerChild(projectRoot, 'streams-clients', { 'group.initial.rebalance.delay.ms': '0' });
  const bootstrap = `127.0.0.1:${broker.kafkaPort}`;
  const admin = new Admin({ clientId: 'bench-streams-clients-admin', bootstrapBrokers: [bootstrap] });
  const runs: ClientRun[] = [];
  let trips: RoundTrips;
  try {
    for (let run = 1; run <= settings.runs; run++) {
      const order: ClientName[] = run % 2 === 1 ? ['platformatic', 'kafkajs'] : ['kafkajs', 'platformatic'];
      for (const client of order) {
        const busyCoresBefore = settings.quietWaitSeconds > 0 ? await waitForQuiet(settings.quietWaitSeconds) : null;
        const result = { ...(client === 'platformatic' ? await platformaticRun(bootstrap, settings, run, admin) : await kafkajsRun(bootstrap, settings, run, admin)), busyCoresBefore };
        runs.push(result);
        process.stdout.write(
          `  run ${run} ${client.padEnd(12)} produce ${fixed(result.produceSeconds, 2)} s, consume ${fixed(result.consumeSeconds, 2)} s (${fixed(result.consumeStreamSeconds, 2)} s after the first record), read-process-write ${fixed(result.txnSeconds, 2)} s (${result.transactions} transactions)\n`,
        );
      }
    }
    if (settings.quietWaitSeconds > 0) await waitForQuiet(settings.quietWaitSeconds);
    trips = await roundTrips(bootstrap, settings, admin);
  } finally {
    await admin.close().catch(() => undefined); // the broker goes next anyway
    await stopBrokerChild(broker);
  }

  const mb = (settings.records * settings.size) / 1e6;
  const summary = (['platformatic', 'kafkajs'] as const).map((client) => {
    const mine = runs.filter((run) => run.client === client);
    const produceSeconds = median(mine.map((run) => run.produceSeconds));
    const consumeSeconds = median(mine.map((run) => run.consumeSeconds));
    const txnSeconds = median(mine.map((run) => run.txnSeconds));
    return {
      client,
      version: versions[client],
      produceRecordsPerSecond: settings.records / produceSeconds,
      produceMBPerSecond: mb / produceSeconds,
      consumeRecordsPerSecond: settings.records / consumeSeconds,
      consumeMBPerSecond: mb / consumeSeconds,
      consumeStreamRecordsPerSecond: settings.records / median(mine.map((run) => run.consumeStreamSeconds)),
      txnRecordsPerSecond: settings.records / txnSeconds,
      txnTransactionsPerSecond: median(mine.map((run) => run.transactions / run.txnSeconds)),
    };
  });
  process.stdout.write(
    `\n${settings.records} records of ${settings.size} B, acks=all, ${settings.partitions} partitions; medians of ${settings.runs} runs\n` +
      formatTable(
        ['client', 'produce rec/s', 'produce MB/s', 'consume rec/s', 'consume MB/s', 'consume rec/s after 1st', 'txn loop rec/s', 'txn/s'],
        summary.map((row) => [
          `${row.client} ${row.version}`,
          integerFormat.format(row.produceRecordsPerSecond),
          fixed(row.produceMBPerSecond, 1),
          integerFormat.format(row.consumeRecordsPerSecond),
          fixed(row.consumeMBPerSecond, 1),
          integerFormat.format(row.consumeStreamRecordsPerSecond),
          integerFormat.format(row.txnRecordsPerSecond),
          fixed(row.txnTransactionsPerSecond, 1),
        ]),
      ) +
      '\n',
  );
  const tripRows: Array<[string, Latency]> = [
    ['Kafka request/reply (spate/streams)', trips.kafkaSequential],
    ['HTTP/1.1 keep-alive (node:http)', trips.httpSequential],
    ['Kafka request/reply (spate/streams)', trips.kafkaConcurrent],
    ['HTTP/1.1 keep-alive (node:http)', trips.httpConcurrent],
  ];
  process.stdout.write(
    `\nround trips (one broker, client and server in this process)\n` +
      formatTable(
        ['round trip', 'in flight', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'max ms'],
        tripRows.map(([name, latency]) => [name, String(latency.concurrency), String(latency.requests), integerFormat.format(latency.requests / latency.seconds), fixed(latency.p50Ms, 2), fixed(latency.p99Ms, 2), fixed(latency.maxMs, 1)]),
      ) +
      '\n',
  );
  if (settings.out !== null) {
    const shown = writeResults(settings.out, { date: new Date().toISOString(), machine, revision: gitRevision(projectRoot), settings, versions, summary, runs, roundTrips: trips });
    process.stdout.write(`\nwrote ${shown}\n`);
  }
}

runBenchmark('streams-clients', USAGE, main);
