// IncrementalAlterConfigs (key 44), versions 0-1 (KIP-339): SET, DELETE, APPEND and
// SUBTRACT on single keys, applied without a restart; APPEND/SUBTRACT only on list keys
// (cleanup.policy, max.connections.per.ip.overrides), as Kafka requires, starting from the
// value set at that level, else the key's built-in default, as Kafka's do. TOPIC: the
// topic's overrides. BROKER: the dynamic broker configs (KIP-226) of the cluster default
// ("") or this broker's id. BROKER_LOGGER: Spate has no loggers to set at run time.
// The work is the admin layer's (admin/admin.ts `incrementalAlterConfigs`). Kafka's check:
// ALTER_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED) or, for BROKER and BROKER_LOGGER
// resources, on the cluster (CLUSTER_AUTHORIZATION_FAILED).
// Spate's TENANT resources create, change or (deleting `prefix`) delete a tenant with its ACLs
// and quotas (tenant/tenants.ts `alter`), needing ALTER_CONFIGS on the cluster.

import { incrementalAlterConfigsApi } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acl.js';
import { TENANT_RESOURCE_TYPE } from '../tenant/tenant-resource.js';
import { configRefusal, servingAuthorized } from './acl-checks.js';
import { defineHandler } from './handler.js';

export const incrementalAlterConfigsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 1,
  schema: incrementalAlterConfigsApi,
  authorizes: true,
  async handle(request, context) {
    const responses = await servingAuthorized(
      request.resources,
      (resource) => configRefusal(context, AclOperation.ALTER_CONFIGS, resource.resourceType, resource.resourceName),
      async (allowed) => {
        const fromAdmin = await context.broker.admin.incrementalAlterConfigs(
          allowed.filter((resource) => resource.resourceType !== TENANT_RESOURCE_TYPE),
          request.validateOnly,
        );
        let next = 0;
        const results = [];
        for (const resource of allowed) {
          if (resource.resourceType !== TENANT_RESOURCE_TYPE) {
            results.push(fromAdmin[next++]!);
            continue;
          }
          const outcome = await context.broker.tenants.alter(resource.resourceName, resource.configs, request.validateOnly);
          results.push({ resourceType: resource.resourceType, resourceName: resource.resourceName, ...outcome });
        }
        return results;
      },
      (resource, errorCode) => ({ resourceType: resource.resourceType, resourceName: resource.resourceName, errorCode, errorMessage: null }),
    );
    return { throttleTimeMs: 0, responses };
  },
});
