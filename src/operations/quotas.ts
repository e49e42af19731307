// Client quotas (KIP-546's DescribeClientQuotas and AlterClientQuotas) of users, client ids, a
// client id of a user, or their defaults, as `spate quotas` and the admin API's /api/v1/quotas use
// them. Values are plain numbers (bytes per second for a byte rate); the broker checks keys and
// values (INVALID_REQUEST).

import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { alterClientQuotasApi, describeClientQuotasApi } from '../protocol/generated/index.js';

/** The keys of user and client-id quotas (Kafka's QuotaConfigs), for the usage check and help. */
export const QUOTA_KEYS = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'controller_mutation_rate'] as const;
const USER = 'user';
const CLIENT_ID = 'client-id';
/** DescribeClientQuotas match types. */
const MatchType = { EXACT: 0, DEFAULT: 1 } as const;

/** An entity part: a name, null for the default; an entity has a user part, a client-id part or both. */
export interface Entity {
  readonly user?: string | null;
  readonly clientId?: string | null;
}

export function wireEntity(entity: Entity): { entityType: string; entityName: string | null }[] {
  const parts: { entityType: string; entityName: string | null }[] = [];
  if (entity.user !== undefined) parts.push({ entityType: USER, entityName: entity.user });
  if (entity.clientId !== undefined) parts.push({ entityType: CLIENT_ID, entityName: entity.clientId });
  return parts;
}

/** "user-principal 'alice', the default client-id", as kafka-configs.sh names an entity. */
export function describeEntity(parts: readonly { entityType: string; entityName: string | null }[]): string {
  const names: Record<string, string> = { [USER]: 'user-principal', [CLIENT_ID]: 'client-id', ip: 'ip' };
  const order = [USER, CLIENT_ID, 'ip'];
  return [...parts]
    .sort((a, b) => order.indexOf(a.entityType) - order.indexOf(b.entityType))
    .map(({ entityType, entityName }) => {
      const type = names[entityType] ?? entityType;
      return entityName === null ? `the default ${type}` : `${type} '${entityName}'`;
    })
    .join(', ');
}

export interface DescribedEntity {
  readonly entity: { entityType: string; entityName: string | null }[];
  readonly values: { key: string; value: number }[];
}

/** DescribeClientQuotas of one entity exactly (strict, as kafka-configs.sh asks), or of every quota. */
export async function describeQuotas(client: KafkaRequester, entity: Entity | null): Promise<DescribedEntity[]> {
  const components = entity === null ? [] : wireEntity(entity).map(({ entityType, entityName }) => (entityName === null ? { entityType, matchType: MatchType.DEFAULT, match: null } : { entityType, matchType: MatchType.EXACT, match: entityName }));
  const { body } = await client.request(describeClientQuotasApi, { components, strict: entity !== null });
  if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, body.errorMessage, 'DescribeClientQuotas');
  return (body.entries ?? []).map((entry) => ({ entity: entry.entity.map(({ entityType, entityName }) => ({ entityType, entityName })), values: entry.values.map(({ key, value }) => ({ key, value })) }));
}

/** A stable order: by entity description, then key. */
export function sortedQuotas(entries: readonly DescribedEntity[]): DescribedEntity[] {
  return [...entries]
    .map((entry) => ({ ...entry, values: [...entry.values].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) }))
    .sort((a, b) => {
      const left = describeEntity(a.entity);
      const right = describeEntity(b.entity);
      return left < right ? -1 : left > right ? 1 : 0;
    });
}

/**
 * One AlterClientQuotas of the entity: `added` set, `deleted` removed. As kafka-configs.sh, a key to
 * delete that the entity does not have is INVALID_CONFIG before anything is changed.
 */
export async function alterQuotas(client: KafkaRequester, entity: Entity, added: ReadonlyMap<string, number>, deleted: readonly string[]): Promise<void> {
  const wire = wireEntity(entity);
  const label = describeEntity(wire);
  if (deleted.length > 0) {
    const [current] = await describeQuotas(client, entity);
    const missing = deleted.filter((key) => current?.values.find((value) => value.key === key) === undefined);
    if (missing.length > 0) throw new BrokerError(ErrorCode.INVALID_CONFIG, `Invalid config(s): ${missing.join(',')}`, label);
  }
  const ops = [...[...added].map(([key, value]) => ({ key, value, remove: false })), ...deleted.map((key) => ({ key, value: 0, remove: true }))];
  const { body } = await client.request(alterClientQuotasApi, { entries: [{ entity: wire, ops }], validateOnly: false });
  const [result] = body.entries;
  if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'AlterClientQuotas answered without the entity', label);
  if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, result.errorMessage, label);
}
