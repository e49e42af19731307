// The HTTP side (src/http/): http.listeners and /metrics. A broker process serves /metrics on a
// free port; the text is read with a Prometheus text-format parser (parse-prometheus-text-format,
// a port of Prometheus' own), and after a known workload — batches of known sizes produced with
// the raw client, consumed by a kafkajs group that commits part of them — the per-topic bytes and
// messages, the log gauges and the group's lag are what the test did; throttle time, failed logins
// and a tenant user's counters are what the requests earned. A consumer fetch parked on an empty
// partition shows in the fetch purgatory's size until a produce answers it; the main thread and
// each shard worker report their event-loop utilisation. An https:// listener serves
// with the broker's certificate, and a renewed one written over the key store without a restart; a port already taken fails the start naming http.listeners; an
// empty http.listeners opens no port.

import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import kafkajs from 'kafkajs';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import t from 'tap';
import { makeCertificates } from '../../src/cli/certs.js';
import { buildBrokerConfig, ConfigError } from '../../src/config/broker-config.js';
import { alterClientQuotasApi, createTopicsApi, fetchApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess, freePort, temporaryDirectory } from '../helpers/broker-process.js';
import { RawClient, fetchBody } from '../helpers/raw-client.js';
import { login, startSaslBroker } from '../helpers/sasl-client.js';
import { describe, spate } from '../cli/fixtures/spate.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'metered';
const GROUP = 'metered-group';
const BATCHES = 5;
const RECORDS_PER_BATCH = 10;
const VALUE_BYTES = 100;
const COMMITTED = 30;

/** The value of the sample of `name` whose labels include `labels`; undefined when there is none. */
function sample(families: readonly PrometheusFamily[], name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const family = families.find((candidate) => candidate.name === name);
  const found = family?.metrics.find((metric) => Object.entries(labels).every(([key, value]) => metric.labels?.[key] === value));
  return found?.value === undefined ? undefined : Number(found.value);
}

async function scrape(port: number): Promise<{ contentType: string; text: string; families: PrometheusFamily[] }> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${text}`);
  return { contentType: response.headers.get('content-type') ?? '', text, families: parsePrometheusTextFormat(text) };
}

/** Listening TCP sockets the process holds (its socket descriptors matched against /proc/net/tcp{,6} in state LISTEN). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match !== null) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '0A' || !inodes.has(fields[9]!)) continue;
      ports.push(parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

t.test('http.listeners is parsed as the key says', async (t) => {
  const dirs = ['log.dirs', '/tmp/spate-unused'] as const;
  t.same(buildBrokerConfig(new Map(), new Map([dirs])).config.http.listeners, [{ scheme: 'http', host: '127.0.0.1', port: 8080 }], 'embedded default: http://127.0.0.1:8080');
  t.same(buildBrokerConfig(new Map(), new Map([dirs, ['http.listeners', '']])).config.http.listeners, [], 'empty: off');
  t.same(buildBrokerConfig(new Map(), new Map([dirs, ['zookeeper.connect', '127.0.0.1:2181']])).config.http.listeners, [], 'a cluster broker: off unless set');
  t.same(
    buildBrokerConfig(new Map(), new Map([dirs, ['http.listeners', 'http://[::1]:9000, http://:9001']])).config.http.listeners,
    [{ scheme: 'http', host: '::1', port: 9000 }, { scheme: 'http', host: '', port: 9001 }],
    'IPv6 and every-address hosts',
  );
  const refusal = (value: string): ConfigError | null => {
    try {
      buildBrokerConfig(new Map(), new Map([dirs, ['http.listeners', value]]));
      return null;
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
  };
  for (const bad of ['PLAINTEXT://127.0.0.1:8080', 'http://127.0.0.1', 'http://127.0.0.1:70000', 'http://127.0.0.1:9000,http://127.0.0.1:9000']) {
    t.equal(refusal(bad)?.key, 'http.listeners', `${bad} is refused naming the key: ${refusal(bad)?.message}`);
  }
  const https = refusal('https://127.0.0.1:9000');
  t.match(https?.key, /^ssl\.keystore\./, `https without a key store is refused naming the ssl key: ${https?.message}`);
});

t.test('/metrics after a known workload: bytes and messages per topic, log gauges, group lag', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'group.initial.rebalance.delay.ms': 0 } });
  t.match(broker.log, `HTTP (the admin UI at /, /metrics) on http://127.0.0.1:${httpPort}`, 'the ready line names the HTTP listener');

  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 5, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, configs: [] }], timeoutMs: 5000 });
  t.equal(created.topics[0]!.errorCode, 0, 'topic created');
  let batchBytes = 0;
  for (let batch = 0; batch < BATCHES; batch++) {
    const records = encodeRecordBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, (_, index) => ({ key: null, value: Buffer.alloc(VALUE_BYTES, 97 + ((batch + index) % 26)) })) });
    batchBytes += records.length;
    const produced = await client.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] });
    t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, 0, `batch ${batch} appended`);
  }
  // One refused produce, for the error counter.
  const refused = await client.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'no-such-topic', partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ key: null, value: Buffer.from('x') }] }) }] }] });
  t.equal(refused.responses[0]!.partitionResponses[0]!.errorCode, 3, 'a produce to an unknown topic is UNKNOWN_TOPIC_OR_PARTITION');

  const total = BATCHES * RECORDS_PER_BATCH;
  const kafka = new Kafka({ clientId: 'metrics-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  t.teardown(() => consumer.disconnect().catch(() => undefined));
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  let consumed = 0;
  const allConsumed = new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachMessage: async () => {
        consumed++;
        if (consumed === total) resolve();
      },
    });
  });
  await allConsumed;
  // Committed part way: the rest is the lag.
  await consumer.commitOffsets([{ topic: TOPIC, partition: 0, offset: String(COMMITTED) }]);
  // Messages out are counted from the consumer's next fetch offset (handlers/consumed-offsets.ts):
  // kafkajs fetches again from the end once it has handled the records.
  const deadline = Date.now() + 20_000;
  while ((sample((await scrape(httpPort)).families, 'spate_topic_messages_out_total', { topic: TOPIC }) ?? 0) < total && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await consumer.disconnect();
  t.equal(consumed, total, `the group consumed ${total} records`);

  const { contentType, text, families } = await scrape(httpPort);
  t.match(contentType, /^text\/plain; version=0\.0\.4/, 'Prometheus text format');
  t.ok(families.length > 20, `${families.length} metric families parsed`);
  const topic = { topic: TOPIC };
  const partition = { topic: TOPIC, partition: '0' };
  const seen = {
    messagesIn: sample(families, 'spate_topic_messages_in_total', topic),
    bytesIn: sample(families, 'spate_topic_bytes_in_total', topic),
    bytesOut: sample(families, 'spate_topic_bytes_out_total', topic),
    messagesOut: sample(families, 'spate_topic_messages_out_total', topic),
    logSize: sample(families, 'spate_log_size_bytes', partition),
    logEnd: sample(families, 'spate_log_end_offset', partition),
    highWatermark: sample(families, 'spate_high_watermark', partition),
    lag: sample(families, 'spate_consumer_group_lag', { group: GROUP, ...partition }),
  };
  t.comment(`produced ${total} records in ${BATCHES} batches of ${batchBytes} bytes in all; /metrics says ${JSON.stringify(seen)}`);
  t.equal(seen.messagesIn, total, 'messages in: the records produced (from the batch headers)');
  t.equal(seen.bytesIn, batchBytes, 'bytes in: the batches\' bytes');
  t.equal(seen.bytesOut, batchBytes, 'bytes out: the record bytes fetched by the group (each batch once)');
  t.equal(seen.messagesOut, total, 'messages out: the records the group moved past');
  t.equal(seen.logSize, batchBytes, 'log size: the batches on disk');
  t.equal(seen.logEnd, total, 'log end offset');
  t.equal(seen.highWatermark, total, 'high watermark');
  t.equal(seen.lag, total - COMMITTED, 'group lag: the uncommitted remainder');

  const produceRequests = sample(families, 'spate_requests_total', { api: 'Produce' });
  t.equal(produceRequests, BATCHES + 1, 'Produce requests counted');
  t.equal(sample(families, 'spate_request_errors_total', { api: 'Produce', error: 'UNKNOWN_TOPIC_OR_PARTITION' }), 1, 'the refused produce counted by API and error');
  t.ok((sample(families, 'spate_requests_total', { api: 'Fetch' }) ?? 0) >= 1, 'Fetch requests counted');
  const duration = families.find((family) => family.name === 'spate_request_duration_seconds');
  t.equal(duration?.type, 'HISTOGRAM', 'latency is a histogram');
  t.match(text, new RegExp(`spate_request_duration_seconds_count\\{api="Produce"\\} ${BATCHES + 1}\\n`), 'with a count per API');
  t.ok((sample(families, 'spate_connections', { listener: 'PLAINTEXT' }) ?? 0) >= 1, 'the raw client\'s connection is counted');
  t.ok((sample(families, 'spate_partitions') ?? 0) >= 2, 'partitions: the topic and __consumer_offsets');
  t.equal(sample(families, 'spate_partition_leaders'), sample(families, 'spate_partitions'), 'an embedded broker leads all it holds');
  t.equal(sample(families, 'spate_active_controller'), 1, 'an embedded broker is its own controller');
  t.equal(sample(families, 'spate_under_replicated_partitions'), 0, 'none under-replicated');
  t.equal(sample(families, 'spate_offline_partitions'), 0, 'none offline');
  t.equal(sample(families, 'spate_under_min_isr_partitions'), 0, 'none under min ISR (min.insync.replicas 1)');
  t.same([sample(families, 'spate_isr_shrinks_total'), sample(families, 'spate_isr_expands_total')], [0, 0], 'no ISR changes on an embedded broker');
  t.ok(sample(families, 'process_cpu_seconds_total') !== undefined, 'the process\'s own metrics');

  const missing = await fetch(`http://127.0.0.1:${httpPort}/nothing-here`);
  t.equal(missing.status, 404, 'an unknown path is 404');
  await missing.text();
});

t.test('throttle time per user and failed logins per listener', async (t) => {
  const httpPort = await freePort();
  const { broker, saslPort } = await startSaslBroker(t, { 'http.listeners': `http://127.0.0.1:${httpPort}` });
  const admin = await RawClient.connect(t, broker.port);
  await admin.request(createTopicsApi, 5, { topics: [{ name: 'throttled', numPartitions: 1, replicationFactor: 1, configs: [] }], timeoutMs: 5000 });
  const altered = await admin.request(alterClientQuotasApi, 1, {
    entries: [{ entity: [{ entityType: 'client-id', entityName: 'limited' }], ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }] }],
    validateOnly: false,
  });
  t.equal(altered.entries[0]!.errorCode, 0, 'producer_byte_rate=1024 for client id limited');
  const records = encodeRecordBatch({ records: [{ key: null, value: Buffer.alloc(32 * 1024, 120) }] });
  const produced = await admin.request(produceApi, 9, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'throttled', partitionData: [{ index: 0, records }] }] }, { clientId: 'limited' });
  t.ok(produced.throttleTimeMs > 0, `a 32 KiB produce over the quota is throttled ${produced.throttleTimeMs} ms`);

  const client = await RawClient.connect(t, saslPort);
  const outcome = await login(client, 'SCRAM-SHA-256', 'nobody', 'wrong');
  t.not(outcome.errors.at(-1), 'NONE', `a login of an unknown user fails (${outcome.errors.join(', ')})`);

  const { families } = await scrape(httpPort);
  t.equal(sample(families, 'spate_throttle_time_seconds_total', { user: 'ANONYMOUS' }), produced.throttleTimeMs / 1000, 'throttle time of the quota user, in seconds');
  t.equal(sample(families, 'spate_failed_authentications_total', { listener: 'SASL_PLAINTEXT', protocol: 'sasl' }), 1, 'the failed login, by listener');
});

t.test('a tenant\'s user: requests, bytes in and bytes out per tenant and user', async (t) => {
  const httpPort = await freePort();
  const { broker, saslPort } = await startSaslBroker(t, {
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'sasl.enabled.mechanisms': 'SCRAM-SHA-256',
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:ANONYMOUS',
  });
  const made = await spate(broker.bootstrap, ['tenants', 'create', 'acme', '--prefix', 'acme.', '--user', 'alice', '--password', 'alice-secret']);
  t.equal(made.code, 0, `tenant acme with user alice (${describe(made)})`);
  const admin = await RawClient.connect(t, broker.port);
  await admin.request(createTopicsApi, 5, { topics: [{ name: 'acme.orders', numPartitions: 1, replicationFactor: 1, configs: [] }], timeoutMs: 5000 });

  const alice = await RawClient.connect(t, saslPort);
  const outcome = await login(alice, 'SCRAM-SHA-256', 'alice', 'alice-secret');
  t.same(outcome.errors.filter((error) => error !== 'NONE'), [], 'alice logs in');
  const records = encodeRecordBatch({ records: Array.from({ length: 7 }, () => ({ key: null, value: Buffer.alloc(200, 65) })) });
  const body = { acks: -1, timeoutMs: 5000, topicData: [{ name: 'acme.orders', partitionData: [{ index: 0, records }] }] };
  const frame = alice.frameFor(produceApi, 9, body);
  alice.write(frame);
  const produced = await alice.nextResponse<{ responses: { partitionResponses: { errorCode: number }[] }[] }>(5000);
  t.equal(produced.body.responses[0]!.partitionResponses[0]!.errorCode, 0, 'alice produces to acme.orders');
  const fetched = await alice.request(fetchApi, 12, fetchBody('acme.orders', 0, 0) as never);
  t.ok(fetched, 'and fetches it back');

  const { families } = await scrape(httpPort);
  const who = { tenant: 'acme', user: 'alice' };
  const seen = {
    requests: sample(families, 'spate_tenant_requests_total', who),
    bytesIn: sample(families, 'spate_tenant_bytes_in_total', who),
    bytesOut: sample(families, 'spate_tenant_bytes_out_total', who),
  };
  t.comment(`produce request of ${frame.length - 4} bytes, batch of ${records.length} bytes; /metrics says ${JSON.stringify(seen)}`);
  t.equal(seen.requests, 2, 'alice\'s requests after her login: the Produce and the Fetch');
  t.equal(seen.bytesIn, frame.length - 4, 'bytes in: the Produce request\'s size (what producer_byte_rate records)');
  t.equal(seen.bytesOut, records.length, 'bytes out: the record bytes fetched');
  t.equal(sample(families, 'spate_topic_bytes_in_total', { topic: 'acme.orders' }), records.length, 'and the topic\'s own bytes in');
});

t.test('purgatory sizes while a fetch is parked, and each thread\'s event-loop utilisation', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}` } });
  const admin = await RawClient.connect(t, broker.port);
  const created = await admin.request(createTopicsApi, 5, { topics: [{ name: 'parked', numPartitions: 1, replicationFactor: 1, configs: [] }], timeoutMs: 5000 });
  t.equal(created.topics[0]!.errorCode, 0, 'topic created');
  const purgatories = async (): Promise<{ Produce: number | undefined; Fetch: number | undefined }> => {
    const { families } = await scrape(httpPort);
    return { Produce: sample(families, 'spate_purgatory_size', { delayed_operation: 'Produce' }), Fetch: sample(families, 'spate_purgatory_size', { delayed_operation: 'Fetch' }) };
  };
  t.same(await purgatories(), { Produce: 0, Fetch: 0 }, 'nothing waits at first');

  // A consumer's fetch on the empty partition: min_bytes 1, max_wait_ms 5000, so it parks until data comes.
  const consumer = await RawClient.connect(t, broker.port);
  consumer.write(consumer.frameFor(fetchApi, 12, fetchBody('parked', 0, 0, 5000, 1) as never));
  const parkedSince = Date.now();
  let parked = await purgatories();
  while (parked.Fetch !== 1 && Date.now() - parkedSince < 2000) parked = await purgatories();
  t.comment(`${Date.now() - parkedSince} ms after the fetch was sent: ${JSON.stringify(parked)}`);
  t.equal(parked.Fetch, 1, 'the parked fetch is in the fetch purgatory');
  t.equal(parked.Produce, 0, 'and no produce waits');

  const records = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('wake up') }] });
  const produced = await admin.request(produceApi, 9, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'parked', partitionData: [{ index: 0, records }] }] });
  t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, 0, 'a produce to the partition');
  const fetched = await consumer.nextResponse<{ responses: { partitions: { errorCode: number; records: Buffer | null }[] }[] }>(5000);
  const answeredMs = Date.now() - parkedSince;
  t.ok(answeredMs < 4500, `the parked fetch is answered by the produce, ${answeredMs} ms after it was sent (before its 5000 ms wait)`);
  t.ok((fetched.body.responses[0]!.partitions[0]!.records?.length ?? 0) > 0, 'with the record');
  t.same(await purgatories(), { Produce: 0, Fetch: 0 }, 'the fetch purgatory is empty again');

  const { families } = await scrape(httpPort);
  const threads = families.find((family) => family.name === 'spate_event_loop_utilization')?.metrics ?? [];
  const byThread = Object.fromEntries(threads.map((metric) => [metric.labels?.['thread'] ?? '?', Number(metric.value)]));
  t.comment(`event-loop utilisation since the previous scrape: ${JSON.stringify(byThread)}`);
  t.same(Object.keys(byThread).sort(), ['main', 'shard-0', 'shard-1'], 'the main thread and one series per shard (num.shards 2)');
  for (const [thread, utilization] of Object.entries(byThread)) t.ok(utilization >= 0 && utilization <= 1, `${thread}: ${utilization} is between 0 and 1`);
});

t.test('an https listener serves /metrics with the broker\'s certificate, and a renewed one without a restart', async (t) => {
  const files = await makeCertificates({ dir: temporaryDirectory(t, 'spate-http-certs-'), brokers: [{ name: 'broker' }] });
  const keystore = files.brokers[0]!.keystore;
  const httpsPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `https://127.0.0.1:${httpsPort}`, 'ssl.keystore.type': 'PEM', 'ssl.keystore.location': keystore } });
  const get = (): Promise<{ status: number; body: string; serial: string }> =>
    new Promise((resolve, reject) => {
      // agent: false, so each request makes a new TLS connection (and handshake).
      const request = httpsRequest({ host: '127.0.0.1', port: httpsPort, path: '/metrics', ca: readFileSync(files.ca.certificate), agent: false }, (response) => {
        const serial = new X509Certificate((response.socket as TLSSocket).getPeerCertificate().raw).serialNumber;
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, serial }));
      });
      request.on('error', reject);
      request.end();
    });
  const first = await get();
  t.equal(first.status, 200, 'served over TLS, trusted through the test CA');
  const expected = new X509Certificate(readFileSync(files.brokers[0]!.certificate));
  t.equal(first.serial, expected.serialNumber, `the certificate is the broker's (${expected.subject.replace(/\n/g, ', ')})`);
  t.ok(parsePrometheusTextFormat(first.body).some((family) => family.name === 'spate_requests_total'), 'and the body parses');

  // A renewal signed by the same CA, written over the key store (as test/security/tls.test.ts does for the SSL listeners).
  const renewed = await makeCertificates({ dir: files.dir, brokers: [{ name: 'broker-renewed' }] });
  const renewedSerial = new X509Certificate(readFileSync(renewed.brokers[0]!.certificate)).serialNumber;
  copyFileSync(renewed.brokers[0]!.keystore, keystore);
  const deadline = Date.now() + 15_000;
  let now = first;
  while (now.serial !== renewedSerial && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    now = await get();
  }
  t.equal(now.serial, renewedSerial, 'a new connection gets the renewed certificate');
  t.equal(now.status, 200, 'and is served');
  t.ok(await broker.waitForLog(/HTTPS: .* changed; new connections get its certificate/), 'the broker logs the change');
});

t.test('a port already taken fails the start naming http.listeners', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  let failure = '';
  try {
    await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${port}` } });
  } catch (error) {
    failure = (error as Error).message;
  }
  t.comment(failure.split('\n').find((line) => line.includes('http.listeners')) ?? failure);
  t.match(failure, /broker exited with code 1 before it was ready/, 'the broker does not start');
  t.match(failure, new RegExp(`invalid value for http\\.listeners: cannot listen on http://127\\.0\\.0\\.1:${port}: listen EADDRINUSE`), 'the error names the key and the address');
});

t.test('an empty http.listeners opens no HTTP port', async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': '' } });
  t.notMatch(broker.log, /HTTP listening|HTTP \(\/metrics\)/, 'no HTTP listener logged');
  t.same(listeningPorts(broker.pid!), [broker.port], `the process listens on its Kafka port ${broker.port} only`);
});
