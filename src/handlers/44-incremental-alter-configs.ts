// IncrementalAlterConfigs (key 44), versions 0-1 (KIP-339): SET, DELETE, APPEND and
// SUBTRACT on single keys, applied without a restart; APPEND/SUBTRACT only on list keys
// (cleanup.policy, max.connections.per.ip.overrides), as Kafka requires, starting from the
// value set at that level, else the key's built-in default, as Kafka's do. TOPIC: the
// topic's overrides. BROKER: the dynamic broker configs (KIP-226) of the cluster default
// ("") or this broker's id. BROKER_LOGGER: Spate has no loggers to set at run time.
// The work is the admin layer's (admin/admin.ts `incrementalAlterConfigs`).

import { incrementalAlterConfigsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const incrementalAlterConfigsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 1,
  schema: incrementalAlterConfigsApi,
  async handle(request, context) {
    return { throttleTimeMs: 0, responses: await context.broker.admin.incrementalAlterConfigs(request.resources, request.validateOnly) };
  },
});
