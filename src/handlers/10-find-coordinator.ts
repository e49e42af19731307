// FindCoordinator (key 10), versions 0-4 (4 looks up a batch of keys, KIP-699).
// Served now because librdkafka 2.0.2 enables lz4 and group features only when
// FindCoordinator v0 is advertised. Consumer groups and transactions are not served
// yet, so every key is answered COORDINATOR_NOT_AVAILABLE, which clients retry.

import { ErrorCode } from '../protocol/errors.js';
import { findCoordinatorApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

const BATCHED_KEYS_VERSION = 4;

export const findCoordinatorHandler = defineHandler({
  apiKey: 10,
  minVersion: 0,
  maxVersion: 4,
  schema: findCoordinatorApi,
  handle(request, context) {
    const keyType = request.keyType === 1 ? 'transaction' : 'group';
    const errorMessage = `no ${keyType} coordinator: ${keyType === 'group' ? 'consumer groups' : 'transactions'} are not served yet`;
    if (context.apiVersion >= BATCHED_KEYS_VERSION) {
      return {
        throttleTimeMs: 0,
        coordinators: request.coordinatorKeys.map((key) => ({
          key,
          nodeId: -1,
          host: '',
          port: -1,
          errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
          errorMessage,
        })),
      };
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage, nodeId: -1, host: '', port: -1 };
  },
});
