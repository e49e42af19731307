// How a tenant looks on the wire: a config resource of Spate's own type, and its record's keys.
// Shared by the broker (tenant/tenants.ts, the config handlers) and the CLI (cli/tenants.ts),
// so this file imports nothing.

/** The config resource type of a tenant (DescribeConfigs, IncrementalAlterConfigs): Spate's own, far from Kafka's (2, 4, 8, 16, 32). */
export const TENANT_RESOURCE_TYPE = 100;

/** The keys of a tenant's record, as IncrementalAlterConfigs sets them and DescribeConfigs shows them. */
export const TenantKey = {
  prefix: 'prefix',
  users: 'users',
  maxPartitions: 'max.partitions',
  maxTopics: 'max.topics',
  maxStorageBytes: 'max.storage.bytes',
  producerByteRate: 'producer_byte_rate',
  consumerByteRate: 'consumer_byte_rate',
} as const;

/** What a tenant's name and prefix may be: the characters and length of a topic name. */
export const TENANT_NAME_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;

/** Kafka's internal topics start so (__consumer_offsets, __transaction_state): no tenant's prefix may, or its users would be given them. */
export const INTERNAL_PREFIX = '__';
