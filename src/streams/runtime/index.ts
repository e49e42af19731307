// The runtime's public surface (re-exported by spate/streams).
export { KafkaStreams, StreamsException, type KafkaStreamsState, type TopologySource } from './kafka-streams.js';
export { resolveConfig, type ProcessingGuarantee, type StreamsConfig } from './config.js';
export { assignTasks, type SubscriptionInfo } from './task-assignor.js';
