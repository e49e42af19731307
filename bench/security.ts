// What TLS and SASL cost: produce and consume throughput of 1 KiB messages over a PLAINTEXT,
// an SSL (no client certificate), a SASL_SSL (SCRAM-SHA-512) and an SSL listener that requires
// a client certificate (mTLS), all four served by one broker started in this process, driven by
// librdkafka's rdkafka_performance (as produce-consume.ts). Per protocol and phase: the
// client's msgs/s and MB/s, the broker process's CPU seconds per GB (all threads), the client's
// CPU per GB, and the broker main thread's event-loop utilisation; each protocol's figures
// against PLAINTEXT's.
//
//   npm run bench:security            # builds, then: node dist/bench/security.js
//   node dist/bench/security.js --help
//
// Writes bench/results/security.json. See bench/README.md ("security") for how to read it.

import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { makeCertificates, type CertificateFiles } from '../src/cli/certs.js';
import { partitionKey } from '../src/shard/messages.js';
import {
  BenchError,
  findProjectRoot,
  fixed,
  formatTable,
  freePort,
  gitRevision,
  integerFormat,
  integerOption,
  machineInfo,
  medianOrNull,
  noiseWarning,
  outOption,
  parseOptions,
  runBenchmark,
  UsageError,
  waitForQuiet,
  writeResults,
} from './lib/bench-common.js';
import { inBrokerScope } from './lib/broker-scope.js';
import { createTopic, shardWorkers, startInProcessBroker } from './lib/in-process-broker.js';
import { measure, type Usage } from './lib/measure.js';
import { ensureRdkafkaPerformance, rdkafkaVersion } from './lib/rdkafka-performance.js';
import { parseConsume, parseProduce, runClient, type ConsumeSummary, type ProduceSummary } from './lib/rdkafka-run.js';
import { createScramUser } from './lib/scram-user.js';

// ---------------------------------------------------------------------------------------
// Settings

/** The listeners measured: the name is the broker's listener name (and the label in the table). */
const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_SSL', 'MTLS'] as const;
type Protocol = (typeof PROTOCOLS)[number];

const PROTOCOL_LABEL: Readonly<Record<Protocol, string>> = {
  PLAINTEXT: 'PLAINTEXT',
  SSL: 'SSL',
  SASL_SSL: 'SASL_SSL',
  MTLS: 'SSL+client cert',
};

interface Settings {
  readonly messages: number;
  readonly messageBytes: number;
  readonly partitions: number;
  readonly runs: number;
  readonly warmupMessages: number;
  readonly protocols: readonly Protocol[];
  readonly lingerMs: number;
  readonly batchNumMessages: number;
  readonly maxPartitionFetchBytes: number;
  readonly timeoutSeconds: number;
  readonly quietWaitSeconds: number;
  readonly out: string | null;
}

const USAGE = `usage: node dist/bench/security.js [options]

  --messages N        messages per phase (default 500000)
  --size BYTES        message payload size (default 1024)
  --partitions P      partitions of each topic (default 3)
  --runs R            runs; each run measures every protocol once (their order rotating), the
                      table shows the median (default 3)
  --warmup N          messages produced and consumed over each protocol before the runs, not
                      measured (JIT, TLS code paths, file growth); 0 for none (default 50000)
  --protocols LIST    comma-separated, of ${PROTOCOLS.join(', ')} (default all;
                      MTLS = an SSL listener with ssl.client.auth=required)
  --linger-ms MS      producer linger.ms (default 5)
  --batch-messages M  producer batch.num.messages (default 10000)
  --fetch-bytes B     consumer max.partition.fetch.bytes (default 1048576)
  --quiet-wait S      before each phase, wait up to S seconds for the machine to be idle
                      (< 0.25 cores busy), 0 = do not wait (default 10)
  --timeout S         seconds before a client run is killed as stuck (default 120)
  --out PATH          results JSON (default bench/results/security.json; "-" for none)
`;

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const known = ['messages', 'size', 'partitions', 'runs', 'warmup', 'protocols', 'linger-ms', 'batch-messages', 'fetch-bytes', 'quiet-wait', 'timeout', 'out'];
  const values = parseOptions(argv, known, USAGE);
  const integer = (key: string, fallback: number, min: number): number => integerOption(values, key, fallback, min);
  const protocols = (values.get('protocols') ?? PROTOCOLS.join(','))
    .split(',')
    .map((name) => name.trim().toUpperCase())
    .filter((name) => name !== '');
  for (const name of protocols) if (!(PROTOCOLS as readonly string[]).includes(name)) throw new UsageError(`--protocols: ${name} is not one of ${PROTOCOLS.join(', ')}`);
  if (protocols.length === 0) throw new UsageError('--protocols names none');
  return {
    messages: integer('messages', 500_000, 1),
    messageBytes: integer('size', 1024, 1),
    partitions: integer('partitions', 3, 1),
    runs: integer('runs', 3, 1),
    warmupMessages: integer('warmup', 50_000, 0),
    protocols: [...new Set(protocols)] as Protocol[],
    lingerMs: integer('linger-ms', 5, 0),
    batchNumMessages: integer('batch-messages', 10_000, 1),
    maxPartitionFetchBytes: integer('fetch-bytes', 1_048_576, 1),
    timeoutSeconds: integer('timeout', 120, 1),
    quietWaitSeconds: integer('quiet-wait', 10, 0),
    out: outOption(values, projectRoot, 'security.json'),
  };
}

// ---------------------------------------------------------------------------------------
// The broker's listeners and the client's settings for each

const SCRAM_USER = 'bench';
const SCRAM_PASSWORD = 'bench-secret';

function brokerOverrides(ports: ReadonlyMap<Protocol, number>, files: CertificateFiles, dataDir: string, partitions: number): Map<string, string> {
  return new Map([
    ['listeners', PROTOCOLS.map((protocol) => `${protocol}://127.0.0.1:${ports.get(protocol)!}`).join(',')],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,MTLS:SSL'],
    ['ssl.keystore.type', 'PEM'],
    ['ssl.keystore.location', files.brokers[0]!.keystore],
    ['ssl.truststore.type', 'PEM'],
    ['ssl.truststore.location', files.ca.certificate],
    ['ssl.client.auth', 'none'],
    ['listener.name.mtls.ssl.client.auth', 'required'],
    ['sasl.enabled.mechanisms', 'SCRAM-SHA-512'],
    ['log.dirs', join(dataDir, 'data')],
    ['num.partitions', String(partitions)],
  ]);
}

/** rdkafka_performance's -X properties for a listener (beside -b). */
function clientSecurity(protocol: Protocol, files: CertificateFiles): string[] {
  const ca = ['-X', `ssl.ca.location=${files.ca.certificate}`];
  switch (protocol) {
    case 'PLAINTEXT':
      return [];
    case 'SSL':
      return ['-X', 'security.protocol=SSL', ...ca];
    case 'MTLS':
      return ['-X', 'security.protocol=SSL', ...ca, '-X', `ssl.certificate.location=${files.clients[0]!.certificate}`, '-X', `ssl.key.location=${files.clients[0]!.key}`];
    case 'SASL_SSL':
      return ['-X', 'security.protocol=SASL_SSL', ...ca, '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', `sasl.username=${SCRAM_USER}`, '-X', `sasl.password=${SCRAM_PASSWORD}`];
  }
}

/** What a TLS listener negotiates with a Node (OpenSSL) client: protocol version and cipher. */
function negotiated(port: number, files: CertificateFiles, withCertificate: boolean): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(files.ca.certificate),
      ...(withCertificate ? { cert: readFileSync(files.clients[0]!.certificate), key: readFileSync(files.clients[0]!.key) } : {}),
    });
    // end(), not destroy(): the broker reads the client's Finished (and this side its session tickets) before the close.
    socket.once('secureConnect', () => {
      const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().standardName };
      socket.once('close', () => resolve(result));
      socket.end();
    });
    socket.once('error', (error) => reject(new BenchError(`TLS probe of port ${port}: ${error.message}`)));
  });
}

// ---------------------------------------------------------------------------------------
// Results

const PHASES = ['produce acks=1', 'produce acks=all', 'consume'] as const;
type Phase = (typeof PHASES)[number];

interface Metrics {
  readonly msgsPerSec: number;
  readonly mbPerSec: number;
  readonly wallSeconds: number;
  readonly mainThreadElu: number;
  readonly brokerCpuSeconds: number;
  readonly brokerCpuSecondsPerGB: number;
  readonly clientCpuSecondsPerGB: number | null;
  readonly brokerCores: number;
  readonly clientCores: number | null;
  readonly otherCores: number | null;
  readonly hostBusyCores: number;
  readonly readPerPayloadByte: number | null;
  readonly writePerPayloadByte: number | null;
  readonly minorFaultsPerMB: number | null;
}

interface PhaseRun {
  readonly run: number;
  readonly protocol: Protocol;
  readonly phase: Phase;
  readonly topic: string;
  readonly metrics: Metrics;
  readonly client: (ProduceSummary | ConsumeSummary) & { readonly cpuSeconds: number | null };
  readonly broker: Usage;
  readonly loadAverageBefore: readonly number[];
  readonly busyCoresBefore: number | null;
  readonly clientArgs: readonly string[];
}

function medianMetrics(runs: readonly PhaseRun[]): Metrics {
  const of = (pick: (metrics: Metrics) => number | null): number | null => medianOrNull(runs.map((run) => pick(run.metrics)));
  return {
    msgsPerSec: of((m) => m.msgsPerSec)!,
    mbPerSec: of((m) => m.mbPerSec)!,
    wallSeconds: of((m) => m.wallSeconds)!,
    mainThreadElu: of((m) => m.mainThreadElu)!,
    brokerCpuSeconds: of((m) => m.brokerCpuSeconds)!,
    brokerCpuSecondsPerGB: of((m) => m.brokerCpuSecondsPerGB)!,
    clientCpuSecondsPerGB: of((m) => m.clientCpuSecondsPerGB),
    brokerCores: of((m) => m.brokerCores)!,
    clientCores: of((m) => m.clientCores),
    otherCores: of((m) => m.otherCores),
    hostBusyCores: of((m) => m.hostBusyCores)!,
    readPerPayloadByte: of((m) => m.readPerPayloadByte),
    writePerPayloadByte: of((m) => m.writePerPayloadByte),
    minorFaultsPerMB: of((m) => m.minorFaultsPerMB),
  };
}

const HEADER = ['protocol', 'phase', 'msgs/s', 'MB/s', 'MB/s vs PLAINTEXT', 'broker CPU s/GB', 'vs PLAINTEXT', 'client CPU s/GB', 'main ELU', 'cores broker/client/other'];

const LEGEND = `How to read this (details in bench/README.md, "security"):
  protocol          the listener the client used: PLAINTEXT; SSL without a client certificate;
                    SASL_SSL with SCRAM-SHA-512; SSL+client cert = an SSL listener with
                    ssl.client.auth=required (mTLS). One broker serves all four.
  msgs/s, MB/s      rdkafka_performance's own rate (producer: first produce() to last delivery
                    report; consumer: first message to the N-th). MB = 10^6 payload bytes.
  vs PLAINTEXT      this row's MB/s, and broker CPU per GB, divided by PLAINTEXT's for the same phase.
  broker CPU s/GB   CPU seconds of the broker process (all threads) over the client's run, per
                    10^9 payload bytes. client CPU s/GB: the same for the rdkafka_performance process.
  main ELU          event-loop utilisation of the broker's main thread (network, TLS, protocol).
  cores             average cores busy: the broker, the client, everything else on the machine.`;

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  process.stdout.on('error', () => undefined);
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const client = ensureRdkafkaPerformance(projectRoot);
  const clientVersion = rdkafkaVersion(client);

  const dir = mkdtempSync(join(tmpdir(), 'spate-bench-security-'));
  await inBrokerScope(dir, async (scope) => {
    const files = await makeCertificates({ dir: join(dir, 'certs'), brokers: [{ name: 'broker' }], clients: ['bench'] });
    const ports = new Map<Protocol, number>();
    for (const protocol of PROTOCOLS) ports.set(protocol, await freePort());
    const bootstrap = (protocol: Protocol): string => `127.0.0.1:${ports.get(protocol)!}`;
    const overrides = brokerOverrides(ports, files, dir, settings.partitions);
    const started = await startInProcessBroker(overrides);
    const broker = started.broker;
    scope.broker = broker;
    const config = started.config;
    const workers = shardWorkers(broker);
    await createScramUser(projectRoot, bootstrap('PLAINTEXT'), SCRAM_USER, SCRAM_PASSWORD, 'SCRAM-SHA-512');
    const tls = {
      SSL: await negotiated(ports.get('SSL')!, files, false),
      MTLS: await negotiated(ports.get('MTLS')!, files, true),
    };

    const payloadBytes = settings.messages * settings.messageBytes;
    const { uvThreadpoolSize: _threadpool, ...machine } = machineInfo();
    const hostCores = machine.cpuCount;
    const loadAverageAtStart = loadavg();
    console.log(
      `Spate security benchmark: ${integerFormat.format(settings.messages)} messages × ${settings.messageBytes} B ` +
        `(${(payloadBytes / 1e6).toFixed(0)} MB) per phase, ${settings.partitions} partition(s), ${config.numShards} shard(s), ` +
        `${settings.runs} run(s) of ${settings.protocols.map((protocol) => PROTOCOL_LABEL[protocol]).join(', ')}`,
    );
    console.log(
      `client: rdkafka_performance (librdkafka ${clientVersion ?? '?'}); producer linger.ms=${settings.lingerMs}, batch.num.messages=${settings.batchNumMessages}, ` +
        `no compression; consumer max.partition.fetch.bytes=${settings.maxPartitionFetchBytes}`,
    );
    console.log(`TLS negotiated with a Node client: ${tls.SSL.protocol} ${tls.SSL.cipher} (SSL), ${tls.MTLS.protocol} ${tls.MTLS.cipher} (with a client certificate); EC P-256 certificates`);
    console.log(`machine: ${hostCores} × ${machine.cpuModel ?? '?'}, node ${machine.node}, ${machine.kernel}; broker data in ${dir}`);

    const produceArgs = (protocol: Protocol, topic: string, messages: number, acks: string): string[] => [
      '-P', '-t', topic, '-b', bootstrap(protocol), ...clientSecurity(protocol, files),
      '-s', String(settings.messageBytes), '-c', String(messages), '-a', acks, '-z', 'none',
      '-X', `linger.ms=${settings.lingerMs}`, '-X', `batch.num.messages=${settings.batchNumMessages}`,
    ];
    const consumeArgs = (protocol: Protocol, topic: string, messages: number): string[] => [
      '-C', '-t', topic, '-b', bootstrap(protocol), ...clientSecurity(protocol, files),
      '-o', 'beginning', '-c', String(messages), '-X', `max.partition.fetch.bytes=${settings.maxPartitionFetchBytes}`,
      ...Array.from({ length: settings.partitions }, (_, partition) => ['-p', String(partition)]).flat(),
    ];
    const storedMessages = (topic: string): number =>
      Array.from({ length: settings.partitions }, (_, partition) => broker.shards.offsets.get(partitionKey(topic, partition))?.highWatermark ?? 0).reduce((a, b) => a + b, 0);

    if (settings.warmupMessages > 0) {
      console.log(`warm-up (not measured): ${integerFormat.format(settings.warmupMessages)} messages produced and consumed over each protocol`);
      for (const protocol of settings.protocols) {
        const topic = `warmup-${protocol.toLowerCase()}`;
        await createTopic(broker, topic, settings.partitions);
        const produce = produceArgs(protocol, topic, settings.warmupMessages, '1');
        parseProduce(await runClient(client, produce, settings.timeoutSeconds), produce, settings.warmupMessages);
        scope.checkAborted();
        const consume = consumeArgs(protocol, topic, settings.warmupMessages);
        parseConsume(await runClient(client, consume, settings.timeoutSeconds), consume, settings.warmupMessages);
        scope.checkAborted();
      }
    }

    const runs: PhaseRun[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      // Rotate the order of the protocols from run to run, so that none is always measured first or last.
      const shift = (run - 1) % settings.protocols.length;
      const order = [...settings.protocols.slice(shift), ...settings.protocols.slice(0, shift)];
      for (const protocol of order) {
        const acks1Topic = `sec-${run}-${protocol.toLowerCase()}-acks1`;
        const acksAllTopic = `sec-${run}-${protocol.toLowerCase()}-acksall`;
        await createTopic(broker, acks1Topic, settings.partitions);
        await createTopic(broker, acksAllTopic, settings.partitions);
        for (const phase of PHASES) {
          scope.checkAborted();
          const topic = phase === 'produce acks=all' ? acksAllTopic : acks1Topic;
          const args =
            phase === 'consume' ? consumeArgs(protocol, topic, settings.messages) : produceArgs(protocol, topic, settings.messages, phase === 'produce acks=1' ? '1' : '-1');
          const busyCoresBefore = settings.quietWaitSeconds > 0 ? await waitForQuiet(settings.quietWaitSeconds) : null;
          const loadAverageBefore = loadavg();
          const { result, usage } = await measure(workers, () => runClient(client, args, settings.timeoutSeconds));
          scope.checkAborted();
          const summary = phase === 'consume' ? parseConsume(result, args, settings.messages, payloadBytes) : parseProduce(result, args, settings.messages);
          if (phase !== 'consume' && storedMessages(topic) !== settings.messages) {
            throw new BenchError(`the broker's high watermarks of ${topic} add up to ${storedMessages(topic)}, not ${settings.messages}`);
          }
          const brokerCores = usage.processCpuSeconds / usage.wallSeconds;
          const clientCores = result.cpuSeconds === null ? null : result.cpuSeconds / usage.wallSeconds;
          const gigabytes = payloadBytes / 1e9;
          const metrics: Metrics = {
            msgsPerSec: summary.msgsPerSec,
            mbPerSec: summary.mbPerSec,
            wallSeconds: usage.wallSeconds,
            mainThreadElu: usage.mainThreadElu,
            brokerCpuSeconds: usage.processCpuSeconds,
            brokerCpuSecondsPerGB: usage.processCpuSeconds / gigabytes,
            clientCpuSecondsPerGB: result.cpuSeconds === null ? null : result.cpuSeconds / gigabytes,
            brokerCores,
            clientCores,
            otherCores: clientCores === null ? null : Math.max(0, usage.hostBusyCores - brokerCores - clientCores),
            hostBusyCores: usage.hostBusyCores,
            readPerPayloadByte: usage.syscallReadBytes === null ? null : usage.syscallReadBytes / payloadBytes,
            writePerPayloadByte: usage.syscallWriteBytes === null ? null : usage.syscallWriteBytes / payloadBytes,
            minorFaultsPerMB: usage.minorPageFaults === null ? null : usage.minorPageFaults / (payloadBytes / 1e6),
          };
          runs.push({ run, protocol, phase, topic, metrics, client: { ...summary, cpuSeconds: result.cpuSeconds }, broker: usage, loadAverageBefore, busyCoresBefore, clientArgs: args });
          console.log(
            `  #${run} ${PROTOCOL_LABEL[protocol].padEnd(15)} ${phase.padEnd(16)} ${integerFormat.format(metrics.msgsPerSec).padStart(9)} msgs/s ${metrics.mbPerSec.toFixed(1).padStart(7)} MB/s` +
              `  broker ${metrics.brokerCpuSecondsPerGB.toFixed(2)} CPU s/GB  client ${fixed(metrics.clientCpuSecondsPerGB, 2)} CPU s/GB  main ELU ${metrics.mainThreadElu.toFixed(2)}` +
              `  cores ${brokerCores.toFixed(2)}/${fixed(clientCores, 2)}/${fixed(metrics.otherCores, 2)}  wall ${usage.wallSeconds.toFixed(2)} s`,
          );
        }
      }
    }

    const medians = settings.protocols.flatMap((protocol) =>
      PHASES.map((phase) => ({ protocol, phase, runs: settings.runs, ...medianMetrics(runs.filter((run) => run.protocol === protocol && run.phase === phase)) })),
    );
    const baseline = (phase: Phase): Metrics | undefined => medians.find((m) => m.protocol === 'PLAINTEXT' && m.phase === phase);
    const ratios = medians.map((m) => {
      const base = baseline(m.phase);
      return {
        protocol: m.protocol,
        phase: m.phase,
        mbPerSecVsPlaintext: base === undefined ? null : m.mbPerSec / base.mbPerSec,
        brokerCpuPerGBVsPlaintext: base === undefined ? null : m.brokerCpuSecondsPerGB / base.brokerCpuSecondsPerGB,
      };
    });
    const rows = medians.map((m, index) => [
      PROTOCOL_LABEL[m.protocol],
      m.phase,
      integerFormat.format(m.msgsPerSec),
      m.mbPerSec.toFixed(1),
      fixed(ratios[index]!.mbPerSecVsPlaintext, 2),
      m.brokerCpuSecondsPerGB.toFixed(2),
      fixed(ratios[index]!.brokerCpuPerGBVsPlaintext, 2),
      fixed(m.clientCpuSecondsPerGB, 2),
      m.mainThreadElu.toFixed(2),
      `${m.brokerCores.toFixed(2)}/${fixed(m.clientCores, 2)}/${fixed(m.otherCores, 2)}`,
    ]);
    console.log(`\nMedian of ${settings.runs} run(s), ${integerFormat.format(settings.messages)} × ${settings.messageBytes} B messages, ${settings.partitions} partition(s), ${config.numShards} shard(s):\n`);
    console.log(formatTable(HEADER, rows));
    console.log(`\n${LEGEND}`);
    const noise = noiseWarning(runs, (run) => run.metrics.otherCores, (run) => `#${run.run} ${run.protocol} ${run.phase}`, hostCores);
    if (noise !== null) console.log(`\n${noise}`);

    if (settings.out !== null) {
      const revision = gitRevision(projectRoot);
      const results = {
        benchmark: 'security',
        description:
          'Produce (acks=1, acks=all) and consume N messages with librdkafka rdkafka_performance over PLAINTEXT, SSL, SASL_SSL (SCRAM-SHA-512) and SSL with ' +
          'ssl.client.auth=required, all listeners of one in-process Spate broker; medians over runs. MB = 10^6 payload bytes. Broker figures cover the wall window of each client process.',
        timestamp: new Date().toISOString(),
        settings: {
          ...settings,
          out: undefined,
          shards: config.numShards,
          clientConfig: {
            producer: { 'linger.ms': settings.lingerMs, 'batch.num.messages': settings.batchNumMessages, 'compression.codec': 'none' },
            consumer: { 'max.partition.fetch.bytes': settings.maxPartitionFetchBytes },
          },
          brokerOverrides: Object.fromEntries([...overrides].filter(([key]) => key !== 'log.dirs' && !key.endsWith('.location'))),
          certificates: 'src/cli/certs.ts makeCertificates: EC P-256 CA, broker and client certificates',
          tlsNegotiatedWithNodeClient: tls,
        },
        machine: { ...machine, librdkafka: clientVersion },
        revision,
        loadAverageAtStart,
        noiseWarning: noise,
        medians,
        ratios,
        runs,
      };
      console.log(`\nresults written to ${writeResults(settings.out, results)}`);
    }
  });
}

runBenchmark('security', USAGE, main);
