// AlterConfigs (key 33), versions 0-2: replaces a topic's whole set of overrides (keys
// not named go back to their defaults), applied at once without a restart.

import { alterConfigsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';
import { alterResource } from './alter-configs.js';

export const alterConfigsHandler = defineHandler({
  apiKey: 33,
  minVersion: 0,
  maxVersion: 2,
  schema: alterConfigsApi,
  async handle(request, context) {
    const broker = context.broker;
    const responses = await Promise.all(
      request.resources.map((resource) =>
        alterResource(broker, resource.resourceType, resource.resourceName, () => {
          const configs = new Map<string, string>();
          for (const config of resource.configs) if (config.value !== null) configs.set(config.name, config.value);
          return broker.controller.setTopicConfigs(resource.resourceName, configs, request.validateOnly);
        }),
      ),
    );
    return { throttleTimeMs: 0, responses };
  },
});
