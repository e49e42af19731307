// Configs of topics and brokers: DescribeConfigs and IncrementalAlterConfigs, as `spate configs`
// and the admin API's /api/v1/topics/:topic/configs use them.

import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import type { DescribeConfigsResourceResult, DescribeConfigsResult } from '../protocol/generated/describe-configs-response.js';
import { describeConfigsApi, incrementalAlterConfigsApi } from '../protocol/generated/index.js';

/** Kafka's config resource types. */
export const ResourceType = { TOPIC: 2, BROKER: 4 } as const;

/** Kafka's config sources (DescribeConfigs v1+), by number. */
const SOURCE_NAMES = [
  'UNKNOWN',
  'DYNAMIC_TOPIC_CONFIG',
  'DYNAMIC_BROKER_CONFIG',
  'DYNAMIC_DEFAULT_BROKER_CONFIG',
  'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG',
  'DYNAMIC_BROKER_LOGGER_CONFIG',
  'DYNAMIC_CLIENT_METRICS_CONFIG',
  'DYNAMIC_GROUP_CONFIG',
];

const DEFAULT_CONFIG_SOURCE = 5;

export function sourceName(source: number): string {
  return SOURCE_NAMES[source] ?? `SOURCE_${source}`;
}

/** IncrementalAlterConfigs operations. */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface ConfigResource {
  readonly type: number;
  readonly name: string;
}

export interface ConfigChange {
  readonly name: string;
  readonly configOperation: number;
  readonly value: string | null;
}

/** One DescribeConfigs request for several resources; the results by resource name (resources that failed left out). */
export async function describeConfigEntries(
  client: KafkaRequester,
  resources: readonly ConfigResource[],
  includeSynonyms = false,
): Promise<Map<string, DescribeConfigsResourceResult[]>> {
  const results = await describeConfigs(client, resources, includeSynonyms);
  return new Map(results.filter((result) => result.errorCode === ErrorCode.NONE).map((result) => [result.resourceName, result.configs]));
}

/** One DescribeConfigs request; `isDefault` filled in from the source on v1+. */
export async function describeConfigs(client: KafkaRequester, resources: readonly ConfigResource[], includeSynonyms: boolean): Promise<DescribeConfigsResult[]> {
  const { body, version } = await client.request(describeConfigsApi, {
    resources: resources.map((resource) => ({ resourceType: resource.type, resourceName: resource.name, configurationKeys: null })),
    includeSynonyms,
    includeDocumentation: false,
  });
  // is_default exists only in v0; later versions tell it by the source.
  if (version > 0) {
    for (const result of body.results) {
      for (const entry of result.configs) entry.isDefault = entry.configSource === DEFAULT_CONFIG_SOURCE;
    }
  }
  return body.results;
}

/** The configs of one resource, or its error as a BrokerError naming `label`. */
export async function describeResourceConfigs(client: KafkaRequester, resource: ConfigResource, label: string, includeSynonyms = true): Promise<DescribeConfigsResourceResult[]> {
  const [result] = await describeConfigs(client, [resource], includeSynonyms);
  if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the broker answered without the resource', label);
  if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, result.errorMessage, label);
  return result.configs;
}

/** One IncrementalAlterConfigs of one resource; its error as a BrokerError naming `label`. */
export async function alterResourceConfigs(client: KafkaRequester, resource: ConfigResource, label: string, changes: readonly ConfigChange[], validateOnly: boolean): Promise<void> {
  const { body } = await client.request(incrementalAlterConfigsApi, {
    resources: [
      {
        resourceType: resource.type,
        resourceName: resource.name,
        configs: changes.map(({ name, configOperation, value }) => ({ name, configOperation, value })),
      },
    ],
    validateOnly,
  });
  const result = body.responses[0];
  if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the broker answered without the resource', label);
  if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, result.errorMessage, label);
}
