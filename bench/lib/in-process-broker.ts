// A Spate broker started inside the benchmark's own process (produce-consume.ts, zero-copy.ts),
// so that its main thread's event-loop utilisation and CPU time can be measured while the
// clients run: starting it from config overrides, creating a topic, reaching its shard workers.

import { Broker } from '../../src/broker.js';
import { buildBrokerConfig, type BrokerConfig } from '../../src/config/broker-config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { BenchError } from './bench-common.js';
import type { EluSource } from './measure.js';

/**
 * Starts a broker on the defaults plus `overrides` (printing the config's warnings to stderr);
 * `logger` defaults to warnings and errors on stderr.
 */
export async function startInProcessBroker(
  overrides: ReadonlyMap<string, string>,
  logger: Logger = createLogger('spate', 'warn'),
): Promise<{ broker: Broker; config: BrokerConfig }> {
  // No HTTP unless asked: a bench may run beside a broker serving the default 8080.
  const { config, warnings } = buildBrokerConfig(new Map(), new Map([['http.listeners', ''], ...overrides]));
  for (const warning of warnings) process.stderr.write(`broker config: ${warning}\n`);
  const broker = await Broker.start(config, logger);
  return { broker, config };
}

/** Creates `name` with `partitions` partitions (the broker's replication and configs); returns its topic id. */
export async function createTopic(broker: Broker, name: string, partitions: number): Promise<string> {
  const created = await broker.controller.createTopic({ name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: new Map() });
  if (created.errorCode !== 0 || created.topic === null) throw new BenchError(`creating topic ${name} failed: ${created.errorMessage ?? `error ${created.errorCode}`}`);
  return created.topic.topicId;
}

/** The shard workers' own event-loop utilisation, when the broker's ShardSet lets us reach the Worker objects. */
export function shardWorkers(broker: Broker): EluSource[] | null {
  const workers = broker.shards.all().map((client) => (client as unknown as { worker?: Partial<EluSource> }).worker);
  return workers.every((worker) => typeof worker?.performance?.eventLoopUtilization === 'function') ? (workers as EluSource[]) : null;
}
