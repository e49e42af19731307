// What AlterConfigs (33) and IncrementalAlterConfigs (44) share: the checks Kafka makes of
// every resource before changing anything (a resource named twice, a key named twice in one
// resource, a null value), and the routing by resource type: topic configs change through
// the controller and apply at once; BROKER configs are the dynamic broker configs (KIP-226)
// of the cluster default ("") or this broker, stored and applied by the controller too.

import type { ConfigOutcome, TopicOutcome } from '../controller/controller.js';
import { ErrorCode } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import type { BrokerServices } from './handler.js';
import { ResourceType } from './32-describe-configs.js';

export interface AlterResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly resourceType: number;
  readonly resourceName: string;
}

export interface ResourceChange {
  readonly resourceType: number;
  readonly resourceName: string;
  /** The config names the resource's entries give, in request order. */
  readonly names: readonly string[];
  /** Names whose value is null where a value is needed (every entry of AlterConfigs; SET, APPEND, SUBTRACT of IncrementalAlterConfigs). */
  readonly nullValues: readonly string[];
}

export interface AlterHandlers {
  readonly topic: () => Promise<TopicOutcome>;
  readonly broker: () => Promise<ConfigOutcome>;
  /** BROKER_LOGGER, which only IncrementalAlterConfigs takes; absent: an unknown resource type, as Kafka's AlterConfigs answers it. */
  readonly brokerLogger?: () => ConfigOutcome;
}

/** The resources named more than once in one request (Kafka answers every one of them INVALID_REQUEST). */
export function repeatedResources(resources: readonly { resourceType: number; resourceName: string }[]): Set<string> {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const resource of resources) {
    const key = resourceKey(resource.resourceType, resource.resourceName);
    if (seen.has(key)) repeated.add(key);
    seen.add(key);
  }
  return repeated;
}

export function resourceKey(resourceType: number, resourceName: string): string {
  return `${resourceType}\u0000${resourceName}`;
}

export async function alterResource(broker: BrokerServices, change: ResourceChange, repeated: ReadonlySet<string>, handlers: AlterHandlers): Promise<AlterResult> {
  const { resourceType, resourceName } = change;
  const result = (errorCode: number, errorMessage: string | null): AlterResult => ({ errorCode, errorMessage, resourceType, resourceName });
  if (repeated.has(resourceKey(resourceType, resourceName))) return result(ErrorCode.INVALID_REQUEST, 'Each resource must appear at most once.');
  if (new Set(change.names).size !== change.names.length) return result(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
  switch (resourceType) {
    case ResourceType.TOPIC: {
      const outcome = await handlers.topic();
      return result(outcome.errorCode, outcome.errorMessage);
    }
    case ResourceType.BROKER: {
      if (change.nullValues.length > 0) {
        return result(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${change.nullValues.map((name) => excerpt(name)).join(', ')}`);
      }
      const outcome = await handlers.broker();
      return result(outcome.errorCode, outcome.errorMessage);
    }
    case ResourceType.BROKER_LOGGER:
      if (handlers.brokerLogger !== undefined) {
        const problem = broker.controller.brokerResourceProblem(resourceName);
        if (problem !== null) return result(ErrorCode.INVALID_REQUEST, problem);
        const outcome = handlers.brokerLogger();
        return result(outcome.errorCode, outcome.errorMessage);
      }
      return result(ErrorCode.INVALID_REQUEST, `Unknown resource type ${resourceType}`);
    default:
      return result(ErrorCode.INVALID_REQUEST, `Unknown resource type ${resourceType}`);
  }
}
