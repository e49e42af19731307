// Every bound the broker enforces, in one place (TigerBeetle's habit: a limit on every
// queue, loop and buffer). Values configurable through server.properties are defaults in
// broker-config.ts; these are the fixed ones.

export const limits = {
  /** Requests read from one connection and not yet answered; past this, reading pauses. */
  connectionInFlightRequestsMax: 64,
  /** Bytes of encoded responses held in user space for one connection; past this, reading pauses. */
  connectionQueuedResponseBytesMax: 16 * 1024 * 1024,
  /**
   * The buffer each connection reads into when no frame is being assembled (network/direct-read.ts):
   * small requests and the first bytes of a large one (a large frame's rest is read straight into its own memory).
   * Pages are resident only once a read reaches them: a connection of small requests holds a few KiB.
   */
  connectionReadBufferBytes: 64 * 1024,
  /**
   * Bytes of encoded responses held in user space, over all connections; past this, a
   * connection that holds any reads no more requests (see network/admission.ts). With
   * queued.max.request.bytes and queued.max.requests this bounds what clients can make
   * the broker hold: see the README's "Bounds" section.
   */
  queuedResponseBytesMax: 128 * 1024 * 1024,
  /** Delayed fetches waiting for data, across all connections; past this, fetches answer at once. */
  delayedFetchesMax: 10_000,
  /** acks=all produces waiting for their in-sync replicas, across all connections; past this, they answer REQUEST_TIMED_OUT at once. */
  delayedProducesMax: 10_000,
  /** The longest a fetch may wait for data, whatever the client asks. */
  fetchMaxWaitMsMax: 30_000,
  /**
   * Partitions one Fetch request may name (Kafka has no bound). Every named partition costs the
   * main thread resolving, a read plan and an answer at each wake: a 100 MB request naming 3.6
   * million partitions held the broker at 100 % CPU for minutes and grew it past 4 GB (found by
   * an adversarial run). More is INVALID_REQUEST (v7+), or a closed connection before v7, whose
   * responses have no top-level error code. A follower names every partition it follows from
   * one leader, far fewer than this.
   */
  fetchPartitionsPerRequestMax: 100_000,
  /**
   * Aborted transactions one partition of a read_committed fetch reports (16 bytes each in the
   * response). Kafka has no bound; here a read that would overlap more ends before the first
   * one left out, which the consumer's next fetch then reports. Transactions open across the
   * fetch offset itself are always reported (there are at most as many as producers with a
   * transaction open at once).
   */
  abortedTransactionsPerFetchMax: 1000,
  /**
   * Transactional ids one transaction coordinator holds (Kafka has no bound: every id a client
   * names stays until transactional.id.expiration.ms). InitProducerId for a new id past it is
   * COORDINATOR_NOT_AVAILABLE, logged; ids already known are served.
   */
  transactionalIdsMax: 100_000,
  /** Characters of those ids together (an id may be 32,767 bytes): past it, new ids are refused the same way. */
  transactionalIdCharsMax: 16 * 1024 * 1024,
  /** Partitions one transaction may hold (Kafka has no bound); AddPartitionsToTxn past it is INVALID_REQUEST. */
  transactionPartitionsMax: 10_000,
  /** Partitions all open transactions of a coordinator hold together; AddPartitionsToTxn past it is COORDINATOR_NOT_AVAILABLE (retriable: transactions end). */
  transactionPartitionsHeldMax: 1_000_000,
  /**
   * Producers a partition leader remembers as verified in an open transaction of a coordinator on
   * another broker (a cluster), per partition (coordinator/transaction/transaction-verification.ts;
   * about 100 bytes each). Past it the oldest is forgotten, and its next batch is verified again.
   */
  transactionVerificationsCachedMax: 100_000,
  /** SCRAM users the broker keeps (AlterUserScramCredentials for a new user past it is UNACCEPTABLE_CREDENTIAL; Kafka has no bound). */
  scramUsersMax: 100_000,
  /** Client quota entities of each type (client ids, client ids of users) every broker keeps in memory, read from ZooKeeper or set through AlterClientQuotas (users count against scramUsersMax). */
  clientQuotaEntitiesMax: 100_000,
  /** IP quota entities (connection_creation_rate, KIP-612) every broker keeps in memory, read from ZooKeeper or set through AlterClientQuotas. */
  ipQuotaEntitiesMax: 10_000,
  // ---- the HTTP side (src/http/) ----
  /** Connections one HTTP listener holds at once, WebSockets included (Node's server.maxConnections); more are closed at accept. */
  httpConnectionsMax: 2_048,
  /** Milliseconds an HTTP request's headers may take to arrive (Node's headersTimeout and requestTimeout). */
  httpRequestTimeoutMs: 10_000,
  /**
   * Requests of one HTTP connection served at once (pipelined HTTP/1.1 requests; answers go out in
   * order anyway). The others wait, and the connection is not read meanwhile: one write of 40,000
   * pipelined logins started 40,000 password checks on the thread pool, stalling every other login
   * for seconds.
   */
  httpRequestsInFlightPerConnectionMax: 1,
  /** ...and pipelined requests of one connection waiting their turn; past it the connection is closed (Node parses what arrives, paused or not). */
  httpRequestsQueuedPerConnectionMax: 64,
  /** Partitions whose fetch offsets one connection's consumer is followed for, to count messages out (handlers/consumed-offsets.ts); past it new ones are not counted. */
  fetchPositionsPerConnectionMax: 10_000,
  /** Bytes of an HTTP request's body (the admin API's JSON); a longer one is answered 413 and its connection closed. */
  httpBodyBytesMax: 1024 * 1024,
  /** Login tokens (POST /api/v1/login) a broker holds at once; past it the oldest is forgotten (its user logs in again). */
  httpTokensMax: 10_000,
  /** Milliseconds a login token is good for. */
  httpTokenLifetimeMs: 60 * 60 * 1000,
  /** Milliseconds the admin API (/api/v1/…) gives the broker for one operation's requests (CreateTopics' timeout, coordinator retries). */
  adminApiTimeoutMs: 30_000,
  /** Records one GET …/messages answers at most (its `limit` is capped here). */
  adminApiMessagesMax: 500,
  /** Bytes of records one GET …/messages fetches at most (its Fetch's max_bytes, summed over its fetches): bounds the memory and the answer. */
  adminApiMessageBytesMax: 1024 * 1024,
  /** Fetches one GET …/messages sends at most (a page of small batches, or control batches, may need more than one). */
  adminApiMessageFetchesMax: 8,
  /** WebSocket consumers (/ws) a broker serves at once, over all HTTP listeners; more are refused at the upgrade (503). */
  wsConnectionsMax: 1_024,
  /** Bytes of one message from a WebSocket client (they are small JSON commands); more closes the connection (1009). */
  wsMessageBytesMax: 64 * 1024,
  /** Milliseconds a WebSocket connection has to log in before it is closed (4401). */
  wsLoginTimeoutMs: 10_000,
  /** Bytes of records one WebSocket consumer fetches at a time (its Fetch's max_bytes): at most this much is held for it beyond its socket's buffer. */
  wsFetchBytesMax: 512 * 1024,
  /** Bytes a WebSocket consumer's socket may hold unsent (ws's bufferedAmount) before the broker stops sending to it until it drains. */
  wsBufferedBytesMax: 256 * 1024,
  /**
   * Commands of one WebSocket client handled and not yet answered (a seek, a commit: each a request
   * to the broker's handlers); past it the socket is not read until one is answered, as
   * connectionInFlightRequestsMax holds a Kafka connection. Its socket is not read either while it
   * holds wsBufferedBytesMax unsent (a client that sends commands and reads no answers).
   */
  wsCommandsInFlightMax: 32,
  /** Milliseconds a WebSocket consumer's fetch waits for new records (its Fetch's max_wait_ms) before asking again. */
  wsFetchMaxWaitMs: 500,
  /**
   * Topics with their own series in the per-topic counters (bytes and messages in/out). Topics
   * are not otherwise bounded in number, so past this a topic's traffic is counted under
   * topic="(other)"; a deleted topic's series go at the next scrape, freeing its place.
   */
  metricsTopicSeriesMax: 10_000,
  /**
   * Partitions with their own series in the per-partition gauges (log size, log end offset, high
   * watermark), asked of the shards at each scrape; past it the rest are left out and counted in
   * spate_metrics_series_omitted. A topic has at most topicPartitionsMax partitions; this bounds the scrape.
   */
  metricsPartitionSeriesMax: 10_000,
  /** Series of spate_consumer_group_lag (one per group and partition committed); past it the rest are left out and counted. */
  metricsGroupLagSeriesMax: 10_000,
  /** Quota users with their own series of spate_throttle_time_seconds_total; past it a user's throttle time is counted under user="(other)". */
  metricsUserSeriesMax: 10_000,
  /**
   * Points of the metrics history the HTTP side keeps (metrics-history.ts) for the Admin UI's
   * charts: one per http.metrics.history.resolution.ms (10 s by default: the last hour). Each
   * broker-wide point is 9 numbers; a ring of this many is allocated at start.
   */
  metricsHistoryPointsMax: 360,
  /**
   * Topics with their own history (bytes and messages in and out per point, 4 × 8 bytes ×
   * metricsHistoryPointsMax each, 11.5 KB): past it the least recently active topic's history is
   * dropped for the newly active one. 200 topics: 2.3 MB at most.
   */
  metricsHistoryTopicsMax: 200,
  /**
   * Samples of each consumer group's lag the broker keeps for the admin UI's lag chart
   * (http/group-lag-history.ts), one every http.group.lag.history.interval.ms (10 s: an hour).
   * Each partition series is a Float64Array of this many: 2.9 KB.
   */
  groupLagHistoryPoints: 360,
  /** Consumer groups with a lag history; a group past it has none until one of those is gone for a whole history (its series all empty). */
  groupLagHistoryGroupsMax: 1_000,
  /**
   * Partition series (a group's committed partition) of the lag history over all groups: with
   * groupLagHistoryPoints, at most 29 MB. A group's partitions past it are not kept, and its
   * history says it is incomplete.
   */
  groupLagHistoryPartitionSeriesMax: 10_000,
  /** Consumer groups the admin API's list describes (members, lag) in one answer; the rest are listed without. */
  adminApiGroupSummariesMax: 1_000,
  // ---- tenants (src/tenant/) ----
  /** Tenants the broker keeps (read from ZooKeeper or made through IncrementalAlterConfigs); a new one past it is refused. */
  tenantsMax: 10_000,
  /** Users one tenant may have (each gets its ACLs and quotas). */
  tenantUsersMax: 1_000,
  /**
   * Milliseconds a tenant's stored bytes (the sizes of the partitions of its topics this broker
   * holds, asked of the shards) may be old before a produce asks for them again; between two
   * askings the bytes produced to the tenant's topics are added, so the limit is not overshot by
   * more than what one interval's produce requests in flight carry.
   */
  tenantUsageRefreshMs: 1_000,
  /** Users whose requests, bytes and throttle time are counted per tenant (tenant/accounting.ts); a user past it is not counted. */
  tenantAccountedUsersMax: 100_000,
  /**
   * Client quota rate sensors (quota/quota-sensors.ts) the broker keeps, one per quota entity that
   * applies (a user, a client id or a client id of a user) and quota type; each is a few hundred
   * bytes. Idle sensors expire after limits.quotaSensorIdleMs; past this bound, a new entity first
   * evicts the least recently used one (whose rate then starts again from zero).
   */
  quotaSensorsMax: 100_000,
  /** A quota sensor unused this long is dropped, as Kafka's quota sensors expire after an hour of inactivity. */
  quotaSensorIdleMs: 3_600_000,
  /** IPs whose connection creation rate (connection_creation_rate, KIP-612) the broker measures (network/connection-quotas.ts); past it the least recently used is dropped. */
  connectionRateSensorsMax: 10_000,
  /**
   * Refused sockets the broker holds open until their close is due (an IP over its connection
   * creation rate: Kafka closes it after the throttle time, at most a quota window) and accepted
   * ones it holds unserved while max.connection.creation.rate makes them wait; past it, a refused
   * socket is closed at once and a delayed one refused.
   */
  connectionsHeldMax: 1_000,
  /** Milliseconds a TLS handshake may take; a client that has not finished by then is disconnected (Node's default is 120 s; an idle handshake holds a connection slot). */
  tlsHandshakeTimeoutMs: 10_000,
  /** How often a TLS listener checks its key and trust store files for a new certificate (security/tls.ts). */
  tlsFileCheckIntervalMs: 1_000,
  /** ACLs the authorizer holds (CreateAcls past it is INVALID_REQUEST; in a cluster, ACLs read from ZooKeeper past it are not applied, logged; Kafka has no bound). */
  aclsMax: 100_000,
  /** In a cluster, ACL znodes a broker reads at once at startup (cluster/zk-acls.ts). */
  aclZnodeReadsInFlightMax: 64,
  /**
   * Change notifications older than 15 minutes (config, ACL) a broker deletes per read of their
   * folder, oldest first (cluster/zk/notification-listener.ts; Kafka deletes them all; a backlog
   * goes over the following reads).
   */
  changeNotificationsPurgedPerReadMax: 100,
  /** How often an ACL znode write that met another broker's change is read again and retried (Kafka's AclAuthorizer maxUpdateRetries). */
  aclUpdateRetriesMax: 10,
  /** Authorization decisions remembered until the ACLs change (security/acl.ts; past it they are all forgotten and made again). */
  aclDecisionsCachedMax: 100_000,
  /** Characters of a user name (AlterUserScramCredentials, SASL logins). */
  userNameCharsMax: 1024,
  /**
   * How long EndTxn waits for its markers before answering (Kafka answers once PrepareCommit or
   * PrepareAbort is logged). The outcome is decided either way; the wait keeps a producer's next
   * transaction from meeting CONCURRENT_TRANSACTIONS, on which kafkajs backs off 300 ms.
   */
  endTxnMarkersWaitMs: 2000,
  /** Batches remembered per producer and partition for duplicate detection (Kafka keeps 5). */
  producerBatchesRemembered: 5,
  /**
   * Idempotent producers remembered per partition, least recently written forgotten first
   * (storage/producer-state.ts). Kafka bounds them only by producer.id.expiration.ms; a
   * client naming a new producer id in every batch would grow a partition's state without end.
   */
  producersPerPartitionMax: 10_000,
  /** Longest topic name Kafka allows. */
  topicNameLengthMax: 249,
  /** Partitions one topic may have. */
  topicPartitionsMax: 100_000,
  /**
   * Partitions one shard command creates or deletes: a large topic is made in steps, so the
   * shard's other partitions are served in between (one step takes a fraction of a second).
   */
  partitionsCreatedPerCommand: 500,
  /** Bytes read in one step when scanning a log for batch boundaries. */
  logScanChunkBytes: 1024 * 1024,
  /** Longest graceful shutdown waits for in-flight requests before closing connections. */
  shutdownDrainMs: 10_000,
  /** Socket duplicates the addon's threads hold at once, at most (config/descriptors.ts may give fewer): half for fetch responses on the sender thread (past it written through the thread pool), half for large produce frames on the frame receiver (past it read by the main thread). */
  senderSocketsMax: 4096,
  /** ...and at least, however small the open-file limit. */
  senderSocketsMin: 4,
  /** Segment files the main thread keeps open for reading, at most (config/descriptors.ts may give fewer). */
  segmentReadersOpenMax: 1024,
  /** ...and at least, however small the open-file limit. */
  segmentReadersOpenMin: 8,
  /** Segment files each shard keeps open for appends and reads, at most (config/descriptors.ts may give fewer). */
  segmentFilesOpenPerShardMax: 10_000,
  /** ...and at least, however small the open-file limit. */
  segmentFilesOpenPerShardMin: 8,
  /** Descriptors kept out of the budget for everything but segments and connections (config/descriptors.ts). */
  descriptorsReservedBase: 64,
  /** ...plus this many per shard thread (its event loop, files written while rolling and checkpointing). */
  descriptorsReservedPerShard: 8,
  /** ...plus this many per native addon thread (the sender and each frame receiver: an epoll and an eventfd). */
  descriptorsReservedPerAddonThread: 2,
  /** Connections max.connections allows by default however small the open-file limit. */
  connectionsMin: 16,
  /** Partitions remembered as having logged a storage error at ERROR (the rest of their errors go to debug). */
  storageErrorsRememberedMax: 10_000,
  /** Userland bytes queued on a socket above which a response writer waits for 'drain' before queueing more. */
  socketQueuedBytesHigh: 4 * 1024 * 1024,
  /** File steps the buffered response writer reads ahead of the socket. */
  bufferedRegionReadAheadSteps: 2,
  /** Positions of the most recent batches each partition keeps, so tail fetches find their start without a disk read. */
  recentBatchPositions: 1024,
  /**
   * Appended batches per partition whose places the main thread remembers (shard/tail-batches.ts),
   * so fetches at the tail are planned without a round trip to the shard: 24 bytes each.
   */
  tailBatchesPerPartition: 32,
  /**
   * fsyncs of rolled segments a shard thread runs at once on the thread pool (storage/rolled-syncs.ts;
   * each holds one read-only descriptor); more wait in order.
   */
  rolledSegmentSyncsInFlight: 1,
  /** Operations (appends, reads, commands) outstanding to one shard; past this, more fail at once with a retriable error. */
  shardOperationsPendingMax: 200_000,
  /** Bytes read from a segment per step when a file region is sent through user space. */
  bufferedRegionStepBytes: 1024 * 1024,
  /**
   * The native sender thread's staging buffer with fetch.zero.copy=off (native/response-sender.cc):
   * file regions are read into it and written from it. One per response in flight, so at most one
   * per connection, allocated at the response's first file region and freed when it is written.
   */
  senderCopyStepBytes: 1024 * 1024,
  /** Step buffers kept for reuse by the buffered response writer. */
  bufferedRegionPoolBuffers: 16,
  /** Shared memory kept for reuse by large produce frames (network/frame-pool.ts). */
  sharedFramePoolBytesMax: 128 * 1024 * 1024,
  /** Producer ids handed out per persisted block (the block end is written before any id is used). */
  producerIdBlockSize: 1000,

  // Metadata store (controller/metadata-store.ts) and log compaction (storage/compaction.ts).
  /** Bytes the metadata journal may reach before the snapshot is rewritten, however small the snapshot. */
  metadataJournalBytesMin: 1024 * 1024,
  /**
   * Past metadataJournalBytesMin, the snapshot is rewritten once the journal holds this many
   * times the snapshot's bytes: snapshot rewrites then cost at most about 1 + 1/ratio bytes
   * per journal byte written, whatever the number of topics.
   */
  metadataJournalToSnapshotRatio: 1,
  /** Bytes of journal records written and fsynced together in one group commit; more wait for the next. */
  metadataGroupCommitBytesMax: 8 * 1024 * 1024,
  /**
   * Bytes of the key map of a cleaning when no share of log.cleaner.dedupe.buffer.size is
   * given (Log.compact called on its own, as tests do); the shards get theirs from the
   * broker's settings. 24 bytes a key (a 16-byte MD5 of the key and an 8-byte offset).
   */
  compactionOffsetMapBytes: 16 * 1024 * 1024,
  /** How full the compaction key map may get before a pass stops mapping (Kafka's log.cleaner.io.buffer.load.factor). */
  compactionOffsetMapLoadFactor: 0.9,
  // Responses and the group coordinator (hardening-responses).
  /** Bytes of client-supplied text (a name, a value) one error message quotes; longer text is cut and its size given. */
  errorMessageExcerptBytesMax: 256,
  /** Bytes of the client id or group instance id that begin a generated member id (`<prefix>-<uuid>`). */
  memberIdPrefixBytesMax: 255,
  /** Member ids handed out with MEMBER_ID_REQUIRED and not yet used to join, across all groups; past this the oldest is forgotten. */
  pendingMembersMax: 10_000,
  // ---- record validation (src/protocol/record-validation.ts, compression.ts) ----
  /**
   * Bytes the records of one compressed batch may inflate to; a batch that would inflate
   * further is refused with MESSAGE_TOO_LARGE before it is inflated (Java producers then
   * split the batch and retry). 64 MiB is 64 times the default max.message.bytes and far
   * above what producers build (librdkafka batch.size 1 MB uncompressed; the Java producer's
   * 16 KiB batch.size, counted compressed), while a shard thread decompressing one batch
   * at a time holds at most this much: two shards on a small machine, 128 MiB.
   */
  batchInflatedBytesMax: 64 * 1024 * 1024,
  /**
   * Bytes lz4 and zstd may inflate per synchronous task of a shard thread (one append or
   * ListOffsets command): their libraries' buffers are freed only after the task ends (see
   * src/protocol/compression.ts). Four batches at the largest inflation; past it a batch is
   * answered REQUEST_TIMED_OUT, which producers retry.
   */
  libraryHeldBytesPerTaskMax: 256 * 1024 * 1024,
  /** Per-record errors listed in one produce response (Kafka lists them all; a batch can hold millions). */
  recordErrorsReportedMax: 100,
  // ---- group coordinator (src/coordinator/) ----
  /** Milliseconds before the first retry of a failed load of a __consumer_offsets partition; each further retry waits twice as long. */
  offsetsLoadRetryBackoffMsMin: 200,
  /**
   * The longest wait between two loads of a __consumer_offsets partition that keeps failing,
   * in milliseconds: also the least time between the last failure and a load started by a
   * FindCoordinator or JoinGroup once the retries are spent, so clients asking cannot make the
   * broker reread a broken partition back to back.
   */
  offsetsLoadRetryBackoffMsMax: 5_000,
  /** Loads of a __consumer_offsets partition tried in a row (the first and its retries) before only a client's FindCoordinator or JoinGroup starts another. */
  offsetsLoadAttemptsMax: 6,
  // ---- dynamic broker configs (src/config/dynamic-configs.ts) ----
  /**
   * Bytes of one dynamic broker config value. Each is kept in the metadata journal and
   * snapshot and applied at every start; the longest value Kafka's keys need is a list of
   * per-host connection limits, and 64 KiB holds thousands of them.
   */
  dynamicConfigValueBytesMax: 64 * 1024,
  // ---- topic configs (i9): recompression on append and the log cleaner (src/storage/) ----
  /**
   * Bytes of batches one append command has rebuilt in the topic's compression.type and not
   * yet written; past this they are written before the next batch is taken (the produced
   * batches are views of the request, the rebuilt ones new memory).
   */
  recompressedBytesPendingMax: 64 * 1024 * 1024,
  /**
   * Bytes a log cleaning reads (and inflates) between pauses, in which the shard serves its
   * other commands and frees lz4/zstd buffers (see Log.clean): bounds both the stall a
   * cleaning causes and what it holds, far below libraryHeldBytesPerTaskMax.
   */
  cleanerStepBytes: 8 * 1024 * 1024,
  /** ...or milliseconds, whichever comes first. */
  cleanerStepMs: 20,
  // ---- ZooKeeper client (i10: src/cluster/zk/zk-client.ts) ----
  /**
   * Milliseconds between two looks at a ZooKeeper session's liveness: how long since the server
   * last answered (the read timeout, two thirds of the session timeout, as ZooKeeper's Java
   * client) and how long since the connection was lost (sessionLost at the session timeout).
   * The granularity of both judgements.
   */
  zookeeperLivenessCheckIntervalMs: 100,
  /** The longest close() waits for the server to confirm CloseSession before it drops the connection. */
  zookeeperCloseTimeoutMs: 3_000,
  /**
   * The longest pause between two rounds of reconnect attempts over all the servers of the
   * connect string (node-zookeeper-client's spinDelay: a random wait up to this).
   */
  zookeeperReconnectSpinDelayMs: 1_000,
  /** Times removeRecursive starts over when a child appeared while it removed the others (NOT_EMPTY). */
  zookeeperRemoveRecursiveAttemptsMax: 5,
  // ---- The broker side of a cluster (i10: src/cluster/) ----
  /**
   * The longest a topic change made through ZooKeeper (CreateTopics, DeleteTopics,
   * CreatePartitions) waits to become visible on the broker that made it, ms, whatever the
   * request's own timeout: past it the answer is REQUEST_TIMED_OUT while the change goes on.
   */
  clusterChangeWaitMsMax: 60_000,
  /**
   * A controller request naming a controller or epoch this broker does not know is checked
   * against ZooKeeper's /controller and /controller_epoch at most this often, ms; such requests
   * arriving in between wait for the next read (a client flooding made-up epochs costs one
   * ZooKeeper read per interval, and a real controller's request is never refused for it).
   */
  controllerIdentityRecheckMs: 100,
  // ---- topic administration through ZooKeeper (i10, src/cluster/zk-admin.ts, producer-id-blocks.ts) ----
  /**
   * Attempts of one conditional admin write (a topic's assignment or configs) that lost to a
   * concurrent change and was read and checked again; past this the request is answered
   * REQUEST_TIMED_OUT (retriable). Each lost attempt means another write succeeded.
   */
  zkAdminWriteAttemptsMax: 10,
  /**
   * Attempts to claim the next producer-id block from /latest_producer_id_block, each lost to
   * another broker's claim (Kafka retries without bound); every lost attempt is another
   * broker's success, so only a cluster handing out blocks non-stop exhausts this.
   */
  producerIdBlockClaimAttemptsMax: 100,
  // ---- cluster controller (src/cluster/controller/) ----
  /**
   * Requests queued for one broker by the controller (its ControllerChannelManager queue).
   * An event queues at most one LeaderAndIsr, one UpdateMetadata and one StopReplica per
   * broker, so this is hundreds of events behind; past it the queue is dropped and the broker
   * is sent the whole state again (UpdateMetadata and LeaderAndIsr for all its replicas).
   */
  controllerRequestsQueuedPerBrokerMax: 1_000,
  /** Milliseconds before the controller reconnects to a live broker it lost; doubles per failure. */
  controllerBrokerBackoffMsMin: 100,
  /** ...up to this many milliseconds. */
  controllerBrokerBackoffMsMax: 5_000,
  /** Milliseconds the controller waits to connect to a broker, and for each answer (Kafka's controller.socket.timeout.ms default). */
  controllerSocketTimeoutMs: 30_000,
  /** Operations in one ZooKeeper multi the controller sends (a deleted topic's znodes go in several), far below jute.maxbuffer's 1 MiB request. */
  controllerZkOpsPerMultiMax: 500,
  /** Tries of one partition-state write that meets a newer version (a leader changed the ISR meanwhile) before the partition is left for the next event. */
  controllerStateWriteAttemptsMax: 5,
  /** Partition-state writes (each a small multi) the controller has in flight at once. */
  controllerZkWritesInFlightMax: 64,
  // ---- preferred leaders (i11, src/cluster/controller/) ----
  /** ElectLeaders requests waiting for the controller's event loop at once; past it a request is answered REQUEST_TIMED_OUT (retriable) at once. */
  controllerElectionRequestsQueuedMax: 64,
  /** Partitions one ElectLeaders request may name (a request for all partitions is resolved by the broker); more is INVALID_REQUEST. */
  electLeadersPartitionsMax: 100_000,
  /** Milliseconds after its election before the controller first checks the leader balance (Kafka's 5 s); then every leader.imbalance.check.interval.seconds. */
  leaderRebalanceFirstCheckDelayMs: 5_000,
  // ---- partition reassignment (i11, src/cluster/controller/, handlers 45 and 46) ----
  /** Partitions one AlterPartitionReassignments or ListPartitionReassignments request may name; more is INVALID_REQUEST (Kafka has no bound; each costs the controller a few ZooKeeper writes). */
  reassignmentPartitionsPerRequestMax: 100_000,
  /**
   * Reassignments in progress whose replicas' sizes the admin API asks for (GET
   * /api/v1/reassignments: one DescribeLogDirs per broker involved, naming these partitions); the
   * rest are listed without progress. What one page of the UI shows with progress bars.
   */
  adminApiReassignmentsProgressMax: 1_000,
  /**
   * Partitions of one AlterPartitionReassignments request the controller takes in one event
   * (each a few ZooKeeper writes); the rest is queued behind the events that arrived meanwhile,
   * so a broker's death is not left waiting for a request naming thousands of partitions.
   */
  reassignmentPartitionsPerEventMax: 100,
  // ---- replication throttles (i11, KIP-73, src/cluster/replica-fetcher.ts) ----
  /** Fewest milliseconds a replica fetcher whose fetchable partitions are all held by its throttle waits before checking the rate again. */
  replicationThrottleRecheckMs: 5,
  // ---- the WebSocket consumer endpoint's record decoding (src/ws/record-decoder.ts, decode-pool.ts) ----
  /**
   * Threads of the decode pool (piscina) that turn fetched record batches into what /ws sends.
   * The broker's reference machine has 2 cores, shared with the main thread and the shards:
   * one decode thread takes the costly decodes off the main thread without taking a core from
   * the shards. Created on the first decode that needs one, ended after wsDecodeThreadIdleMs.
   */
  wsDecodeThreads: 1,
  /** Milliseconds a decode thread may stay idle before it is ended (the next pooled decode starts one again, about 30 ms). */
  wsDecodeThreadIdleMs: 60_000,
  /**
   * Decodes waiting for a decode thread (piscina's maxQueue). Past it a decode is refused with
   * DecodePoolFullError, which the endpoint retries later (backpressure), rather than decoded on
   * the main thread: a full queue means the decode threads are behind, and the main thread taking
   * their work then would stall every connection's socket and the Kafka port with it. Each
   * waiting decode holds its fetched bytes (at most limits.wsFetchBytesMax each).
   */
  wsDecodeQueuedMax: 64,
  /**
   * Fetched bytes of uncompressed batches decoded on the calling thread rather than in the pool:
   * below this a hop to a thread (copying the bytes there and the decoded records back, two
   * message-port crossings) costs the main thread more than the decode itself. Measured with
   * bench/ws-decode.ts (bench/README.md, "ws-decode"). Compressed batches always go to the pool.
   */
  wsDecodeInlineBytesMax: 16 * 1024,
  /**
   * Bytes one batch's records may inflate to when decoded for /ws. The same bound as a produced
   * batch's (batchInflatedBytesMax), so every batch the broker accepted can be read; a stored
   * batch inflating further (from before a lower bound, or corrupt) is a RecordDecodeError
   * MESSAGE_TOO_LARGE at its offset, and its bytes are never inflated.
   */
  wsDecodeInflatedBytesMax: 64 * 1024 * 1024,
  /**
   * Bytes of records (inflated) one decode reads before it stops at the next batch boundary, at
   * least one batch always: a fetch of a few MiB of well-compressed batches could otherwise
   * inflate to gigabytes in one decode. The caller continues from the decode's nextOffset. Also
   * what one WebSocket consumer's fetch decodes over all its partitions (ws-consumer.ts): what a
   * client that holds back its credit makes the broker hold, whatever the partitions it reads.
   */
  wsDecodeRecordBytesMax: 16 * 1024 * 1024,
  /**
   * Bytes of shared memory the decode pool keeps between decodes to copy fetched records into for
   * a thread (decode-pool.ts): reused because touching fresh memory costs the main thread more than
   * the copy. Past it, a slot is left to the collector after its decode.
   */
  wsDecodeSlotBytesKeptMax: 8 * 1024 * 1024,
  // ---- admin UI: topics (src/http/api/topic-stats.ts) ----
  /**
   * Least time between two samples of a topic's log end offsets from which the topics list's
   * messages per second is computed: closer samples would make a rate of the noise of one batch.
   * One sample per topic the broker holds is kept (forgotten with the topic).
   */
  adminApiTopicRateSampleMinMs: 1_000,
  // ---- message searches (admin API /api/v1/…/searches: http/search-jobs.ts, search-pool.ts, operations/message-search.ts) ----
  /** Searches running at once on a broker, over every user; one more is refused (429) until one ends. */
  searchesRunningMax: 4,
  /** ...and of one user (principal). */
  searchesRunningPerUserMax: 2,
  /** Bytes of record batches one search reads at most (a search may ask for less); past it the search ends in state `bytes-limit`. */
  searchBytesMax: 8 * 1024 * 1024 * 1024,
  /**
   * Milliseconds one search may run at most (a search may ask for less); then it ends in state
   * `time-limit`, and a match under way in a search thread is ended with its thread (piscina
   * terminates it: a catastrophic regex cannot hold the thread longer).
   */
  searchTimeMsMax: 10 * 60 * 1000,
  /** Matching records one search keeps (a search may ask for fewer); at this many it ends in state `match-limit`. */
  searchMatchesMax: 500,
  /** Bytes of each key, value and header value a kept match holds; longer ones are cut (the match says `truncated`). */
  searchMatchFieldBytesMax: 8 * 1024,
  /** Bytes the kept matches of one search hold together (keys, values, headers); the match that reaches it is the last (state `match-limit`). With searchesKeptMax, what searches hold is bounded: 32 × 4 MiB. */
  searchMatchBytesMax: 4 * 1024 * 1024,
  /** Milliseconds a finished search stays readable (GET /api/v1/searches/:id) before it is forgotten. */
  searchRetainedMs: 15 * 60 * 1000,
  /** Searches a broker remembers, running and finished; past it the oldest finished one is forgotten (and a new one refused while all are running). */
  searchesKeptMax: 32,
  /**
   * Searches one user keeps, running and finished: past it the user's own oldest finished search
   * is forgotten for the next, so one user churning searches does not push others' results out
   * of searchesKeptMax (that takes searchesKeptMax / this users at once).
   */
  searchesKeptPerUserMax: 8,
  /**
   * Bytes one search's Fetch asks for (max_bytes; one batch more when a single batch is larger,
   * KIP-74): what the main thread reads for a search at a time, copied into the search's own slot
   * of shared memory (kept for the search, reused every fetch) for its thread.
   */
  searchFetchBytesMax: 4 * 1024 * 1024,
  /** Bytes of records (inflated) a search thread walks per task before it stops at a batch boundary; the next fetch starts there. */
  searchDecodeRecordBytesMax: 32 * 1024 * 1024,
  /** Threads matching records for searches (piscina), apart from the WebSocket decode threads; ended after wsDecodeThreadIdleMs idle. One, so searches never take more than one core from the shards and the main thread. */
  searchThreads: 1,
  /** How much the search threads' nice value is raised (19: the lowest priority), so searches get only the CPU the broker's other threads leave. */
  searchThreadNiceIncrement: 19,
  /**
   * Bytes a second all searches together read (search-pool.ts paces their fetches): each fetched
   * byte costs the main thread its read and its copy for the search thread (about 3 ms per MiB),
   * so an unpaced search took two thirds of the main thread and producers lost over half their
   * throughput; with the answer assembled in the search's slot, the search thread's own work on
   * the second core is what remains: producers kept 72 % of their throughput at 64 MiB/s, 95-97 %
   * at 32 (bench/ui-search.ts, bench/README.md "ui-search"). A 1 GiB topic is searched in about 32 s.
   */
  searchBytesPerSecondMax: 32 * 1024 * 1024,
  /** Characters of a search's pattern (a substring, a regex, a JSON path). */
  searchPatternCharsMax: 4 * 1024,
  /**
   * Commas in a search's JSON path (its unions' members, `['a','b']`). The path is tried on a small
   * sample on the main thread where the search starts (operations/record-match.ts), and each union
   * multiplies what a step selects: `$[*,*,…][*,*,…][*,*,…]`, 1,204 characters, took that thread
   * 35 s and 3 GB.
   */
  searchJsonPathCommasMax: 32,
} as const;
