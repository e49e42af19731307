// Configs as Kafka reports them (CreateTopics v5+, DescribeConfigs): every key with its
// effective value, where that value came from, and its synonyms in Kafka's order — the
// topic override, then the broker key it defaults to at each level: this broker's dynamic
// config, the cluster default, server.properties or --override, the built-in default.

import type { BrokerConfig } from '../config/broker-config.js';
import {
  brokerConfigDefinitions,
  brokerKeySynonyms,
  topicConfigDefinitions,
  type ConfigDefinition,
  type ConfigType,
  type ConfigValue,
} from '../config/definitions.js';
import { isDynamicBrokerKey } from '../config/dynamic-configs.js';

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

/** Kafka's ConfigType code for PASSWORD, what a sensitive key is reported as. */
const PASSWORD_TYPE_CODE = 9;

function entry(definition: ConfigDefinition, value: string | null, synonyms: readonly ConfigSynonym[], readOnly: boolean): ConfigEntry {
  const source = synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG;
  const sensitive = definition.sensitive === true;
  return {
    name: definition.name,
    // As Kafka answers for a password: its source says where it is set, never its value.
    value: sensitive ? null : value,
    readOnly,
    isDefault: source === ConfigSource.DEFAULT_CONFIG,
    configSource: source,
    isSensitive: sensitive,
    synonyms: sensitive ? synonyms.map((synonym) => ({ ...synonym, value: null })) : synonyms,
    configType: sensitive ? PASSWORD_TYPE_CODE : CONFIG_TYPE_CODES[definition.type],
    documentation: definition.doc,
  };
}

function defaultText(definition: ConfigDefinition): string | null {
  return definition.defaultValue === String(Number.MAX_SAFE_INTEGER) ? KAFKA_LONG_MAX : definition.defaultValue;
}

/**
 * Where a broker key's value may come from, in Kafka's order (DynamicBrokerConfig's
 * configSynonyms): this broker's dynamic config, the cluster default, server.properties or
 * --override, the built-in default — each level listing the key and the keys that set the
 * same thing in other units (log.retention.ms, .minutes, .hours). As Kafka does, entries
 * before the key's own name are dropped: log.retention.hours does not list log.retention.ms.
 */
function brokerSynonyms(config: BrokerConfig, key: string): ConfigSynonym[] {
  const names = brokerKeySynonyms(key);
  const synonyms: ConfigSynonym[] = [];
  for (const name of names) {
    const value = config.dynamic.broker.get(name);
    if (value !== undefined) synonyms.push({ name, value, source: ConfigSource.DYNAMIC_BROKER_CONFIG });
  }
  for (const name of names) {
    const value = config.dynamic.clusterDefault.get(name);
    if (value !== undefined) synonyms.push({ name, value, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
  }
  for (const name of names) {
    if (config.explicitKeys.has(name)) synonyms.push({ name, value: formatConfigValue(config.staticValues.get(name) ?? null), source: ConfigSource.STATIC_BROKER_CONFIG });
  }
  for (const name of names) {
    const definition = brokerConfigDefinitions.get(name);
    if (definition !== undefined && definition.defaultValue !== null) synonyms.push({ name, value: defaultText(definition), source: ConfigSource.DEFAULT_CONFIG });
  }
  const own = synonyms.findIndex((synonym) => synonym.name === key);
  return own < 0 ? [] : synonyms.slice(own);
}

/**
 * Every topic key, effective for a topic with these overrides: the override, else the broker
 * key it defaults to at whichever level sets it (its synonyms say which).
 */
export function topicConfigEntries(config: BrokerConfig, overrides: Readonly<Record<string, string>>): ConfigEntry[] {
  return [...topicConfigDefinitions.values()].map((definition) => {
    const synonyms: ConfigSynonym[] = [];
    const override = overrides[definition.name];
    if (override !== undefined) synonyms.push({ name: definition.name, value: override, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    if (definition.brokerSynonym === undefined) {
      // Kafka has no broker default for this key (remote storage, replication throttles): only the built-in default.
      synonyms.push({ name: definition.name, value: definition.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
      return entry(definition, override ?? definition.defaultValue, synonyms, false);
    }
    synonyms.push(...brokerSynonyms(config, definition.brokerSynonym));
    // Without an override, the resolved broker default (retention.ms derived from hours, …).
    const value = override ?? formatConfigValue(config.topicDefaults.get(definition.name) ?? null);
    return entry(definition, value, synonyms, false);
  });
}

/** Every broker key this broker reads, as broker `brokerId` has it (DescribeConfigs of its id); dynamic ones are not read-only. */
export function brokerConfigEntries(config: BrokerConfig): ConfigEntry[] {
  return [...brokerConfigDefinitions.values()].map((definition) =>
    entry(definition, formatConfigValue(config.values.get(definition.name) ?? null), brokerSynonyms(config, definition.name), !isDynamicBrokerKey(definition.name)),
  );
}

/**
 * The keys set at the cluster-default level (DescribeConfigs of the resource ""): Kafka lists
 * only those, each with that level alone as its synonym.
 */
export function clusterDefaultConfigEntries(config: BrokerConfig): ConfigEntry[] {
  return [...brokerConfigDefinitions.values()]
    .filter((definition) => config.dynamic.clusterDefault.has(definition.name))
    .map((definition) => {
      const value = config.dynamic.clusterDefault.get(definition.name)!;
      return entry(definition, value, [{ name: definition.name, value, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG }], false);
    });
}
