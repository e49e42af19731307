// UpdateMetadata (key 6), versions 7-8: the controller's view of the live brokers and of
// partition states, which every broker answers Metadata from (src/cluster/metadata-cache.ts).
// Version 7 is the first with topic ids. An embedded single broker answers
// STALE_CONTROLLER_EPOCH (it has no other controller).

import { ErrorCode } from '../protocol/errors.js';
import { updateMetadataApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const updateMetadataHandler = defineHandler({
  minVersion: 7,
  maxVersion: 8,
  schema: updateMetadataApi,
  async handle(request, context) {
    const cluster = context.broker.cluster;
    return { errorCode: cluster === null ? ErrorCode.STALE_CONTROLLER_EPOCH : await cluster.updateMetadata(request) };
  },
});
