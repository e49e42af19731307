// Every bound the broker enforces, in one place (TigerBeetle's habit: a limit on every
// queue, loop and buffer). Values configurable through server.properties are defaults in
// broker-config.ts; these are the fixed ones.

export const limits = {
  /** Requests read from one connection and not yet answered; past this, reading pauses. */
  connectionInFlightRequestsMax: 64,
  /** Bytes of responses queued in userland for one connection; past this, reading pauses. */
  connectionQueuedResponseBytesMax: 64 * 1024 * 1024,
  /** Delayed fetches waiting for data, across all connections; past this, fetches answer at once. */
  delayedFetchesMax: 10_000,
  /** The longest a fetch may wait for data, whatever the client asks. */
  fetchMaxWaitMsMax: 30_000,
  /** Batches remembered per producer and partition for duplicate detection (Kafka keeps 5). */
  producerBatchesRemembered: 5,
  /** Longest topic name Kafka allows. */
  topicNameLengthMax: 249,
  /** Partitions one topic may have. */
  topicPartitionsMax: 100_000,
  /** Bytes read in one step when scanning a log for batch boundaries. */
  logScanChunkBytes: 1024 * 1024,
  /** Longest graceful shutdown waits for in-flight requests before closing connections. */
  shutdownDrainMs: 10_000,
  /** Segment files the main thread keeps open for reading; idle ones past this are closed. */
  segmentReadersOpenMax: 1024,
  /** Bytes read from a segment per step when a file region is sent through user space. */
  bufferedRegionStepBytes: 1024 * 1024,
  /** Step buffers kept for reuse by the buffered response writer. */
  bufferedRegionPoolBuffers: 16,
  /** Shared memory kept for reuse by large produce frames (network/frame-pool.ts). */
  sharedFramePoolBytesMax: 128 * 1024 * 1024,
  /** Producer ids handed out per persisted block (the block end is written before any id is used). */
  producerIdBlockSize: 1000,

  // Responses and the group coordinator (hardening-responses).
  /** Bytes of client-supplied text (a name, a value) one error message quotes; longer text is cut and its size given. */
  errorMessageExcerptBytesMax: 256,
  /** Bytes of the client id or group instance id that begin a generated member id (`<prefix>-<uuid>`). */
  memberIdPrefixBytesMax: 255,
  /** Member ids handed out with MEMBER_ID_REQUIRED and not yet used to join, across all groups; past this the oldest is forgotten. */
  pendingMembersMax: 10_000,
} as const;
