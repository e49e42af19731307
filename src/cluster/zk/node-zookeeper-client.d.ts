// Types for the parts of node-zookeeper-client 1.1.3 that zk-client.ts uses, and nothing else.
// The package ships none. DefinitelyTyped's @types/node-zookeeper-client describes the public
// API only; zk-client.ts also reads a few internals of this exact version (the pinned one):
// Transaction.ops (the version-0 workaround) and the connection manager's socket, state and
// packet queue (session liveness judged by time). They are declared here, marked internal, so
// a version bump that moves them fails to compile or fails zk-client's tests, not silently.

declare module 'node-zookeeper-client' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  /** The library's error: `code` is ZooKeeper's numeric code, `name` its constant's name (NO_NODE …). */
  export interface LibraryException extends Error {
    readonly code: number;
    readonly name: string;
    readonly path?: string;
    getCode(): number;
    getName(): string;
  }

  export const Exception: {
    readonly OK: 0;
    readonly CONNECTION_LOSS: -4;
    readonly NO_NODE: -101;
    readonly BAD_VERSION: -103;
    readonly NODE_EXISTS: -110;
    readonly NOT_EMPTY: -111;
    readonly SESSION_EXPIRED: -112;
    readonly [name: string]: number | ((...args: never[]) => unknown);
  };

  export const CreateMode: {
    readonly PERSISTENT: 0;
    readonly EPHEMERAL: 1;
    readonly PERSISTENT_SEQUENTIAL: 2;
    readonly EPHEMERAL_SEQUENTIAL: 3;
  };

  /** ZooKeeper's Stat as the library decodes it: 64-bit fields are 8-byte big-endian Buffers. */
  export interface Stat {
    readonly czxid: Buffer;
    readonly mzxid: Buffer;
    readonly ctime: Buffer;
    readonly mtime: Buffer;
    readonly version: number;
    readonly cversion: number;
    readonly aversion: number;
    readonly ephemeralOwner: Buffer;
    readonly dataLength: number;
    readonly numChildren: number;
    readonly pzxid: Buffer;
  }

  export interface WatcherEvent {
    readonly type: number;
    readonly name: string;
    readonly path: string;
  }

  /** One op of a multi as Transaction pushes it (internal, plain data; read by the version-0 workaround). */
  export interface TransactionOp {
    type: number;
    path: string;
    data?: Buffer | null;
    version?: number;
    mode?: number;
  }

  export interface TransactionResult {
    readonly type: number;
    readonly path?: string;
    readonly stat?: Stat;
    readonly err?: number;
  }

  export interface Transaction {
    /** Internal: the ops in order, pushed by create/check/setData/remove. */
    readonly ops: TransactionOp[];
    create(path: string, data: Buffer | null | undefined, mode: number): Transaction;
    check(path: string, version: number): Transaction;
    setData(path: string, data: Buffer, version: number): Transaction;
    remove(path: string, version: number): Transaction;
    commit(callback: (error: LibraryException | null | undefined, results?: TransactionResult[]) => void): void;
  }

  /** Internal: the connection manager (ConnectionManager.js). */
  export interface ConnectionManager extends EventEmitter {
    /** The current socket; replaced on every (re)connect attempt. */
    readonly socket: Socket | undefined;
    /** Internal: requests written or waiting to be written once connected. */
    readonly packetQueue: { queue: unknown[] };
  }

  export interface Client extends EventEmitter {
    readonly connectionManager: ConnectionManager;
    connect(): void;
    close(): void;
    getSessionId(): Buffer;
    /** The session timeout the server granted (the requested one until connected). */
    getSessionTimeout(): number;
    create(path: string, data: Buffer | null | undefined, mode: number, callback: (error: LibraryException | null, path: string) => void): void;
    remove(path: string, version: number, callback: (error: LibraryException | null) => void): void;
    setData(path: string, data: Buffer, version: number, callback: (error: LibraryException | null, stat: Stat) => void): void;
    getData(path: string, watcher: ((event: WatcherEvent) => void) | undefined, callback: (error: LibraryException | null, data: Buffer | undefined, stat: Stat) => void): void;
    exists(path: string, watcher: ((event: WatcherEvent) => void) | undefined, callback: (error: LibraryException | null, stat: Stat | null) => void): void;
    getChildren(path: string, watcher: ((event: WatcherEvent) => void) | undefined, callback: (error: LibraryException | null, children: string[], stat: Stat) => void): void;
    transaction(): Transaction;
  }

  export function createClient(connectionString: string, options: { sessionTimeout: number; spinDelay?: number; retries?: number }): Client;
}
