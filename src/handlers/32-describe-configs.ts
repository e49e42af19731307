// DescribeConfigs (key 32), versions 0-4.
// Topic resources: every topic-level key, with its source (topic override, dynamic broker
// config, static broker setting, default) and, when asked (v1+), its synonyms in Kafka's
// order. Broker resources: this broker's id answers every broker key Spate reads, with
// the dynamic ones (KIP-226) read-only=false; "" (the cluster default) answers the keys
// set at that level only, as Kafka does. v3+ adds types and, when asked, documentation.
// BROKER_LOGGER resources answer an empty list. The work is the admin layer's
// (admin/admin.ts `describeConfigs`); this handler picks the keys and fields asked for.
// Kafka's check: DESCRIBE_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED) or, for BROKER
// and BROKER_LOGGER resources, on the cluster (CLUSTER_AUTHORIZATION_FAILED).
// Spate's TENANT resources (tenant/tenants.ts) answer a tenant's record and usage, or with the
// name '' the list of tenants; RESOURCE_NOT_FOUND for a tenant that does not exist.

import { describeConfigsApi } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acl.js';
import type { DescribedConfigs } from '../admin/admin.js';
import { ConfigSource } from '../admin/config-entries.js';
import { ErrorCode } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import { TENANT_RESOURCE_TYPE } from '../tenant/tenant-resource.js';
import { configRefusal } from './acl-checks.js';
import { defineHandler, type RequestContext } from './handler.js';

export const describeConfigsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 4,
  schema: describeConfigsApi,
  authorizes: true,
  async handle(request, context) {
    const refusals = request.resources.map((resource) => configRefusal(context, AclOperation.DESCRIBE_CONFIGS, resource.resourceType, resource.resourceName));
    const allowed = request.resources.filter((_resource, index) => refusals[index] === null);
    if (allowed.some((resource) => resource.resourceType === TENANT_RESOURCE_TYPE)) await context.broker.tenants.refreshStoredBytesIfStale(Date.now());
    const fromAdmin = context.broker.admin.describeConfigs(allowed.filter((resource) => resource.resourceType !== TENANT_RESOURCE_TYPE));
    let nextFromAdmin = 0;
    const described = allowed.map((resource) => (resource.resourceType === TENANT_RESOURCE_TYPE ? describeTenant(context, resource.resourceName) : fromAdmin[nextFromAdmin++]!));
    let next = 0;
    const results = request.resources.map((resource, index) => {
      const refused = refusals[index] ?? null;
      if (refused !== null) return { errorCode: refused, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName, configs: [] };
      const result = described[next++]!;
      const keys = request.resources[index]!.configurationKeys;
      const wanted = keys === null ? null : new Set(keys);
      return {
        errorCode: result.errorCode,
        errorMessage: result.errorMessage,
        resourceType: result.resourceType,
        resourceName: result.resourceName,
        configs: result.entries
          .filter((entry) => wanted === null || wanted.has(entry.name))
          .map((entry) => ({
            ...entry,
            synonyms: request.includeSynonyms ? entry.synonyms : [],
            documentation: request.includeDocumentation ? entry.documentation : null,
          })),
      };
    });
    return { throttleTimeMs: 0, results };
  },
});

/** A tenant's record and usage as config entries (tenant/tenants.ts `describe`). */
function describeTenant(context: RequestContext, name: string): DescribedConfigs {
  const entries = context.broker.tenants.describe(name);
  const resource = { resourceType: TENANT_RESOURCE_TYPE, resourceName: name };
  if (entries === undefined) return { ...resource, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Tenant ${excerpt(name)} does not exist.`, entries: [] };
  return {
    ...resource,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    entries: entries.map((entry) => ({ ...entry, isDefault: false, configSource: ConfigSource.UNKNOWN, isSensitive: false, synonyms: [], documentation: null })),
  };
}
