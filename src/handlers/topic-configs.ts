// A topic's configs as CreateTopics (v5+) and DescribeConfigs report them: every
// topic-level key with its effective value and where it came from.

import type { BrokerConfig } from '../config/broker-config.js';
import { topicConfigDefinitions, type ConfigValue } from '../config/definitions.js';

/** Kafka's DescribeConfigs config sources. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

export function formatConfigValue(value: ConfigValue): string | null {
  if (value === null) return null;
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

export interface TopicConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  readonly configSource: number;
  readonly isSensitive: boolean;
}

export function topicConfigEntries(config: BrokerConfig, overrides: Readonly<Record<string, string>>): TopicConfigEntry[] {
  return [...topicConfigDefinitions.values()].map((definition) => {
    const override = overrides[definition.name];
    const fromBroker = config.explicitKeys.has(definition.brokerSynonym);
    return {
      name: definition.name,
      value: override ?? formatConfigValue(config.topicDefaults.get(definition.name) ?? null),
      readOnly: false,
      configSource: override !== undefined ? ConfigSource.DYNAMIC_TOPIC_CONFIG : fromBroker ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG,
      isSensitive: false,
    };
  });
}
