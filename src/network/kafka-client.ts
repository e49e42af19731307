// A small Kafka client: one TCP connection to one broker. The CLI's client, and the one
// brokers use to reach each other (the controller's requests, replica fetchers).
//
// connect() opens the socket (bounded by the timeout) and asks ApiVersions v3 which
// versions the broker serves; a broker that does not serve v3 answers with a v0 body
// carrying UNSUPPORTED_VERSION and its own range (KIP-511), and the request is repeated
// at a version it serves. Each request then goes out at the highest version both sides
// support, capped at the version this client was written for (CEILINGS), with the
// header version that API version needs (protocol/header.ts). Requests may be
// pipelined; responses are matched by correlation id. Every wait is bounded; a timeout
// or a lost connection rejects with ConnectionError (exit 3), naming the request.
// A response spread over several socket chunks is assembled as the chunks arrive, not
// concatenated at the end; a large one whose request asked for it (`pooled`, a replica
// fetcher's Fetch) goes into the client's shared frame pool, so the records it carries
// reach a shard as views, without another copy (network/frame-pool.ts).
//
// With `sasl` (a SASL_PLAINTEXT listener), connect() logs in after ApiVersions, as Kafka's
// clients do: SaslHandshake v1 names the mechanism, then SaslAuthenticate requests carry the
// tokens — PLAIN's one (RFC 4616), or SCRAM's client-first and client-final (RFC 5802,
// security/scram-client.ts), whose server-final signature is checked, so a server that does
// not hold the user's credential is not trusted. A refused login rejects with a BrokerError
// (SASL_AUTHENTICATION_FAILED with the broker's message, UNSUPPORTED_SASL_MECHANISM naming the
// mechanisms the listener enables, ILLEGAL_SASL_STATE from a listener without SASL), and the
// broker closes the connection after it. SaslHandshake v0's raw tokens are not spoken. The
// client does not re-authenticate (KIP-368): where the broker sets connections.max.reauth.ms,
// a connection lasts one session, and a request after it ends finds the connection closed (the
// error says so). A client without a login on a SASL listener finds its first request after
// ApiVersions answered by a close; that error says what a SASL listener does, too.
//
// With `tls` (an SSL or SASL_SSL listener) the connection is TLS, and counts as made once
// the handshake, with node:tls's check of the broker's certificate, has passed.

import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { ApiKey, apiVersionsApi, metadataApi, saslAuthenticateApi, saslHandshakeApi } from '../protocol/generated/index.js';
import type { MetadataResponse } from '../protocol/generated/metadata-response.js';
import { writeRequestHeader } from '../protocol/generated/request-header.js';
import { readResponseHeader } from '../protocol/generated/response-header.js';
import { requestHeaderVersion, responseHeaderVersion } from '../protocol/header.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import type { ApiSchema, Encodable } from '../protocol/message.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { ScramClient, ScramClientError } from '../security/scram-client.js';
import { SHARED_FRAME_MIN_BYTES, type SharedFramePool } from './frame-pool.js';

/** The client id requests carry unless the caller names another. */
export const CLIENT_ID = 'spate-cli';
const CLIENT_SOFTWARE_VERSION = '0.1.0';
const BROKER_CLOSED = 'the broker closed the connection';
/** The largest response frame accepted (a fetch is bounded far below this). */
const MAX_FRAME_BYTES = 1024 * 1024 * 1024;

/** The highest version of each API this client was written for (and tested against). */
export const CEILINGS: ReadonlyMap<number, number> = new Map([
  [0, 11], // Produce
  [1, 16], // Fetch (13+ names topics by id)
  [2, 7], // ListOffsets
  [3, 12], // Metadata
  [8, 8], // OffsetCommit (9 is for KIP-848 groups)
  [9, 8], // OffsetFetch (9 is for KIP-848 groups)
  [10, 4], // FindCoordinator
  [15, 5], // DescribeGroups
  [16, 5], // ListGroups
  [17, 1], // SaslHandshake (0 is followed by raw tokens, not spoken here)
  [18, 3], // ApiVersions
  [19, 7], // CreateTopics
  [20, 6], // DeleteTopics
  [21, 2], // DeleteRecords
  [24, 5], // AddPartitionsToTxn (4+ is the brokers' verifyOnly form)
  [27, 1], // WriteTxnMarkers
  [32, 4], // DescribeConfigs
  [35, 4], // DescribeLogDirs
  [36, 2], // SaslAuthenticate
  [37, 3], // CreatePartitions
  [42, 2], // DeleteGroups
  [44, 1], // IncrementalAlterConfigs
  [47, 0], // OffsetDelete
  [50, 0], // DescribeUserScramCredentials
  [51, 0], // AlterUserScramCredentials
  [61, 0], // DescribeProducers
  [65, 0], // DescribeTransactions
  [66, 1], // ListTransactions
]);

/** The broker answered with a Kafka error code: `NAME: message`. */
export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly errorName: string;

  constructor(
    readonly errorCode: number,
    readonly detail: string | null,
    /** What the error is about, e.g. `topic "foo"`; prepended to the broker's message. */
    readonly subject?: string,
  ) {
    const parts = [subject, detail].filter((part): part is string => part !== undefined && part !== null && part !== '');
    super(`${errorName(errorCode)}: ${parts.length > 0 ? parts.join(': ') : 'the broker answered with this error'}`);
    this.errorName = errorName(errorCode);
  }
}

/** Connecting failed, the connection was lost, or a wait timed out. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

/** A broker address list that is not `host:port[,host:port…]`. */
export class AddressError extends Error {
  override readonly name = 'AddressError';
}

/** The SASL mechanisms this client logs in with. */
export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export const SASL_MECHANISM_NAMES: readonly SaslMechanismName[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** A SASL login (a SASL_PLAINTEXT listener). */
export interface SaslOptions {
  readonly mechanism: SaslMechanismName;
  readonly username: string;
  readonly password: string;
}

export interface ClientOptions {
  /** Bounds connecting and each request. */
  readonly timeoutMs: number;
  /** The client id requests carry (default CLIENT_ID). */
  readonly clientId?: string;
  /** Where large responses to `pooled` requests are assembled; absent: nothing is pooled. */
  readonly framePool?: SharedFramePool;
  /** Log in with SASL after ApiVersions; absent: no login (a PLAINTEXT or SSL listener). */
  readonly sasl?: SaslOptions;
  /** Connect with TLS (an SSL or SASL_SSL listener): node:tls's options (ca, key, cert, checkServerIdentity…); absent: plain TCP. */
  readonly tls?: ConnectionOptions;
}

export interface RequestOptions {
  /** Bound on this request (default: the client's timeout). */
  readonly timeoutMs?: number;
  /** Cap the version below what both sides support. */
  readonly maxVersion?: number;
  /**
   * A large response goes into the client's frame pool (when it has one): the body's bytes
   * fields are then views of pooled memory, and the caller must call the response's
   * `release` once it no longer uses them.
   */
  readonly pooled?: boolean;
  /**
   * Where a requester that assembles answers in memory (http/local-client.ts) puts this one when
   * it fits: the body's bytes fields are then views of this memory, which the caller owns and
   * reuses (a message search's shared slot, so its fetches cost no fresh memory). KafkaClient
   * ignores it.
   */
  readonly answerInto?: Uint8Array;
}

export interface Response<Res> {
  readonly body: Res;
  /** The version the request was sent with. */
  readonly version: number;
  /** Set when the response lives in pooled memory (RequestOptions.pooled): gives it back; call once, after the last use of the body. */
  readonly release?: () => void;
}

interface Pending {
  readonly schema: ApiSchema<object, object>;
  readonly version: number;
  readonly resolve: (response: Response<object>) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly pooled: boolean;
}

/** A response frame being filled as its chunks arrive. */
interface Assembly {
  readonly frame: Buffer;
  filled: number;
  readonly release: (() => void) | null;
}

export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port[,host:port…]` (IPv6 as `[addr]:port`; the port defaults to 9092). */
export function parseBootstrap(value: string): BrokerAddress[] {
  const addresses = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(part);
      if (match === null) throw new AddressError(`--bootstrap-server: "${part}" is not host:port`);
      const port = match[3] === undefined ? 9092 : Number(match[3]);
      if (port < 1 || port > 65535) throw new AddressError(`--bootstrap-server: bad port in "${part}"`);
      return { host: match[1] ?? match[2]!, port };
    });
  if (addresses.length === 0) throw new AddressError('--bootstrap-server needs host:port');
  return addresses;
}

/**
 * What an operation needs of a client: requests and Metadata. KafkaClient sends them over a
 * socket; the HTTP side's LocalClient (http/local-client.ts) hands them to this broker's
 * handlers as its logged-in user, so the CLI and the HTTP admin API share one implementation
 * of each operation.
 */
export interface KafkaRequester {
  request<Req extends object, Res extends object>(schema: ApiSchema<Req, Res>, body: Encodable<Req>, options?: RequestOptions): Promise<Response<Res>>;
  metadata(topics: readonly string[] | null, allowAutoTopicCreation?: boolean): Promise<MetadataResponse>;
  /** The version a request of this API goes out with, or a BrokerError when there is none in common. */
  pickVersion<Req extends object, Res extends object>(schema: ApiSchema<Req, Res>, cap?: number): number;
}

export class KafkaClient implements KafkaRequester {
  private readonly pending = new Map<number, Pending>();
  private readonly versions = new Map<number, { min: number; max: number }>();
  private nextCorrelationId = 1;
  private received: Buffer[] = [];
  private receivedBytes = 0;
  private assembly: Assembly | null = null;
  private closedReason: string | null = null;
  /** When the SASL session the broker granted ends (connections.max.reauth.ms); null: it does not. */
  private saslSessionEndsAtMs: number | null = null;
  /** Whether connect() logged in (for the error when a SASL listener closes a connection that did not). */
  private loggedIn = false;
  private responsesReceived = 0;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    private readonly timeoutMs: number,
    private readonly clientId: string,
    private readonly framePool: SharedFramePool | null,
  ) {
    socket.on('data', (data: Buffer) => this.receive(data));
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(error.code ?? error.message));
    socket.on('end', () => this.fail(BROKER_CLOSED));
    socket.on('close', () => this.fail('connection closed'));
  }

  /** Connects to the first address that answers (`host:port[,…]` or a list) and learns its API versions. */
  static async connect(bootstrap: string | readonly BrokerAddress[], options: ClientOptions): Promise<KafkaClient> {
    const failures: string[] = [];
    for (const address of typeof bootstrap === 'string' ? parseBootstrap(bootstrap) : bootstrap) {
      const name = address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
      let socket: Socket;
      try {
        socket = await openSocket(address, options.timeoutMs, options.tls);
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
        continue;
      }
      const client = new KafkaClient(socket, name, options.timeoutMs, options.clientId ?? CLIENT_ID, options.framePool ?? null);
      try {
        await client.negotiateVersions();
        if (options.sasl !== undefined) {
          await client.authenticate(options.sasl);
          client.loggedIn = true;
        }
        return client;
      } catch (error) {
        client.close();
        if (!(error instanceof ConnectionError)) throw error;
        failures.push(`${name}: ${error.message}`);
      }
    }
    throw new ConnectionError(`cannot reach the broker (${failures.join('; ')})`);
  }

  private async negotiateVersions(): Promise<void> {
    let version = CEILINGS.get(ApiKey.ApiVersions)!;
    for (;;) {
      const { body } = await this.send(apiVersionsApi, version, {
        clientSoftwareName: CLIENT_ID,
        clientSoftwareVersion: CLIENT_SOFTWARE_VERSION,
      });
      if (body.errorCode === ErrorCode.UNSUPPORTED_VERSION && version > 0) {
        const own = body.apiKeys.find((key) => key.apiKey === ApiKey.ApiVersions);
        version = own !== undefined && own.maxVersion < version ? own.maxVersion : 0;
        continue;
      }
      if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, 'ApiVersions');
      for (const key of body.apiKeys) this.versions.set(key.apiKey, { min: key.minVersion, max: key.maxVersion });
      return;
    }
  }

  /** SaslHandshake v1 and SaslAuthenticate: logs in, or throws a BrokerError saying why not. */
  private async authenticate(sasl: SaslOptions): Promise<void> {
    const subject = `SASL ${sasl.mechanism} login as "${sasl.username}" at ${this.address}`;
    const handshakeVersion = this.pickVersion(saslHandshakeApi);
    if (handshakeVersion < 1) {
      throw new BrokerError(ErrorCode.UNSUPPORTED_VERSION, 'the broker serves only SaslHandshake v0 (raw tokens), which this client does not speak', subject);
    }
    const authenticateVersion = this.pickVersion(saslAuthenticateApi);
    const { body: handshake } = await this.send(saslHandshakeApi, handshakeVersion, { mechanism: sasl.mechanism });
    if (handshake.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
      const enabled = handshake.mechanisms.length === 0 ? 'none' : handshake.mechanisms.join(', ');
      throw new BrokerError(handshake.errorCode, `the listener does not enable ${sasl.mechanism}; it enables ${enabled}`, subject);
    }
    if (handshake.errorCode === ErrorCode.ILLEGAL_SASL_STATE) {
      throw new BrokerError(handshake.errorCode, 'the listener does not use SASL (a PLAINTEXT listener needs no login)', subject);
    }
    if (handshake.errorCode !== ErrorCode.NONE) throw new BrokerError(handshake.errorCode, null, subject);
    const exchange = async (token: Buffer): Promise<Buffer> => {
      const { body } = await this.send(saslAuthenticateApi, authenticateVersion, { authBytes: token });
      if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, body.errorMessage, subject);
      this.saslSessionEndsAtMs = body.sessionLifetimeMs > 0 ? Date.now() + body.sessionLifetimeMs : null;
      return body.authBytes;
    };
    if (sasl.mechanism === 'PLAIN') {
      // RFC 4616: authzid NUL authcid NUL password, with no authzid (the user acts as itself).
      if (sasl.username === '' || sasl.username.includes('\u0000') || sasl.password.includes('\u0000')) {
        throw new Error(`${subject}: a PLAIN user name must not be empty, and neither it nor the password may contain NUL`);
      }
      await exchange(Buffer.from(`\u0000${sasl.username}\u0000${sasl.password}`, 'utf8'));
      return;
    }
    try {
      const scram = new ScramClient(sasl.mechanism, sasl.username, sasl.password);
      const challenge = await exchange(scram.firstMessage());
      scram.verify(await exchange(await scram.finalMessage(challenge)));
    } catch (error) {
      if (error instanceof ScramClientError) throw new BrokerError(ErrorCode.SASL_AUTHENTICATION_FAILED, error.message, subject);
      throw error;
    }
  }

  /** The version a request of this API goes out with, or a BrokerError when there is none in common. */
  pickVersion<Req extends object, Res extends object>(schema: ApiSchema<Req, Res>, cap = Number.MAX_SAFE_INTEGER): number {
    const broker = this.versions.get(schema.apiKey);
    const ceiling = Math.min(CEILINGS.get(schema.apiKey) ?? schema.maxVersion, schema.maxVersion, cap);
    if (broker !== undefined) {
      const version = Math.min(broker.max, ceiling);
      if (version >= Math.max(broker.min, schema.minVersion)) return version;
    }
    const served = broker === undefined ? 'does not serve it' : `serves v${broker.min}-${broker.max}`;
    throw new BrokerError(
      ErrorCode.UNSUPPORTED_VERSION,
      `the broker ${served}; this client speaks v${schema.minVersion}-${ceiling}`,
      schema.name,
    );
  }

  /** Sends a request at the best common version and waits for its response. */
  request<Req extends object, Res extends object>(
    schema: ApiSchema<Req, Res>,
    body: Encodable<Req>,
    options: RequestOptions = {},
  ): Promise<Response<Res>> {
    const version = this.pickVersion(schema, options.maxVersion);
    return this.send(schema, version, body, options.timeoutMs, options.pooled === true && this.framePool !== null);
  }

  /**
   * Sends a request the broker will not answer (Produce with acks=0); resolves once the
   * bytes are handed to the kernel.
   */
  sendOneWay<Req extends object, Res extends object>(schema: ApiSchema<Req, Res>, body: Encodable<Req>): Promise<void> {
    if (this.closedReason !== null) return Promise.reject(this.lostError(schema.name));
    const version = this.pickVersion(schema);
    const frame = this.frame(schema, version, body, this.nextCorrelationId++);
    return new Promise((resolve, reject) => {
      this.socket.write(frame, (error) => (error ? reject(this.lostError(schema.name)) : resolve()));
    });
  }

  /** Metadata for some topics, or every topic (null). Never creates topics unless asked. */
  async metadata(topics: readonly string[] | null, allowAutoTopicCreation = false): Promise<MetadataResponse> {
    const version = this.pickVersion(metadataApi);
    // v0 has no null list: an empty one means every topic.
    const list = topics === null ? (version === 0 ? [] : null) : topics.map((name) => ({ name }));
    const { body } = await this.send(metadataApi, version, {
      topics: list,
      allowAutoTopicCreation,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    return body;
  }

  /** Closes the connection; pending requests fail. */
  close(): void {
    this.fail('closed by the client');
    this.socket.destroy();
  }

  /** Half-closes after everything written is sent (then the broker closes its side). */
  end(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      const timer = setTimeout(() => this.socket.destroy(), Math.min(this.timeoutMs, 5_000));
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end();
    });
  }

  private send<Req extends object, Res extends object>(
    schema: ApiSchema<Req, Res>,
    version: number,
    body: Encodable<Req>,
    timeoutMs = this.timeoutMs,
    pooled = false,
  ): Promise<Response<Res>> {
    if (this.closedReason !== null) return Promise.reject(this.lostError(schema.name));
    const correlationId = this.nextCorrelationId++;
    const frame = this.frame(schema, version, body, correlationId);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new ConnectionError(`no answer to ${schema.name} from ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, {
        schema: schema as unknown as ApiSchema<object, object>,
        version,
        resolve: resolve as (response: Response<object>) => void,
        reject,
        timer,
        pooled,
      });
      this.socket.write(frame);
    });
  }

  private frame<Req extends object>(schema: ApiSchema<Req, object>, version: number, body: Encodable<Req>, correlationId: number): Buffer {
    const w = new Writer(1024);
    w.int32(0); // size, patched below
    writeRequestHeader(w, requestHeaderVersion(schema.apiKey, version), {
      requestApiKey: schema.apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: this.clientId,
    });
    schema.writeRequest(w, version, body);
    const frame = w.toBuffer();
    frame.writeInt32BE(frame.length - 4, 0);
    return frame;
  }

  private receive(data: Buffer): void {
    const assembly = this.assembly;
    if (assembly !== null) {
      const count = Math.min(assembly.frame.length - assembly.filled, data.length);
      data.copy(assembly.frame, assembly.filled, 0, count);
      assembly.filled += count;
      if (assembly.filled < assembly.frame.length) return;
      this.assembly = null;
      this.dispatch(assembly.frame, assembly.release);
      if (count === data.length) return;
      data = data.subarray(count);
    }
    this.received.push(data);
    this.receivedBytes += data.length;
    while (this.receivedBytes >= 4) {
      const size = this.peekInt32(0);
      if (size < 4 || size > MAX_FRAME_BYTES) {
        this.fail(`the broker sent an invalid response size ${size}`);
        this.socket.destroy();
        return;
      }
      if (this.receivedBytes >= 4 + size) {
        this.dispatch(this.take(4 + size).subarray(4), null);
        continue;
      }
      // A large frame still arriving is filled chunk by chunk from here on (its correlation id, in the
      // next four bytes, says whether its request asked for pooled memory).
      if (size >= SHARED_FRAME_MIN_BYTES && this.receivedBytes >= 8) this.startAssembly(size, this.peekInt32(4));
      return;
    }
  }

  /** Moves what was received of a frame of `size` bytes (all of the received bytes, its size first) into the memory it is assembled in. */
  private startAssembly(size: number, correlationId: number): void {
    let frame: Buffer;
    let release: (() => void) | null = null;
    if (this.framePool !== null && this.pending.get(correlationId)?.pooled === true) {
      const pooled = this.framePool.acquire(size);
      frame = pooled.buffer;
      release = pooled.release;
    } else {
      frame = Buffer.allocUnsafe(size);
    }
    let filled = 0;
    let skip = 4; // the size prefix
    for (const chunk of this.received) {
      const from = Math.min(skip, chunk.length);
      skip -= from;
      filled += chunk.copy(frame, filled, from);
    }
    this.received = [];
    this.receivedBytes = 0;
    this.assembly = { frame, filled, release };
  }

  /** The big-endian int32 `at` bytes into the received input (at + 4 <= receivedBytes). */
  private peekInt32(at: number): number {
    const first = this.received[0]!;
    if (first.length >= at + 4) return first.readInt32BE(at);
    return Buffer.concat(this.received).readInt32BE(at);
  }

  /** Removes and returns the first `count` received bytes (one copy at most). */
  private take(count: number): Buffer {
    const first = this.received[0]!;
    let bytes: Buffer;
    if (first.length >= count) {
      bytes = first.subarray(0, count);
      if (first.length === count) this.received.shift();
      else this.received[0] = first.subarray(count);
    } else {
      const all = Buffer.concat(this.received);
      bytes = all.subarray(0, count);
      this.received = all.length > count ? [all.subarray(count)] : [];
    }
    this.receivedBytes -= count;
    return bytes;
  }

  /** Answers the frame's request; `release` (pooled memory) goes to the caller with the body, or is called here when nobody takes it. */
  private dispatch(frame: Buffer, release: (() => void) | null): void {
    const correlationId = frame.readInt32BE(0);
    const pending = this.pending.get(correlationId);
    if (pending === undefined) {
      release?.(); // a request that already timed out
      return;
    }
    this.pending.delete(correlationId);
    clearTimeout(pending.timer);
    this.responsesReceived++;
    const { schema } = pending;
    let version = pending.version;
    try {
      const r = new Reader(frame);
      readResponseHeader(r, responseHeaderVersion(schema.apiKey, version));
      // KIP-511: an ApiVersions version the broker does not serve is answered as v0.
      if (schema.apiKey === ApiKey.ApiVersions && version > 0 && frame.length >= 6 && frame.readInt16BE(4) === ErrorCode.UNSUPPORTED_VERSION) {
        version = 0;
      }
      const body = schema.readResponse(r, version);
      pending.resolve(release === null ? { body, version: pending.version } : { body, version: pending.version, release });
    } catch (error) {
      release?.();
      pending.reject(new Error(`cannot decode the ${schema.name} v${version} response: ${(error as Error).message}`));
    }
  }

  private lostError(what: string): ConnectionError {
    let why = '';
    if (this.saslSessionEndsAtMs !== null && Date.now() >= this.saslSessionEndsAtMs) why = '; its SASL session had ended (connections.max.reauth.ms) and this client does not re-authenticate';
    // Only ApiVersions was answered: a SASL listener closes a connection whose next request is not a login.
    else if (!this.loggedIn && this.responsesReceived === 1 && this.closedReason === BROKER_CLOSED) why = '; a SASL listener does this to a client that has not logged in';
    return new ConnectionError(`connection to ${this.address} lost (${this.closedReason}${why}) before ${what} was answered`);
  }

  private fail(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.assembly?.release?.();
    this.assembly = null;
    for (const [correlationId, pending] of this.pending) {
      this.pending.delete(correlationId);
      clearTimeout(pending.timer);
      pending.reject(this.lostError(pending.schema.name));
    }
  }
}

/** A TCP connection, or with `tls` a TLS one whose handshake (and the server's certificate check) passed. */
function openSocket(address: BrokerAddress, timeoutMs: number, tls: ConnectionOptions | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      tls === undefined
        ? netConnect({ host: address.host, port: address.port, noDelay: true })
        : tlsConnect({ ...tls, host: address.host, port: address.port, ...(isIP(address.host) === 0 ? { servername: address.host } : {}) }).setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(describeSocketError(error)));
    });
  });
}

function describeSocketError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the broker running?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `unknown host (${error.code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable (${error.code})`;
    default:
      return error.message;
  }
}
