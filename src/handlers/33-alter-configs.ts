// AlterConfigs (key 33), versions 0-2: replaces a resource's whole set of configs (keys
// not named go back to their defaults), applied at once without a restart. TOPIC: the
// topic's overrides. BROKER: the dynamic broker configs (KIP-226) of the cluster default
// ("") or this broker's id, as Kafka's legacy AlterConfigs replaces them. BROKER_LOGGER is
// an unknown resource type here, as in Kafka (only IncrementalAlterConfigs takes it).
// The work is the admin layer's (admin/admin.ts `alterConfigs`).

import { alterConfigsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const alterConfigsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 2,
  schema: alterConfigsApi,
  async handle(request, context) {
    return { throttleTimeMs: 0, responses: await context.broker.admin.alterConfigs(request.resources, request.validateOnly) };
  },
});
