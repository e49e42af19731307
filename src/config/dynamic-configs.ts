// Dynamic broker configs (Kafka's KIP-226): broker keys changed at run time through
// IncrementalAlterConfigs and AlterConfigs on the BROKER resource, at two levels — the
// cluster default (resource name "") and this broker (its id), which wins — over the static
// configuration (server.properties, --override) and the built-in defaults. Which keys may
// change is each definition's `dynamic` marker (definitions.ts). This file checks a level's
// keys and values and computes the effective configuration; the controller stores the levels
// (metadata snapshot and journal) and applies the result.

import {
  ConfigError,
  parseConfigValue,
  perIpOverrides,
  topicDefaultsOf,
  validateTopicConfigs,
  type BrokerConfig,
  type DynamicLayers,
} from './broker-config.js';
import { brokerConfigDefinitions, topicConfigDefinitions, type ConfigValue } from './definitions.js';
import { limits } from './limits.js';

/** The topic key each broker key is the default of (log.retention.ms → retention.ms, …). */
const topicKeyOfBrokerKey: ReadonlyMap<string, string> = new Map(
  [...topicConfigDefinitions.values()].flatMap((definition) => (definition.brokerSynonym === undefined ? [] : [[definition.brokerSynonym, definition.name] as const])),
);

/**
 * Keys Kafka changes at run time that Spate applies only at startup (it would have to rebind
 * its listeners, or it has no such thread pool): refused like any read-only key, with a note.
 */
const DYNAMIC_IN_KAFKA_ONLY: ReadonlySet<string> = new Set([
  'listeners', 'advertised.listeners', 'producer.id.expiration.ms',
  'num.network.threads', 'num.io.threads', 'num.recovery.threads.per.data.dir', 'num.replica.fetchers', 'log.cleaner.threads',
]);

export function isDynamicBrokerKey(key: string): boolean {
  return brokerConfigDefinitions.get(key)?.dynamic !== undefined;
}

/** Why a level's configs cannot be set: keys that cannot change at run time, or a value that is not acceptable. */
export type DynamicConfigProblem =
  | { readonly kind: 'notDynamic'; readonly message: string }
  | { readonly kind: 'invalid'; readonly message: string };

/**
 * Checks one level's complete set of dynamic configs (after the request's changes): every key
 * must be dynamic, every value valid for its key — and, for a key that is a topic key's
 * default, valid for that topic key too, so a broker default can never be what a topic may
 * not be set to. Kafka answers the first with INVALID_REQUEST, the second with INVALID_CONFIG.
 */
export function checkDynamicConfigs(configs: ReadonlyMap<string, string>): DynamicConfigProblem | undefined {
  const readOnly = [...configs.keys()].filter((key) => !isDynamicBrokerKey(key));
  if (readOnly.length > 0) {
    // Kafka's words (DynamicBrokerConfig.validateConfigs), so scripts that match them still do.
    const inKafkaOnly = readOnly.filter((key) => DYNAMIC_IN_KAFKA_ONLY.has(key));
    const note = inKafkaOnly.length > 0 ? ` (Spate applies ${inKafkaOnly.join(', ')} only at startup: set them in server.properties)` : '';
    return { kind: 'notDynamic', message: `Cannot update these configs dynamically: Set(${readOnly.join(', ')})${note}` };
  }
  for (const [key, text] of configs) {
    const problem = valueProblem(key, text);
    if (problem !== undefined) return { kind: 'invalid', message: problem.message };
  }
  return undefined;
}

function valueProblem(key: string, text: string): ConfigError | undefined {
  if (Buffer.byteLength(text) > limits.dynamicConfigValueBytesMax) {
    return new ConfigError(key, `a value of ${Buffer.byteLength(text)} bytes is longer than the ${limits.dynamicConfigValueBytesMax} a dynamic config may be`);
  }
  let value: ConfigValue;
  try {
    value = parseConfigValue(brokerConfigDefinitions.get(key)!, text);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  // Kafka's listener quota refuses a dynamic max.connections below 1: persisted, 0 would
  // refuse every client, the admin that could undo it included, across restarts.
  if (key === 'max.connections' && typeof value === 'number' && value < 1) {
    return new ConfigError(key, `${value} would refuse every connection; a dynamic max.connections must be at least 1`);
  }
  const topicKey = topicKeyOfBrokerKey.get(key);
  return topicKey === undefined ? undefined : validateTopicConfigs(new Map([[topicKey, text]]));
}

/**
 * The broker's configuration with these dynamic configs over its static one: the cluster
 * default over static values, this broker's configs over both. A stored config that is no
 * longer dynamic or valid (written by another version) is left out with a warning, as Kafka
 * leaves out what it cannot apply, rather than keeping the broker from starting.
 */
export function withDynamicConfigs(config: BrokerConfig, layers: DynamicLayers): { config: BrokerConfig; warnings: string[] } {
  const warnings: string[] = [];
  const values = new Map<string, ConfigValue>(config.staticValues);
  const kept = (layer: ReadonlyMap<string, string>, level: string): Map<string, string> => {
    const applied = new Map<string, string>();
    for (const [key, text] of layer) {
      const problem = checkDynamicConfigs(new Map([[key, text]]));
      if (problem !== undefined) {
        warnings.push(`ignoring the dynamic config ${key} stored for ${level}: ${problem.message}`);
        continue;
      }
      values.set(key, parseConfigValue(brokerConfigDefinitions.get(key)!, text));
      applied.set(key, text);
    }
    return applied;
  };
  // Cluster default first: this broker's own configs overwrite it.
  const clusterDefault = kept(layers.clusterDefault, 'the cluster default');
  const broker = kept(layers.broker, `broker ${config.brokerId}`);
  const get = <T extends ConfigValue>(key: string): T => values.get(key) as T;
  return {
    config: {
      ...config,
      maxConnections: get<number | null>('max.connections'),
      maxConnectionsPerIp: get('max.connections.per.ip'),
      maxConnectionsPerIpOverrides: perIpOverrides(values),
      topicDefaults: topicDefaultsOf(values),
      values,
      dynamic: { broker, clusterDefault },
    },
    warnings,
  };
}
