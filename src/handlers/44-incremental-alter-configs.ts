// IncrementalAlterConfigs (key 44), versions 0-1 (KIP-339): SET, DELETE, APPEND and
// SUBTRACT on single keys, applied without a restart; APPEND/SUBTRACT only on list keys
// (cleanup.policy, max.connections.per.ip.overrides), as Kafka requires, starting from the
// value set at that level, else the key's built-in default, as Kafka's do. TOPIC: the
// topic's overrides. BROKER: the dynamic broker configs (KIP-226) of the cluster default
// ("") or this broker's id. BROKER_LOGGER: Spate has no loggers to set at run time.

import { configDefinition, type ConfigDefinition } from '../config/definitions.js';
import type { ConfigOutcome } from '../controller/controller.js';
import { ErrorCode } from '../protocol/errors.js';
import { incrementalAlterConfigsApi } from '../protocol/generated/index.js';
import { excerpt } from '../protocol/string-limits.js';
import { defineHandler } from './handler.js';
import { alterResource, repeatedResources } from './alter-configs.js';

const Operation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

interface Change {
  readonly name: string;
  readonly configOperation: number;
  readonly value: string | null;
}

function splitList(text: string | null): string[] {
  return (text ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

/**
 * Applies the changes, in order, to a resource's current configs. `definitionOf` names the
 * keys APPEND and SUBTRACT may use; `listStart` is what they start from when the key is not
 * set at this level. Returns the new configs, or the error Kafka answers.
 */
function applyChanges(
  current: ReadonlyMap<string, string>,
  changes: readonly Change[],
  definitionOf: (name: string) => ConfigDefinition | undefined,
  listStart: (name: string) => string[],
  unknownName: (name: string) => ConfigOutcome | undefined,
): Map<string, string> | ConfigOutcome {
  const next = new Map(current);
  const fail = (message: string): ConfigOutcome => ({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: message });
  for (const change of changes) {
    const unknown = unknownName(change.name);
    if (unknown !== undefined) return unknown;
    switch (change.configOperation) {
      case Operation.SET:
        if (change.value === null) return fail(`Null value not supported for ${excerpt(change.name)}`);
        next.set(change.name, change.value);
        break;
      case Operation.DELETE:
        next.delete(change.name);
        break;
      case Operation.APPEND:
      case Operation.SUBTRACT: {
        const definition = definitionOf(change.name);
        const verb = change.configOperation === Operation.APPEND ? 'append' : 'subtract';
        if (definition === undefined) return fail(`Unknown config name: ${excerpt(change.name)}`);
        if (definition.type !== 'list') return fail(`Config value ${verb} is not allowed for config key: ${excerpt(change.name)}`);
        const items = next.has(change.name) ? splitList(next.get(change.name)!) : listStart(change.name);
        const given = splitList(change.value);
        const updated = change.configOperation === Operation.APPEND
          ? [...items, ...given.filter((item) => !items.includes(item))]
          : items.filter((item) => !given.includes(item));
        next.set(change.name, updated.join(','));
        break;
      }
      default:
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown config operation ${change.configOperation}` };
    }
  }
  return next;
}

export const incrementalAlterConfigsHandler = defineHandler({
  apiKey: 44,
  minVersion: 0,
  maxVersion: 1,
  schema: incrementalAlterConfigsApi,
  async handle(request, context) {
    const broker = context.broker;
    const repeated = repeatedResources(request.resources);
    const responses = await Promise.all(
      request.resources.map((resource) => {
        const change = {
          resourceType: resource.resourceType,
          resourceName: resource.resourceName,
          names: resource.configs.map((config) => config.name),
          nullValues: resource.configs.filter((config) => config.configOperation !== Operation.DELETE && config.value === null).map((config) => config.name),
        };
        return alterResource(broker, change, repeated, {
          topic: () =>
            broker.controller.updateTopicConfigs(
              resource.resourceName,
              (current) => {
                const next = applyChanges(
                  current,
                  resource.configs,
                  (name) => configDefinition('topic', name),
                  (name) => splitList(configDefinition('topic', name)?.defaultValue ?? null),
                  (name) => (configDefinition('topic', name) === undefined ? { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Unknown topic config name: ${excerpt(name)}` } : undefined),
                );
                return next instanceof Map ? next : { ...next, topic: null };
              },
              request.validateOnly,
            ),
          // Unknown and read-only keys are judged on the whole new set, by the controller (INVALID_REQUEST).
          broker: () =>
            broker.controller.alterBrokerConfigs(
              resource.resourceName,
              (current) =>
                applyChanges(
                  current,
                  resource.configs,
                  (name) => configDefinition('broker', name),
                  (name) => splitList(configDefinition('broker', name)?.defaultValue ?? null),
                  () => undefined,
                ),
              request.validateOnly,
            ),
          brokerLogger: () => ({
            errorCode: ErrorCode.INVALID_CONFIG,
            errorMessage: 'Spate has no loggers to set at run time (SPATE_LOG_LEVEL sets the level at startup).',
          }),
        });
      }),
    );
    return { throttleTimeMs: 0, responses };
  },
});
