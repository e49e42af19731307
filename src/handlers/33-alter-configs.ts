// AlterConfigs (key 33), versions 0-2: replaces a resource's whole set of configs (keys
// not named go back to their defaults), applied at once without a restart. TOPIC: the
// topic's overrides. BROKER: the dynamic broker configs (KIP-226) of the cluster default
// ("") or this broker's id, as Kafka's legacy AlterConfigs replaces them. BROKER_LOGGER is
// an unknown resource type here, as in Kafka (only IncrementalAlterConfigs takes it).
// The work is the admin layer's (admin/admin.ts `alterConfigs`). Kafka's check: ALTER_CONFIGS
// on the topic (TOPIC_AUTHORIZATION_FAILED) or, for BROKER resources, on the cluster
// (CLUSTER_AUTHORIZATION_FAILED).

import { alterConfigsApi } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acl.js';
import { configRefusal, servingAuthorized } from './acl-checks.js';
import { defineHandler } from './handler.js';

export const alterConfigsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 2,
  schema: alterConfigsApi,
  authorizes: true,
  async handle(request, context) {
    const responses = await servingAuthorized(
      request.resources,
      (resource) => configRefusal(context, AclOperation.ALTER_CONFIGS, resource.resourceType, resource.resourceName),
      (allowed) => context.broker.admin.alterConfigs(allowed, request.validateOnly),
      (resource, errorCode) => ({ resourceType: resource.resourceType, resourceName: resource.resourceName, errorCode, errorMessage: null }),
    );
    return { throttleTimeMs: 0, responses };
  },
});
