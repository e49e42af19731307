// spate/streams: a Kafka Streams-like library (README.md in this folder).
export * from './processing.js';
export { Serdes, SerializationException, type Serde, type SchemaHook } from './serdes.js';
export { TimeWindows, windowedSerde, type Window, type Windowed } from './windows.js';
export { InMemoryKeyValueStore, InMemoryWindowStore, compositeStore, type KeyValueStore, type StateStore, type ChangeLogger } from './stores.js';
export { TopologyException, type Topology, type BuildOptions, type Headers } from './topology.js';
export {
  StreamsBuilder,
  KStream,
  KGroupedStream,
  TimeWindowedKStream,
  KTable,
  type Consumed,
  type Produced,
  type Grouped,
  type Materialized,
  type StoreSpec,
  type Processor,
  type ProcessorContext,
  type ProcessorRecord,
} from './builder.js';
export {
  createRequester,
  serveRequests,
  Requester,
  Responder,
  ReplyHeaders,
  RequestTimeoutError,
  TooManyPendingRequestsError,
  RemoteHandlerError,
  RequesterClosedError,
  type RequesterConfig,
  type RequestOptions,
  type RequestRecord,
  type ResponderConfig,
} from './request-reply.js';
export { TopologyTestDriver, TestInputTopic, TestOutputTopic, type TestRecord, type TopologyTestDriverOptions } from './test-driver.js';

// The Kafka runtime: KafkaStreams over any Kafka-compatible broker.
export * from './runtime/index.js';
