// AlterConfigs (key 33), versions 0-2: replaces a resource's whole set of configs (keys
// not named go back to their defaults), applied at once without a restart. TOPIC: the
// topic's overrides. BROKER: the dynamic broker configs (KIP-226) of the cluster default
// ("") or this broker's id, as Kafka's legacy AlterConfigs replaces them. BROKER_LOGGER is
// an unknown resource type here, as in Kafka (only IncrementalAlterConfigs takes it).

import { alterConfigsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';
import { alterResource, repeatedResources } from './alter-configs.js';

export const alterConfigsHandler = defineHandler({
  apiKey: 33,
  minVersion: 0,
  maxVersion: 2,
  schema: alterConfigsApi,
  async handle(request, context) {
    const broker = context.broker;
    const repeated = repeatedResources(request.resources);
    const responses = await Promise.all(
      request.resources.map((resource) => {
        const configs = new Map<string, string>();
        for (const config of resource.configs) if (config.value !== null) configs.set(config.name, config.value);
        const change = {
          resourceType: resource.resourceType,
          resourceName: resource.resourceName,
          names: resource.configs.map((config) => config.name),
          nullValues: resource.configs.filter((config) => config.value === null).map((config) => config.name),
        };
        return alterResource(broker, change, repeated, {
          topic: () => broker.controller.setTopicConfigs(resource.resourceName, configs, request.validateOnly),
          broker: () => broker.controller.alterBrokerConfigs(resource.resourceName, () => configs, request.validateOnly),
        });
      }),
    );
    return { throttleTimeMs: 0, responses };
  },
});
