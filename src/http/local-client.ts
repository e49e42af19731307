// A Kafka client inside the broker: the HTTP side's requests (the WebSocket consumers of src/ws/,
// the admin API) go to this broker's own handlers as the user who logged in over HTTP, without a
// socket. Whatever a handler checks for a Kafka connection holds for them too: the user's ACLs,
// the tenant limits, the quotas, the topics a user may not see reported as unknown.
//
// Each request is encoded and decoded with the API's schema on the way in and on the way out, so
// a handler gets exactly what a wire client would send it (the schema's defaults filled in) and
// the caller exactly what a wire client would read (a handler's response object gives only the
// fields it cares about). Record bytes that a response carries as file regions (a fetch's,
// meant for sendfile) are read into memory before the regions are released.
//
// A quota's throttle time (KIP-219) holds this client's next request back as long, as a muted
// connection would; the response carries the throttle time as usual.

import { read } from 'node:fs';
import type { BrokerServices, Handler, RequestContext } from '../handlers/handler.js';
import { CLOSE_CONNECTION, NO_RESPONSE } from '../handlers/handler.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { BrokerError, CEILINGS, type KafkaRequester, type RequestOptions, type Response } from '../network/kafka-client.js';
import { isFileRegion, type Chunk } from '../protocol/chunks.js';
import { ErrorCode } from '../protocol/errors.js';
import { metadataApi } from '../protocol/generated/index.js';
import type { MetadataResponse } from '../protocol/generated/metadata-response.js';
import type { ApiSchema, Encodable } from '../protocol/message.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { recordRequestTime, requestQuotaOf } from '../quota/request-quota.js';
import { quotaUserOf } from '../quota/throttle.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acl.js';
import { ConnectionSession } from '../security/sasl-session.js';

export interface LocalClientOptions {
  readonly services: BrokerServices;
  readonly registry: HandlerRegistry;
  /** "User:alice": who the requests are from. */
  readonly principal: string;
  /** The HTTP peer's address, as ACLs name hosts. */
  readonly clientHost: string;
  /** The client id the requests carry (quotas by client id, logs). */
  readonly clientId: string;
}

export class LocalClient implements KafkaRequester {
  private readonly session: ConnectionSession;
  private nextCorrelationId = 1;
  /** A quota's throttle: no request is handled before this time (ms since the epoch). */
  private mutedUntil = 0;

  constructor(private readonly options: LocalClientOptions) {
    // The session is on the broker's first advertised listener: the endpoints FindCoordinator and
    // Metadata answer with are that listener's (the HTTP side has no Kafka listener of its own).
    const listener = options.services.config.advertisedListeners[0]?.name ?? options.services.config.listeners[0]!.name;
    this.session = ConnectionSession.established(listener, options.principal, options.clientHost);
  }

  get principal(): string {
    return this.options.principal;
  }

  async metadata(topics: readonly string[] | null, allowAutoTopicCreation = false): Promise<MetadataResponse> {
    const { body } = await this.request(metadataApi, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    return body;
  }

  /** The version a request of this API is handled at: this broker's handler's highest, capped as a KafkaClient caps it. */
  pickVersion<Req extends object, Res extends object>(schema: ApiSchema<Req, Res>, cap = Number.MAX_SAFE_INTEGER): number {
    const handler = this.options.registry.get(schema.apiKey);
    if (handler === undefined) throw new BrokerError(ErrorCode.UNSUPPORTED_VERSION, 'the broker does not serve it', schema.name);
    const version = Math.min(handler.maxVersion, CEILINGS.get(schema.apiKey) ?? schema.maxVersion, schema.maxVersion, cap);
    if (version < Math.max(handler.minVersion, schema.minVersion)) throw new BrokerError(ErrorCode.UNSUPPORTED_VERSION, `the broker serves v${handler.minVersion}-${handler.maxVersion}`, schema.name);
    return version;
  }

  async request<Req extends object, Res extends object>(schema: ApiSchema<Req, Res>, body: Encodable<Req>, options: RequestOptions = {}): Promise<Response<Res>> {
    const { services, registry } = this.options;
    const handler = registry.get(schema.apiKey) as Handler<Req, Res> | undefined;
    if (handler === undefined) throw new BrokerError(ErrorCode.UNSUPPORTED_VERSION, 'the broker does not serve it', schema.name);
    const version = this.pickVersion(schema, options.maxVersion);
    const authorizer = services.authorizer;
    const { principal, clientHost } = this.session;
    // As on a Kafka connection: the inter-broker APIs need CLUSTER_ACTION on the cluster.
    if (handler.authorizes !== true && !authorizer.authorize(principal, clientHost, AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME)) {
      throw new BrokerError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, `${schema.name} is an inter-broker API`, schema.name);
    }
    const wait = this.mutedUntil - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));

    const requestWriter = new Writer(256);
    schema.writeRequest(requestWriter, version, body);
    const requestBytes = Buffer.concat(requestWriter.finish().map((chunk) => chunk as Buffer));
    const decoded = schema.readRequest(new Reader(requestBytes), version);

    const releases: (() => void)[] = [];
    const startedMs = performance.now();
    const context: RequestContext = {
      apiKey: schema.apiKey,
      apiVersion: version,
      correlationId: this.nextCorrelationId++,
      clientId: this.options.clientId,
      requestBytes: requestBytes.length,
      peer: `${clientHost} (HTTP)`,
      broker: services,
      session: this.session,
      authorize: (operation, resourceType, resourceName) => authorizer.authorize(principal, clientHost, operation, resourceType, resourceName),
      authorizeByResourceType: (operation, resourceType) => authorizer.authorizeByResourceType(principal, clientHost, operation, resourceType),
      onResponseDone: (release) => releases.push(release),
      park: () => () => undefined,
      throttle: (ms) => {
        if (ms <= 0) return;
        this.mutedUntil = Math.max(this.mutedUntil, Date.now() + ms);
        services.probe.throttled(quotaUserOf(principal), ms);
        if (services.tenants.any) services.tenants.accounting.add(quotaUserOf(principal), 'throttleTimeMs', ms);
      },
    };
    if (services.tenants.any) services.tenants.accounting.add(quotaUserOf(principal), 'requests', 1);
    let result;
    try {
      result = await handler.handle(decoded, context);
    } catch (error) {
      for (const release of releases.splice(0)) release();
      services.probe.requestFailed(schema.apiKey, startedMs);
      throw error;
    }
    services.probe.requestDone(schema.apiKey, startedMs, typeof result === 'object' ? result : null);
    // request_percentage (KIP-124): the handler's time, as a connection records it.
    const charge = handler.requestQuotaExempt?.(decoded, version) === true ? null : requestQuotaOf(services, principal, this.options.clientId);
    if (charge !== null) context.throttle(recordRequestTime(services, charge, performance.now() - startedMs, Date.now(), true));
    try {
      if (result === NO_RESPONSE || result === CLOSE_CONNECTION) {
        throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the broker gave no response', schema.name);
      }
      const responseWriter = new Writer(1024);
      schema.writeResponse(responseWriter, version, result);
      const bytes = await materialize(responseWriter.finish(), options.answerInto);
      return { body: schema.readResponse(new Reader(bytes), version), version };
    } finally {
      for (const release of releases.splice(0)) release();
    }
  }
}

/**
 * The chunks as one buffer (the caller's `into` when it fits), file regions read in (before their
 * owner releases them) straight into their place in it: one allocation at most and no second copy, as a fetched MiB of fresh memory costs
 * the thread that first touches it about 3.5 ms of page faults (ws/decode-messages.ts), and the
 * reads run on the thread pool, so those faults are not the main thread's.
 */
async function materialize(chunks: readonly Chunk[], into?: Uint8Array): Promise<Buffer> {
  if (chunks.length === 1 && !isFileRegion(chunks[0]!)) return chunks[0] as Buffer;
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  // The caller's memory when it fits (RequestOptions.answerInto), else fresh.
  const bytes = into !== undefined && total <= into.byteLength ? Buffer.from(into.buffer, into.byteOffset, total) : Buffer.allocUnsafe(total);
  let at = 0;
  for (const chunk of chunks) {
    if (!isFileRegion(chunk)) {
      at += chunk.copy(bytes, at);
      continue;
    }
    let filled = 0;
    while (filled < chunk.length) {
      const bytesRead = await new Promise<number>((resolve, reject) =>
        read(chunk.fd, bytes, at + filled, chunk.length - filled, chunk.position + filled, (error, count) => (error ? reject(error) : resolve(count))),
      );
      if (bytesRead === 0) throw new Error(`a fetched file region ended early (${filled} of ${chunk.length} bytes)`);
      filled += bytesRead;
    }
    at += chunk.length;
  }
  return bytes;
}
