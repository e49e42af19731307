// FindCoordinator (key 10), versions 0-4 (4 looks up a batch of keys, KIP-699).
// Groups: the coordinator is the leader of the group's partition of __consumer_offsets (the
// embedded broker leads them all), named by its advertised endpoint; the first lookup
// creates the topic. No leader, a leader whose endpoint this broker does not know, or this
// broker still loading the partition: COORDINATOR_NOT_AVAILABLE (clients retry).
// Transactional ids: the same, with __transaction_state (created on the first lookup). In a
// cluster transactions are not served yet (COORDINATOR_NOT_AVAILABLE).

import { ErrorCode } from '../protocol/errors.js';
import type { Coordinator } from '../protocol/generated/find-coordinator-response.js';
import { findCoordinatorApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { defineHandler, type RequestContext } from './handler.js';

const BATCHED_KEYS_VERSION = 4;
const KeyType = { GROUP: 0, TRANSACTION: 1 } as const;

async function locate(context: RequestContext, key: string, keyType: number): Promise<Encodable<Coordinator>> {
  const broker = context.broker;
  const listenerName = context.session.listener;
  const unavailable = (errorCode: number, errorMessage: string): Encodable<Coordinator> => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage });
  if (keyType !== KeyType.GROUP && keyType !== KeyType.TRANSACTION) return unavailable(ErrorCode.INVALID_REQUEST, `unknown coordinator key type ${keyType}`);
  const kind = keyType === KeyType.GROUP ? 'group' : 'transaction';
  // Kafka's check: DESCRIBE on the group or the transactional id.
  if (!context.authorize(AclOperation.DESCRIBE, keyType === KeyType.GROUP ? ResourceType.GROUP : ResourceType.TRANSACTIONAL_ID, key)) {
    return unavailable(keyType === KeyType.GROUP ? ErrorCode.GROUP_AUTHORIZATION_FAILED : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, `describing this ${kind === 'group' ? 'group' : 'transactional id'} is not allowed`);
  }
  const found = keyType === KeyType.GROUP ? await broker.groups.findCoordinator(key) : await broker.transactions.findCoordinator(key);
  if (found.errorCode !== ErrorCode.NONE) return unavailable(found.errorCode, `the ${kind} coordinator is not available yet`);
  const endpoint = broker.brokerEndpoint(found.nodeId, listenerName);
  if (endpoint === undefined) return unavailable(ErrorCode.COORDINATOR_NOT_AVAILABLE, `the ${kind} coordinator, broker ${found.nodeId}, is not a live broker known here`);
  return { key, nodeId: found.nodeId, host: endpoint.host, port: endpoint.port, errorCode: ErrorCode.NONE, errorMessage: null };
}

export const findCoordinatorHandler = defineHandler({
  minVersion: 0,
  maxVersion: 4,
  schema: findCoordinatorApi,
  authorizes: true,
  async handle(request, context) {
    const keyType = context.apiVersion >= 1 ? request.keyType : KeyType.GROUP;
    if (context.apiVersion >= BATCHED_KEYS_VERSION) {
      return { throttleTimeMs: 0, coordinators: await Promise.all(request.coordinatorKeys.map((key) => locate(context, key, keyType))) };
    }
    const { key: _key, ...found } = await locate(context, request.key, keyType);
    return { throttleTimeMs: 0, ...found };
  },
});
