// Configs as Kafka reports them (CreateTopics v5+, DescribeConfigs): every key with its
// effective value, where that value came from, and its synonyms — the topic override,
// the broker key it defaults to, and the built-in default — in Kafka's order.

import type { BrokerConfig } from '../config/broker-config.js';
import {
  brokerConfigDefinitions,
  topicConfigDefinitions,
  type ConfigDefinition,
  type ConfigType,
  type ConfigValue,
} from '../config/definitions.js';

/** Kafka's DescribeConfigs config sources. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** Kafka's DescribeConfigs config types (v3+). */
const CONFIG_TYPE_CODES: Record<ConfigType, number> = { boolean: 1, string: 2, int: 3, long: 5, double: 6, list: 7 };

const KAFKA_LONG_MAX = '9223372036854775807';

/** A value as Kafka prints it; "never" (Long.MAX_VALUE, clamped to 2^53-1 here) prints as Kafka's number. */
export function formatConfigValue(value: ConfigValue): string | null {
  if (value === null) return null;
  if (Array.isArray(value)) return value.join(',');
  if (value === Number.MAX_SAFE_INTEGER) return KAFKA_LONG_MAX;
  return String(value);
}

export interface ConfigSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
}

export interface ConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  readonly isDefault: boolean;
  readonly configSource: number;
  readonly isSensitive: boolean;
  readonly synonyms: readonly ConfigSynonym[];
  readonly configType: number;
  readonly documentation: string | null;
}

function entry(definition: ConfigDefinition, synonyms: readonly ConfigSynonym[], readOnly: boolean): ConfigEntry {
  const effective = synonyms[0] ?? { name: definition.name, value: null, source: ConfigSource.DEFAULT_CONFIG };
  return {
    name: definition.name,
    value: effective.value,
    readOnly,
    isDefault: effective.source === ConfigSource.DEFAULT_CONFIG,
    configSource: effective.source,
    isSensitive: false,
    synonyms,
    configType: CONFIG_TYPE_CODES[definition.type],
    documentation: definition.doc,
  };
}

/** A broker key's value from server.properties/--override, then its default. */
function brokerSynonyms(config: BrokerConfig, key: string): ConfigSynonym[] {
  const definition = brokerConfigDefinitions.get(key)!;
  const synonyms: ConfigSynonym[] = [];
  if (config.explicitKeys.has(key)) {
    synonyms.push({ name: key, value: formatConfigValue(config.values.get(key) ?? null), source: ConfigSource.STATIC_BROKER_CONFIG });
  }
  synonyms.push({ name: key, value: definition.defaultValue === String(Number.MAX_SAFE_INTEGER) ? KAFKA_LONG_MAX : definition.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
  return synonyms;
}

/** Every topic key, effective for a topic with these overrides. */
export function topicConfigEntries(config: BrokerConfig, overrides: Readonly<Record<string, string>>): ConfigEntry[] {
  return [...topicConfigDefinitions.values()].map((definition) => {
    const synonyms: ConfigSynonym[] = [];
    const override = overrides[definition.name];
    if (override !== undefined) synonyms.push({ name: definition.name, value: override, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    if (definition.brokerSynonym === undefined) {
      // Kafka has no broker default for this key (remote storage, replication throttles): only the built-in default.
      synonyms.push({ name: definition.name, value: definition.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
      return entry(definition, synonyms, false);
    }
    const fromBroker = brokerSynonyms(config, definition.brokerSynonym);
    // The effective default is the resolved broker value (retention.ms derived from hours, …), not the raw key's.
    const resolved = formatConfigValue(config.topicDefaults.get(definition.name) ?? null);
    synonyms.push(...fromBroker.map((synonym) => (synonym.source === ConfigSource.DEFAULT_CONFIG ? { ...synonym, value: resolved } : synonym)));
    return entry(definition, synonyms, false);
  });
}

/** Every broker key this broker reads; static (server.properties), so read-only. */
export function brokerConfigEntries(config: BrokerConfig): ConfigEntry[] {
  return [...brokerConfigDefinitions.values()].map((definition) => entry(definition, brokerSynonyms(config, definition.name), true));
}
