// A real Prometheus server (Debian's `prometheus`, installed by test/setup/system-deps.ts) scraping
// the broker's /metrics (issue 16's acceptance: "a Prometheus server scraping the endpoint … sees
// the same lag that /metrics reports"). Known records go to a topic of two partitions, a kafkajs
// group consumes them and commits part way on each partition, and /usr/bin/prometheus — run by the
// test as its own process, with a generated config (one static target, the broker's HTTP port,
// scraped every second), its storage in a temporary directory and its web API on a free loopback
// port; not the package's systemd service — is asked over its HTTP API for
// `spate_consumer_group_lag` and `up` until the target is up and the series are there. Its values
// per (group, topic, partition) must be the lag the test left and what /metrics says.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import t from 'tap';
import { createTopicsApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess, freePort, type Teardownable } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const { Kafka, logLevel } = kafkajs;

const PROMETHEUS = '/usr/bin/prometheus';
const JOB = 'spate';
const TOPIC = 'scraped';
const GROUP = 'scraped-group';
/** Records produced to each partition, and the offset the group commits on it. */
const PARTITIONS = [
  { partition: 0, produced: 20, committed: 5 },
  { partition: 1, produced: 30, committed: 12 },
] as const;
const SCRAPE_WAIT_MS = 30_000;

interface VectorSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

/** An instant query against Prometheus's HTTP API; the vector it answers. */
async function query(prometheusPort: number, expression: string): Promise<VectorSample[]> {
  const response = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/query?query=${encodeURIComponent(expression)}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: VectorSample[] } };
  if (body.status !== 'success' || body.data?.resultType !== 'vector') throw new Error(`query ${expression} answered ${response.status}: ${JSON.stringify(body)}`);
  return body.data.result;
}

/** Runs /usr/bin/prometheus scraping `target` every second; stopped (and its directory removed) on teardown. */
function startPrometheus(t: Teardownable, target: string, prometheusPort: number): { output: () => string; exited: () => string | null } {
  const dir = mkdtempSync(join(tmpdir(), 'spate-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      `  - job_name: ${JOB}`,
      '    metrics_path: /metrics',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  // setpriv: a parent-death signal, as the broker helper gives its brokers, so a test process
  // killed before its teardowns does not leave Prometheus running.
  const child: ChildProcess = spawn(
    'setpriv',
    [
      '--pdeathsig',
      'KILL',
      '--',
      PROMETHEUS,
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`,
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // One teardown stops it and then removes its directory, so nothing writes there after the removal.
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    output: () => output,
    exited: () => (child.exitCode !== null ? `code ${child.exitCode}` : child.signalCode !== null ? `signal ${child.signalCode}` : null),
  };
}

t.test('a Prometheus server scraping /metrics sees the group lag the test left and /metrics reports', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'group.initial.rebalance.delay.ms': 0 } });

  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 5, { topics: [{ name: TOPIC, numPartitions: PARTITIONS.length, replicationFactor: 1, configs: [] }], timeoutMs: 5000 });
  t.equal(created.topics[0]!.errorCode, 0, `topic ${TOPIC} created with ${PARTITIONS.length} partitions`);
  for (const { partition, produced } of PARTITIONS) {
    const records = encodeRecordBatch({ records: Array.from({ length: produced }, (_, index) => ({ key: null, value: Buffer.from(`p${partition}-${index}`) })) });
    const response = await client.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }] });
    t.equal(response.responses[0]!.partitionResponses[0]!.errorCode, 0, `${produced} records appended to partition ${partition}`);
  }

  // The group reads everything, then commits part way on each partition: the rest is the lag.
  const total = PARTITIONS.reduce((sum, { produced }) => sum + produced, 0);
  const kafka = new Kafka({ clientId: 'prometheus-scrape-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  t.teardown(() => consumer.disconnect().catch(() => undefined));
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const consumed = new Map<number, number>();
  const allConsumed = new Promise<void>((resolve) => {
    let count = 0;
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition }) => {
        consumed.set(partition, (consumed.get(partition) ?? 0) + 1);
        if (++count === total) resolve();
      },
    });
  });
  await allConsumed;
  await consumer.commitOffsets(PARTITIONS.map(({ partition, committed }) => ({ topic: TOPIC, partition, offset: String(committed) })));
  await consumer.disconnect();
  for (const { partition, produced } of PARTITIONS) t.equal(consumed.get(partition), produced, `the group consumed partition ${partition}'s ${produced} records`);
  const expectedLag = new Map(PARTITIONS.map(({ partition, produced, committed }) => [String(partition), produced - committed]));

  const prometheusPort = await freePort();
  const prometheus = startPrometheus(t, `127.0.0.1:${httpPort}`, prometheusPort);

  // Until Prometheus has scraped the target and holds a lag series per partition (bounded).
  const deadline = Date.now() + SCRAPE_WAIT_MS;
  let up: VectorSample[] = [];
  let lag: VectorSample[] = [];
  let lastError = '';
  const ready = (): boolean => up.some((s) => s.value[1] === '1') && PARTITIONS.every(({ partition }) => lag.some((s) => s.metric.partition === String(partition)));
  while (!ready()) {
    const exited = prometheus.exited();
    if (exited !== null) throw new Error(`prometheus exited (${exited}):\n${prometheus.output()}`);
    if (Date.now() >= deadline) break;
    try {
      up = await query(prometheusPort, `up{job="${JOB}"}`);
      lag = await query(prometheusPort, `spate_consumer_group_lag{job="${JOB}"}`);
    } catch (error) {
      lastError = (error as Error).message; // not listening yet; reported if it never is
    }
    if (!ready()) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (!ready()) t.comment(`not ready: up ${JSON.stringify(up)}, lag ${JSON.stringify(lag)}, last error ${lastError || 'none'}; prometheus said:\n${prometheus.output()}`);
  t.ok(ready(), `within ${SCRAPE_WAIT_MS / 1000} s Prometheus has the target up and a lag series per partition`);

  // What the broker itself serves, at the same time (nothing moves the lag any more).
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  const families = parsePrometheusTextFormat(await response.text());
  const served = families.find((family) => family.name === 'spate_consumer_group_lag')?.metrics ?? [];
  const fromMetrics = new Map(served.filter((metric) => metric.labels?.group === GROUP && metric.labels?.topic === TOPIC).map((metric) => [metric.labels!.partition!, Number(metric.value)]));
  const fromPrometheus = new Map(lag.filter((s) => s.metric.group === GROUP && s.metric.topic === TOPIC).map((s) => [s.metric.partition!, Number(s.value[1])]));

  t.comment(`up{job="${JOB}"}: ${JSON.stringify(up.map((s) => ({ instance: s.metric.instance, value: s.value[1] })))}`);
  t.comment(`lag left by the test ${JSON.stringify(Object.fromEntries(expectedLag))}; Prometheus ${JSON.stringify(Object.fromEntries(fromPrometheus))}; /metrics ${JSON.stringify(Object.fromEntries(fromMetrics))}`);
  t.same(up.map((s) => [s.metric.instance, s.value[1]]), [[`127.0.0.1:${httpPort}`, '1']], `up{job="${JOB}"} is 1 for the broker's HTTP listener`);
  t.same(Object.fromEntries(fromPrometheus), Object.fromEntries(expectedLag), 'Prometheus\'s lag per (group, topic, partition) is the produced count minus the committed offset');
  t.same(Object.fromEntries(fromMetrics), Object.fromEntries(expectedLag), '/metrics reports the same lag');
  t.same(
    lag.map((s) => ({ ...s.metric })).sort((a, b) => a.partition!.localeCompare(b.partition!)),
    PARTITIONS.map(({ partition }) => ({ __name__: 'spate_consumer_group_lag', group: GROUP, topic: TOPIC, partition: String(partition), instance: `127.0.0.1:${httpPort}`, job: JOB })),
    'Prometheus holds exactly one series per partition, with the broker\'s labels and its own job and instance',
  );
});
