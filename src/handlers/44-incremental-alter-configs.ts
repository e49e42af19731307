// IncrementalAlterConfigs (key 44), versions 0-1 (KIP-339): SET, DELETE, APPEND and
// SUBTRACT on single topic keys, applied without a restart; APPEND/SUBTRACT only on
// list keys (cleanup.policy), as Kafka requires.

import { configDefinition } from '../config/definitions.js';
import { ErrorCode } from '../protocol/errors.js';
import { incrementalAlterConfigsApi } from '../protocol/generated/index.js';
import { excerpt } from '../protocol/string-limits.js';
import { defineHandler } from './handler.js';
import { alterResource } from './alter-configs.js';

const Operation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export const incrementalAlterConfigsHandler = defineHandler({
  apiKey: 44,
  minVersion: 0,
  maxVersion: 1,
  schema: incrementalAlterConfigsApi,
  async handle(request, context) {
    const broker = context.broker;
    const responses = await Promise.all(
      request.resources.map((resource) =>
        alterResource(broker, resource.resourceType, resource.resourceName, () =>
          broker.controller.updateTopicConfigs(
            resource.resourceName,
            (current) => {
              const next = new Map(current);
              for (const change of resource.configs) {
                const definition = configDefinition('topic', change.name);
                const fail = (message: string) => ({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: message, topic: null });
                if (definition === undefined) return fail(`Unknown topic config name: ${excerpt(change.name)}`);
                const list = definition.type === 'list';
                const items = (next.get(change.name) ?? '').split(',').filter((item) => item !== '');
                const given = (change.value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
                switch (change.configOperation) {
                  case Operation.SET:
                    if (change.value === null) return fail(`Null value not supported for ${change.name}`);
                    next.set(change.name, change.value);
                    break;
                  case Operation.DELETE:
                    next.delete(change.name);
                    break;
                  case Operation.APPEND:
                  case Operation.SUBTRACT: {
                    if (!list) return fail(`Config value append/subtract is not allowed for config key ${change.name} (not a list)`);
                    const updated = change.configOperation === Operation.APPEND
                      ? [...items, ...given.filter((item) => !items.includes(item))]
                      : items.filter((item) => !given.includes(item));
                    next.set(change.name, updated.join(','));
                    break;
                  }
                  default:
                    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown config operation ${change.configOperation}`, topic: null };
                }
              }
              return next;
            },
            request.validateOnly,
          ),
        ),
      ),
    );
    return { throttleTimeMs: 0, responses };
  },
});
