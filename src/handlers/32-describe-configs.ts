// DescribeConfigs (key 32), versions 0-4.
// Topic resources: every topic-level key, with its source (topic override, dynamic broker
// config, static broker setting, default) and, when asked (v1+), its synonyms in Kafka's
// order. Broker resources: this broker's id answers every broker key Spate reads, with
// the dynamic ones (KIP-226) read-only=false; "" (the cluster default) answers the keys
// set at that level only, as Kafka does. v3+ adds types and, when asked, documentation.
// BROKER_LOGGER resources answer an empty list.

import { ErrorCode } from '../protocol/errors.js';
import type { DescribeConfigsResult } from '../protocol/generated/describe-configs-response.js';
import { describeConfigsApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { excerpt } from '../protocol/string-limits.js';
import { defineHandler } from './handler.js';
import { brokerConfigEntries, clusterDefaultConfigEntries, topicConfigEntries, type ConfigEntry } from './topic-configs.js';

export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

export const describeConfigsHandler = defineHandler({
  apiKey: 32,
  minVersion: 0,
  maxVersion: 4,
  schema: describeConfigsApi,
  handle(request, context) {
    const broker = context.broker;
    const results = request.resources.map((resource): Encodable<DescribeConfigsResult> => {
      const answer = (errorCode: number, errorMessage: string | null, entries: readonly ConfigEntry[]): Encodable<DescribeConfigsResult> => {
        const wanted = resource.configurationKeys === null ? null : new Set(resource.configurationKeys);
        return {
          errorCode,
          errorMessage,
          resourceType: resource.resourceType,
          resourceName: resource.resourceName,
          configs: entries
            .filter((entry) => wanted === null || wanted.has(entry.name))
            .map((entry) => ({
              ...entry,
              synonyms: request.includeSynonyms ? entry.synonyms : [],
              documentation: request.includeDocumentation ? entry.documentation : null,
            })),
        };
      };
      switch (resource.resourceType) {
        case ResourceType.TOPIC: {
          const topic = broker.partitions.topic(resource.resourceName);
          if (topic === undefined) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${excerpt(resource.resourceName)}' does not exist.`, []);
          return answer(ErrorCode.NONE, null, topicConfigEntries(broker.config, topic.configs));
        }
        case ResourceType.BROKER: {
          const config = broker.config;
          if (resource.resourceName === '') return answer(ErrorCode.NONE, null, clusterDefaultConfigEntries(config));
          if (!/^-?\d+$/.test(resource.resourceName)) {
            return answer(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${excerpt(resource.resourceName)}`, []);
          }
          if (Number(resource.resourceName) !== config.brokerId) {
            return answer(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${config.brokerId} or empty string, but received ${excerpt(resource.resourceName)}`, []);
          }
          return answer(ErrorCode.NONE, null, brokerConfigEntries(config));
        }
        case ResourceType.BROKER_LOGGER:
          return answer(ErrorCode.NONE, null, []);
        default:
          return answer(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resource.resourceType}`, []);
      }
    });
    return { throttleTimeMs: 0, results };
  },
});
