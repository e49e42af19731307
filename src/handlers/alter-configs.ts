// What AlterConfigs (33) and IncrementalAlterConfigs (44) share: topic configs change
// through the controller and apply without a restart; broker configs are static in
// Spate (server.properties), so altering them is refused with a message saying so.

import type { TopicOutcome } from '../controller/controller.js';
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

export async function alterResource(
  broker: BrokerServices,
  resourceType: number,
  resourceName: string,
  alterTopic: () => Promise<TopicOutcome>,
): Promise<AlterResult> {
  const result = (errorCode: number, errorMessage: string | null): AlterResult => ({ errorCode, errorMessage, resourceType, resourceName });
  switch (resourceType) {
    case ResourceType.TOPIC: {
      const outcome = await alterTopic();
      return result(outcome.errorCode, outcome.errorMessage);
    }
    case ResourceType.BROKER:
    case ResourceType.BROKER_LOGGER:
      if (resourceName !== '' && resourceName !== String(broker.config.brokerId)) {
        return result(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${broker.config.brokerId} or empty string, but received ${excerpt(resourceName)}`);
      }
      return result(ErrorCode.INVALID_CONFIG, 'Broker configs are static in Spate: set them in server.properties or with --override and restart.');
    default:
      return result(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resourceType}`);
  }
}
