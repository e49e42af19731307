// The broker's ZooKeeper client: promises over node-zookeeper-client 1.1.3 (pure JavaScript,
// no install script; see src/cluster/README.md for the choice), with ZooKeeper's errors as
// ZkError codes and two things the library does not do:
//
// - Fenced multi-ops. The library's Transaction sends an expected version 0 as -1 ("any
//   version"); `multi` puts the caller's version back (see there).
// - Session loss judged by time. The library learns that its session expired only when it
//   reconnects, and it never notices a server that stops answering on an open connection (a
//   paused or partitioned server): it has no read timeout. This client drops a connection the
//   server has not answered for two thirds of the session timeout (ZooKeeper's Java client
//   does the same), and emits `sessionLost` once the connection has been lost for the session
//   timeout: by then the server will have expired the session, so a broker must stop acting
//   as leader or controller. The server says so on reconnect: `expired`.
//
// Events (no arguments): 'connected' (again, after a reconnect within the session),
// 'disconnected' (the connection is lost; the session may live on), 'sessionLost' (judged
// lost by time, or expired), 'expired' (always after 'sessionLost').
//
// After 'sessionLost' the session is finished for this client: requests not yet sent are
// dropped and every request is refused with SESSION_EXPIRED. If the server turns out to still
// know the session when the client reconnects (it was judged lost on time the server did not
// count, e.g. while the server itself was paused), the client closes it (its ephemeral nodes
// go) and emits 'expired' all the same, so the owner has one path. After 'expired' the client
// is dead: the owner makes a new one with ZkClient.connect and re-creates its ephemerals.

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Client, LibraryException, Stat, TransactionResult } from 'node-zookeeper-client';
import type * as ZkLibrary from 'node-zookeeper-client';
import { limits } from '../../config/limits.js';
import type { Logger } from '../../logger.js';

export interface ZkStat {
  /** The data version: bumped by every setData, checked by conditional writes. */
  readonly version: number;
  /** The zxid of the create: a broker registration's czxid is that broker's epoch. */
  readonly czxid: bigint;
  /** The zxid of the last setData (the create's when never set): orders a write against other changes. */
  readonly mzxid: bigint;
  /** The zxid of the last change to the children (a child created or removed). */
  readonly pzxid: bigint;
  /** The session that owns an ephemeral node, 0 for a persistent one. */
  readonly ephemeralOwner: bigint;
  readonly numChildren: number;
  /** When the znode was created, in ms since the epoch by the server's clock (Kafka purges old config change notifications by it). */
  readonly ctimeMs: number;
}

export type ZkCreateMode = 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential';

export type ZkOp =
  | { op: 'create'; path: string; data: Buffer | null; mode?: ZkCreateMode }
  | { op: 'setData'; path: string; data: Buffer; version: number } // -1 = any
  | { op: 'check'; path: string; version: number }
  | { op: 'remove'; path: string; version: number };

export type ZkClientEvent = 'connected' | 'disconnected' | 'sessionLost' | 'expired';

/** A ZooKeeper error: `code` is ZooKeeper's constant name (NO_NODE, NODE_EXISTS, BAD_VERSION, NOT_EMPTY, CONNECTION_LOSS, SESSION_EXPIRED, BAD_ARGUMENTS, …). */
export class ZkError extends Error {
  readonly code: string;
  /** For a multi: the index of the op that failed, when the server said which. */
  readonly opIndex?: number;

  constructor(code: string, message: string, opIndex?: number) {
    super(message);
    this.name = 'ZkError';
    this.code = code;
    if (opIndex !== undefined) this.opIndex = opIndex;
  }
}

export interface ZkClientOptions {
  /** Requested session timeout (zookeeper.session.timeout.ms); the server may grant another within its min/max. */
  readonly sessionTimeoutMs: number;
  /** How long connect waits for a session (zookeeper.connection.timeout.ms); with a chroot, for each of its two connections. */
  readonly connectionTimeoutMs: number;
  readonly logger: Logger;
}

export interface ConnectString {
  /** `host:port[,host:port…]` */
  readonly hosts: string;
  /** The chroot path (`/kafka`), or null for the root. */
  readonly chroot: string | null;
}

/** Splits and checks `host:port[,host:port…][/chroot]` (Kafka's zookeeper.connect). */
export function parseConnectString(connectString: string): ConnectString {
  const refuse = (why: string): never => {
    throw new Error(`zookeeper.connect "${connectString}": ${why}`);
  };
  const slash = connectString.indexOf('/');
  const hosts = slash === -1 ? connectString : connectString.slice(0, slash);
  const chrootText = slash === -1 ? '' : connectString.slice(slash);
  if (hosts.length === 0) refuse('no host');
  for (const host of hosts.split(',')) {
    // The library splits each entry at ':' (no IPv6 literals).
    const parts = host.split(':');
    if (parts.length > 2 || parts[0] === '') refuse(`"${host}" is not host:port`);
    const port = parts[1];
    if (port !== undefined && (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)) refuse(`"${host}" has no valid port`);
  }
  if (chrootText === '' || chrootText === '/') return { hosts, chroot: null };
  const segments = chrootText.slice(1).split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) refuse(`chroot "${chrootText}" is not a valid ZooKeeper path`);
  return { hosts, chroot: chrootText };
}

/** node-zookeeper-client's connection manager states (ConnectionManager.STATES), internal to 1.1.3. */
const LIBRARY_STATE = { DISCONNECTED: 0, CONNECTING: 1, CONNECTED: 2, CLOSING: -1, CLOSED: -2 } as const;

/** ZooKeeper's multi result type for a failed op (jute OP_CODES.ERROR). */
const RESULT_TYPE_ERROR = -1;

type Phase =
  | 'connected'
  | 'disconnected' // the connection is lost, the session may still live
  | 'lost' // judged lost (sessionLost emitted), waiting for the server to say so
  | 'expired'
  | 'closed';

/** The library's internals this client touches (see node-zookeeper-client.d.ts); one place, so a version bump shows what to re-check. */
interface LibraryInternals {
  state: number;
  socket: import('node:net').Socket | undefined;
  packetQueue: { queue: unknown[] };
  findNextServer(callback: (server: unknown) => void): void;
  on(event: 'state', listener: (state: number) => void): unknown;
  off(event: 'state', listener: (state: number) => void): unknown;
}

/** The library's client, and whether this module has stopped it (no more connection attempts). */
interface LibraryHandle {
  readonly library: Client;
  readonly internals: LibraryInternals;
  stopped: boolean;
}

/**
 * node-zookeeper-client, loaded by the first session: an embedded broker (no zookeeper.connect)
 * never uses it, and loading it was a measurable part of every broker's start time
 * (bench/README.md, footprint).
 */
let zkLibrary: typeof ZkLibrary | null = null;

async function loadLibrary(): Promise<typeof ZkLibrary> {
  zkLibrary ??= await import('node-zookeeper-client');
  return zkLibrary;
}

function createModeOf(mode: ZkCreateMode | undefined): number {
  // Only a session's operations get here, and a session loaded the library.
  const { CreateMode } = zkLibrary!;
  switch (mode ?? 'persistent') {
    case 'persistent':
      return CreateMode.PERSISTENT;
    case 'ephemeral':
      return CreateMode.EPHEMERAL;
    case 'persistent_sequential':
      return CreateMode.PERSISTENT_SEQUENTIAL;
    case 'ephemeral_sequential':
      return CreateMode.EPHEMERAL_SEQUENTIAL;
    default:
      throw new ZkError('BAD_ARGUMENTS', `unknown create mode ${String(mode)}`);
  }
}

function toZkStat(stat: Stat): ZkStat {
  return {
    version: stat.version,
    czxid: stat.czxid.readBigInt64BE(0),
    mzxid: stat.mzxid.readBigInt64BE(0),
    pzxid: stat.pzxid.readBigInt64BE(0),
    ephemeralOwner: stat.ephemeralOwner.readBigInt64BE(0),
    numChildren: stat.numChildren,
    ctimeMs: Number(stat.ctime.readBigInt64BE(0)),
  };
}

function checkVersion(version: number, what: string): void {
  if (!Number.isInteger(version) || version < -1 || version > 0x7fffffff) {
    throw new ZkError('BAD_ARGUMENTS', `${what}: version ${version} is not -1 (any) or a znode version`);
  }
}

/** The library's error as a ZkError; anything else (an assertion on a bad path) as BAD_ARGUMENTS. */
function toZkError(error: unknown, what: string, opIndex?: number): ZkError {
  if (error instanceof ZkError) return error;
  const library = error as Partial<LibraryException> | null;
  if (library !== null && typeof library === 'object' && typeof library.code === 'number' && typeof library.name === 'string') {
    return new ZkError(library.name, `${what}: ${library.name}`, opIndex);
  }
  return new ZkError('BAD_ARGUMENTS', `${what}: ${error instanceof Error ? error.message : String(error)}`, opIndex);
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

export interface ZkClient {
  on(event: ZkClientEvent, listener: () => void): this;
  once(event: ZkClientEvent, listener: () => void): this;
  off(event: ZkClientEvent, listener: () => void): this;
  emit(event: ZkClientEvent): boolean;
}

export class ZkClient extends EventEmitter {
  /** The session id in hex, as ZooKeeper's tools print it (without 0x). */
  readonly sessionId: string;
  private readonly library: Client;
  private readonly internals: LibraryInternals;
  private readonly logger: Logger;
  private phase: Phase = 'connected';
  private lastHeardAtMs: number;
  private disconnectedAtMs = 0;
  private connectingSinceMs = 0;
  private readonly handle: LibraryHandle;
  /** Requests not answered yet, each by its function that fails it. */
  private readonly pending = new Set<(error: ZkError) => void>();
  private readonly livenessTimer: NodeJS.Timeout;
  private closing: Promise<void> | null = null;

  /**
   * Opens a session. With a chroot (`host:port/kafka`), first makes sure the chroot exists
   * (as Kafka does, through a session at the root), then opens the session inside it.
   * Rejects, naming zookeeper.connect, when no session comes within connectionTimeoutMs.
   */
  static async connect(connectString: string, options: ZkClientOptions): Promise<ZkClient> {
    const { hosts, chroot } = parseConnectString(connectString);
    if (chroot !== null) {
      const root = await ZkClient.open(hosts, options);
      try {
        await root.createPersistentPath(chroot);
      } finally {
        await root.close();
      }
    }
    return ZkClient.open(connectString, options);
  }

  /**
   * Opens a session to read what is there (an operator's tool): unlike connect, a chroot that
   * does not exist is not created, and reads under it find nothing.
   */
  static connectToRead(connectString: string, options: ZkClientOptions): Promise<ZkClient> {
    parseConnectString(connectString);
    return ZkClient.open(connectString, options);
  }

  private static async open(connectString: string, options: ZkClientOptions): Promise<ZkClient> {
    const { createClient } = await loadLibrary();
    const library = createClient(connectString, {
      sessionTimeout: options.sessionTimeoutMs,
      spinDelay: limits.zookeeperReconnectSpinDelayMs,
      retries: 0,
    });
    const internals = library.connectionManager as unknown as LibraryInternals;
    const handle: LibraryHandle = { library, internals, stopped: false };
    // The library schedules each connection attempt (up to spinDelay ahead); one scheduled
    // before we stop it would open a socket, and a new session, after we are gone.
    const findNextServer = internals.findNextServer.bind(internals);
    internals.findNextServer = (callback) =>
      findNextServer((server) => {
        if (!handle.stopped) callback(server);
      });
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        library.off('connected', onConnected);
        library.off('expired', onRefused);
        library.off('authenticationFailed', onRefused);
      };
      const giveUp = (why: string): void => {
        settle();
        ZkClient.stopLibrary(handle);
        reject(new Error(`could not open a ZooKeeper session at ${connectString} (zookeeper.connect): ${why}`));
      };
      const onConnected = (): void => {
        settle();
        resolve(new ZkClient(handle, connectString, options.logger));
      };
      const onRefused = (): void => giveUp('the server refused the session');
      const timer = setTimeout(() => giveUp(`no session within ${options.connectionTimeoutMs} ms (zookeeper.connection.timeout.ms)`), options.connectionTimeoutMs);
      library.on('connected', onConnected);
      library.on('expired', onRefused);
      library.on('authenticationFailed', onRefused);
      library.connect();
    });
  }

  /** Makes the library open no more connections and drops the one it has (its own close() needs a live connection to mean anything). */
  private static stopLibrary(handle: LibraryHandle): void {
    handle.stopped = true;
    const state = handle.internals.state;
    if (state === LIBRARY_STATE.CONNECTING || state === LIBRARY_STATE.CONNECTED || state === LIBRARY_STATE.DISCONNECTED) {
      // CLOSING makes the library's socket-closed handler stop rather than reconnect.
      if (handle.internals.socket !== undefined) handle.library.close();
    }
    handle.internals.socket?.destroy();
  }

  private constructor(handle: LibraryHandle, connectString: string, logger: Logger) {
    super();
    const library = handle.library;
    this.handle = handle;
    this.library = library;
    this.internals = handle.internals;
    this.logger = logger;
    this.sessionId = library.getSessionId().toString('hex');
    this.lastHeardAtMs = performance.now();
    this.listenToSocket();
    library.on('connected', () => this.onLibraryConnected());
    library.on('disconnected', () => this.onLibraryDisconnected());
    library.on('expired', () => this.onLibraryExpired());
    this.internals.on('state', (state) => {
      if (state === LIBRARY_STATE.CONNECTING) this.connectingSinceMs = performance.now();
    });
    this.livenessTimer = setInterval(() => this.checkLiveness(), limits.zookeeperLivenessCheckIntervalMs);
    this.livenessTimer.unref();
    this.logger.info(`ZooKeeper session 0x${this.sessionId} open at ${connectString}, timeout ${this.sessionTimeoutMs} ms`);
  }

  get connected(): boolean {
    return this.phase === 'connected';
  }

  /** The session timeout the server granted. */
  get sessionTimeoutMs(): number {
    return this.library.getSessionTimeout();
  }

  /** Java's ClientCnxn: a connection silent for two thirds of the session timeout is dead (pings go every third). */
  private get readTimeoutMs(): number {
    return Math.floor((this.sessionTimeoutMs * 2) / 3);
  }

  create(path: string, data: Buffer | null, mode?: ZkCreateMode): Promise<string> {
    return this.request(`create ${path}`, (done) => this.library.create(path, data, createModeOf(mode), done));
  }

  /** mkdir -p: creates the path and its missing parents (persistent, no data but the last's); an existing node is fine. */
  async createPersistentPath(path: string, data: Buffer | null = null): Promise<void> {
    try {
      await this.create(path, data, 'persistent');
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NODE_EXISTS') return;
      if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
      await this.createPersistentPath(parentOf(path));
      try {
        await this.create(path, data, 'persistent');
      } catch (again) {
        if (!(again instanceof ZkError && again.code === 'NODE_EXISTS')) throw again;
      }
    }
  }

  /** The node's data and stat, or null when there is none. A watch is set only on a node that exists (ZooKeeper's rule; use exists to watch for a creation). */
  async getData(path: string, watch?: () => void): Promise<{ data: Buffer | null; stat: ZkStat } | null> {
    try {
      return await this.request(`getData ${path}`, (done: (error: LibraryException | null, value?: { data: Buffer | null; stat: ZkStat }) => void) =>
        this.library.getData(path, this.watcher(watch), (error, data, stat) =>
          error ? done(error) : done(null, { data: data ?? null, stat: toZkStat(stat) }),
        ),
      );
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') return null;
      throw error;
    }
  }

  /** The node's stat, or null; a watch fires on its creation, change or deletion. */
  exists(path: string, watch?: () => void): Promise<ZkStat | null> {
    return this.request(`exists ${path}`, (done: (error: LibraryException | null, value?: ZkStat | null) => void) =>
      this.library.exists(path, this.watcher(watch), (error, stat) => (error ? done(error) : done(null, stat === null ? null : toZkStat(stat)))),
    );
  }

  /** The children's names (unordered, as ZooKeeper gives them), or null when there is no node. */
  async getChildren(path: string, watch?: () => void): Promise<string[] | null> {
    try {
      return await this.request(`getChildren ${path}`, (done: (error: LibraryException | null, value?: string[]) => void) =>
        this.library.getChildren(path, this.watcher(watch), (error, children) => (error ? done(error) : done(null, children))),
      );
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') return null;
      throw error;
    }
  }

  async setData(path: string, data: Buffer, version: number): Promise<ZkStat> {
    checkVersion(version, `setData ${path}`);
    return this.request(`setData ${path}`, (done: (error: LibraryException | null, value?: ZkStat) => void) =>
      this.library.setData(path, data, version, (error, stat) => (error ? done(error) : done(null, toZkStat(stat)))),
    );
  }

  async remove(path: string, version: number): Promise<void> {
    checkVersion(version, `remove ${path}`);
    return this.request(`remove ${path}`, (done) => this.library.remove(path, version, done));
  }

  /** Removes the node and everything under it; a node already gone is fine. Starts over when a child appears meanwhile. */
  async removeRecursive(path: string): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.removeTree(path);
        return;
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NOT_EMPTY') || attempt >= limits.zookeeperRemoveRecursiveAttemptsMax) throw error;
      }
    }
  }

  private async removeTree(path: string): Promise<void> {
    const children = await this.getChildren(path);
    if (children === null) return;
    for (const child of children) await this.removeTree(path === '/' ? `/${child}` : `${path}/${child}`);
    try {
      await this.remove(path, -1);
    } catch (error) {
      if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
    }
  }

  /**
   * All or nothing. On failure a ZkError with the failing op's code, and its index when the
   * server reported per-op results.
   */
  async multi(ops: readonly ZkOp[]): Promise<void> {
    if (ops.length === 0) return;
    const transaction = this.library.transaction();
    try {
      for (const op of ops) {
        if (op.op === 'create') {
          transaction.create(op.path, op.data, createModeOf(op.mode));
          continue;
        }
        checkVersion(op.version, `multi ${op.op} ${op.path}`);
        if (op.op === 'setData') transaction.setData(op.path, op.data, op.version);
        else if (op.op === 'check') transaction.check(op.path, op.version);
        else transaction.remove(op.path, op.version);
        // node-zookeeper-client 1.1.3 bug: Transaction.check, setData and remove begin with
        // `version = version || -1`, so an expected version 0 is sent as -1, "any version".
        // A freshly created znode is at version 0, so the first fenced write to it would not
        // be fenced. The op it pushed is plain data: put the caller's version back.
        const pushed = transaction.ops[transaction.ops.length - 1];
        if (pushed === undefined || pushed.path !== op.path) {
          throw new Error(`node-zookeeper-client's Transaction did not push ${op.op} ${op.path} as its last op (found ${pushed?.path}); the version-0 workaround no longer fits this library version`);
        }
        pushed.version = op.version;
      }
    } catch (error) {
      throw toZkError(error, 'multi');
    }
    await this.request('multi', (done: (error: LibraryException | ZkError | null) => void) =>
      transaction.commit((error, results) => {
        if (!error) {
          done(null);
          return;
        }
        const opIndex = results?.findIndex((result: TransactionResult) => result.type === RESULT_TYPE_ERROR && result.err !== 0);
        const failed = opIndex !== undefined && opIndex >= 0 ? ops[opIndex] : undefined;
        done(toZkError(error, failed === undefined ? 'multi' : `multi op ${opIndex} (${failed.op} ${failed.path})`, failed === undefined ? undefined : opIndex));
      }),
    );
  }

  /** Closes the session, so its ephemeral nodes go at once. Bounded: if the server does not confirm within limits.zookeeperCloseTimeoutMs, or the client is not connected, the connection is dropped and the session left to expire. */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.closeSession();
    return this.closing;
  }

  private async closeSession(): Promise<void> {
    const wasLive = this.phase === 'connected';
    if (this.phase !== 'expired') this.phase = 'closed';
    clearInterval(this.livenessTimer);
    this.failPending(new ZkError('CONNECTION_LOSS', `ZooKeeper session 0x${this.sessionId} closed by its owner`));
    if (wasLive) await this.sendCloseSession();
    this.stop();
  }

  /** Sends CloseSession and waits, bounded, for the server to answer it (it then closes the connection). */
  private sendCloseSession(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.internals.off('state', onState);
        resolve();
      };
      const onState = (state: number): void => {
        if (state === LIBRARY_STATE.CLOSED) done();
      };
      const timer = setTimeout(() => {
        this.logger.warn(`ZooKeeper session 0x${this.sessionId}: no answer to CloseSession within ${limits.zookeeperCloseTimeoutMs} ms; dropping the connection (the session expires by itself)`);
        done();
      }, limits.zookeeperCloseTimeoutMs);
      this.internals.on('state', onState);
      this.library.close();
    });
  }

  private stop(): void {
    clearInterval(this.livenessTimer);
    if (!this.handle.stopped) ZkClient.stopLibrary(this.handle);
  }

  /** Runs a library call, failing it with the library's error as a ZkError; refused at once once the session is finished. */
  private request<T>(what: string, start: (done: (error: LibraryException | ZkError | null | undefined, value?: T) => void) => void): Promise<T> {
    if (this.phase === 'lost' || this.phase === 'expired') {
      return Promise.reject(new ZkError('SESSION_EXPIRED', `${what}: ZooKeeper session 0x${this.sessionId} is lost`));
    }
    if (this.phase === 'closed') return Promise.reject(new ZkError('CONNECTION_LOSS', `${what}: ZooKeeper session 0x${this.sessionId} is closed`));
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: ZkError): void => {
        if (settled) return;
        settled = true;
        this.pending.delete(fail);
        reject(error);
      };
      this.pending.add(fail);
      try {
        start((error, value) => {
          if (settled) return;
          settled = true;
          this.pending.delete(fail);
          if (error) reject(toZkError(error, what));
          else resolve(value as T);
        });
      } catch (error) {
        // The library asserts its arguments (a path not starting with '/', data over 1 MiB) synchronously.
        fail(toZkError(error, what));
      }
    });
  }

  /** A watch as the library wants it: called once, outside the library's socket handler, so a throwing watch is a loud bug and not a corrupted connection. */
  private watcher(watch: (() => void) | undefined): (() => void) | undefined {
    if (watch === undefined) return undefined;
    return () => queueMicrotask(watch);
  }

  private failPending(error: ZkError): void {
    for (const fail of [...this.pending]) fail(error);
  }

  private listenToSocket(): void {
    this.internals.socket?.on('data', () => {
      this.lastHeardAtMs = performance.now();
    });
  }

  private onLibraryConnected(): void {
    if (this.phase === 'closed' || this.phase === 'expired') return;
    this.lastHeardAtMs = performance.now();
    this.listenToSocket();
    if (this.phase === 'lost') {
      // The server still knew a session judged lost by time: end it, so its ephemerals go
      // and the owner, who already stopped acting on it, starts over with a new one.
      this.logger.warn(`ZooKeeper session 0x${this.sessionId} was still alive on reconnect after being judged lost; closing it`);
      void this.sendCloseSession().then(() => this.expire());
      return;
    }
    this.phase = 'connected';
    this.logger.info(`ZooKeeper session 0x${this.sessionId} reconnected`);
    this.emit('connected');
  }

  private onLibraryDisconnected(): void {
    if (this.phase !== 'connected') return; // already judged by the read timeout, or finished
    this.connectionLost(performance.now(), 'the connection closed');
  }

  private onLibraryExpired(): void {
    if (this.phase === 'closed' || this.phase === 'expired') return;
    this.sessionLost('the server expired it');
    this.expire();
  }

  private connectionLost(atMs: number, why: string): void {
    this.phase = 'disconnected';
    this.disconnectedAtMs = atMs;
    this.logger.warn(`ZooKeeper session 0x${this.sessionId}: ${why}; reconnecting (the session is lost if this lasts ${this.sessionTimeoutMs} ms)`);
    this.emit('disconnected');
  }

  private sessionLost(why: string): void {
    if (this.phase === 'lost') return;
    this.phase = 'lost';
    // Requests queued for the next connection must not reach the server under a session we
    // have given up on (it may yet know it): drop them and fail them.
    this.internals.packetQueue.queue.length = 0;
    this.failPending(new ZkError('SESSION_EXPIRED', `ZooKeeper session 0x${this.sessionId} is lost: ${why}`));
    this.logger.warn(`ZooKeeper session 0x${this.sessionId} is lost: ${why}`);
    this.emit('sessionLost');
  }

  private expire(): void {
    if (this.phase === 'expired' || this.closing !== null) return;
    this.phase = 'expired';
    this.stop();
    this.logger.warn(`ZooKeeper session 0x${this.sessionId} expired; this client is finished`);
    this.emit('expired');
  }

  private checkLiveness(): void {
    const nowMs = performance.now();
    if (this.phase === 'connected') {
      if (nowMs - this.lastHeardAtMs < this.readTimeoutMs) return;
      // Counted from when the server was last heard: that is when it may have stopped counting us alive.
      this.connectionLost(this.lastHeardAtMs, `no answer from the server for ${Math.round(nowMs - this.lastHeardAtMs)} ms`);
      this.internals.socket?.destroy();
      return;
    }
    if (this.phase === 'disconnected' && nowMs - this.disconnectedAtMs >= this.sessionTimeoutMs) {
      this.sessionLost(`disconnected for ${Math.round(nowMs - this.disconnectedAtMs)} ms, the session timeout is ${this.sessionTimeoutMs} ms`);
    }
    if ((this.phase === 'disconnected' || this.phase === 'lost') && this.internals.state === LIBRARY_STATE.CONNECTING) {
      // The library bounds the TCP connect but not the handshake: a server that accepted the
      // connection and does not answer (paused) would hold it, and the other servers untried.
      if (nowMs - this.connectingSinceMs >= this.readTimeoutMs) {
        this.connectingSinceMs = nowMs;
        this.internals.socket?.destroy();
      }
    }
  }
}
