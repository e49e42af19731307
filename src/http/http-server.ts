// The broker's HTTP listeners (http.listeners) behind a small interface of our own: routes are
// registered by method and path, and a route answers a request with a status, headers and a
// body; a WebSocket route is handed each socket as an HttpWebSocket. Nothing outside this
// file and uws-server.ts (the uWebSockets.js implementation, http.server=uws) touches a server
// library, so the routes (/metrics, the admin API, the WebSocket endpoint) serve on either; the
// route matching both use is RouteTable's.
//
// - One node:http (or node:https) server per listener; https uses the broker's ssl.* keys
//   (security/tls.ts secureContextOptions), with renegotiation refused as on the Kafka listeners,
//   and the key store files checked every limits.tlsFileCheckIntervalMs: a new certificate
//   reaches the connections that arrive from then on (files that do not make a valid context
//   leave the old one, logged), as the SSL listeners rotate theirs.
// - A listener that cannot be bound fails the start with a ConfigError naming http.listeners,
//   and the listeners already bound are closed.
// - Bounded: at most limits.httpConnectionsMax connections per listener (Node's maxConnections:
//   more are refused at accept), a request must arrive within limits.httpRequestTimeoutMs, and
//   a body is read only for the methods that carry one (POST, PUT, PATCH, DELETE), up to
//   limits.httpBodyBytesMax (413 past it, and the connection closed); a GET's body is never
//   read and its connection is closed after the answer.
// - Routes match by method and path; a path segment written `:name` matches any one segment,
//   given to the handler in `params` (URL-decoded).
// - WebSockets (`websocket(path, …)`) with the `ws` package on the same listeners: at most
//   limits.wsConnectionsMax at once (more are answered 503 at the upgrade), messages of at most
//   limits.wsMessageBytesMax, the subprotocol chosen by the route.

import { constants as cryptoConstants } from 'node:crypto';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ConfigError, type HttpListener, type TlsSettings } from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import { secureContextOptions } from '../security/tls.js';

export interface HttpRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The route's `:name` segments, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The request's body (empty for a GET). */
  readonly body: Buffer;
  /** Whether it came over TLS (an https listener). */
  readonly secure: boolean;
  /** The peer's IP address. */
  readonly remoteAddress: string;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What a WebSocket route uses of an accepted socket, whichever server accepted it: `ws`'s
 * WebSocket fits it as it is (NodeHttpServer), UwsHttpServer adapts uWebSockets.js's.
 * - `send`'s callback runs once the frame has left the server's buffer (with an error when the
 *   socket closed first); `bufferedAmount` is the bytes sent but not yet handed to the kernel.
 * - `close(code, reason)` starts the closing handshake; 'close' is emitted once, whoever closed.
 */
export interface HttpWebSocket {
  /** The subprotocol the route chose ('' for none). */
  readonly protocol: string;
  readonly bufferedAmount: number;
  send(data: string | Buffer, callback?: (error?: Error) => void): void;
  send(data: Buffer, options: { binary: true }, callback?: (error?: Error) => void): void;
  close(code: number, reason: string): void;
  /** Stops reading the client's messages (its sends back up in TCP), until resume(). */
  pause(): void;
  resume(): void;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

/** A WebSocket route: given each accepted socket and the upgrade request (its body empty). */
export type WebSocketHandler = (socket: HttpWebSocket, request: HttpRequest) => void;

export interface WebSocketRoute {
  /** The subprotocol to accept among those the client offers (none offered: undefined is passed); false refuses the upgrade. */
  readonly protocol: (offered: ReadonlySet<string>) => string | false | undefined;
  readonly handler: WebSocketHandler;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

export type RouteHandler = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;

export interface BoundHttpListener {
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly port: number;
}

/** What the broker needs of an HTTP server, whichever implementation serves it. */
export interface HttpServer {
  /** Registers a route; a method and path registered twice is a broker bug. */
  route(method: HttpMethod, path: string, handler: RouteHandler): void;
  /** Registers a WebSocket route (GET with Upgrade: websocket). */
  websocket(path: string, route: WebSocketRoute): void;
  /** Binds every listener (port 0: a free one), or fails naming http.listeners after closing those bound. */
  listen(listeners: readonly HttpListener[], tls: TlsSettings | null): Promise<readonly BoundHttpListener[]>;
  /** Stops accepting, ends idle connections, and resolves once every listener is closed. */
  close(): Promise<void>;
}

/** A registered route (both implementations keep theirs in a `RouteTable`). */
interface Route {
  readonly method: HttpMethod;
  /** The path's segments; one starting with ':' matches any segment. */
  readonly segments: readonly string[];
  readonly handler: RouteHandler;
}

/** The methods whose body is read (up to limits.httpBodyBytesMax). */
export const METHODS_WITH_BODY: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Routes by method and path, `:name` segments matching any one segment: the matching both servers share. */
export class RouteTable {
  private readonly routes: Route[] = [];

  add(method: HttpMethod, path: string, handler: RouteHandler): void {
    const segments = path.split('/');
    if (this.routes.some((route) => route.method === method && route.segments.join('/') === path)) throw new Error(`HTTP route ${method} ${path} registered twice`);
    this.routes.push({ method, segments, handler });
  }

  /** The route for a method and path, with its `:name` segments (URL-decoded); null when none matches. */
  match(method: string, path: string): { readonly handler: RouteHandler; readonly params: Record<string, string> } | null {
    const segments = path.split('/');
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let matched = true;
      for (let index = 0; index < segments.length && matched; index++) {
        const expected = route.segments[index]!;
        const actual = segments[index]!;
        if (expected.startsWith(':') && actual !== '') {
          try {
            params[expected.slice(1)] = decodeURIComponent(actual);
          } catch {
            matched = false; // malformed percent-encoding
          }
        } else if (expected !== actual) {
          matched = false;
        }
      }
      if (matched) return { handler: route.handler, params };
    }
    return null;
  }

  /** The answer when nothing matches: 405 for a path some other method serves, else 404. */
  unmatched(path: string): HttpResponse {
    const known = this.routes.some((route) => this.match(route.method, path) !== null);
    return { status: known ? 405 : 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'not found\n' };
  }
}

/** The node:http / node:https implementation. */

export class NodeHttpServer implements HttpServer {
  private readonly routes = new RouteTable();
  private readonly websockets = new Map<string, WebSocketRoute>();
  /** Created with the first WebSocket route; shared by every listener. */
  private webSocketServer: WebSocketServer | null = null;
  private readonly servers: Server[] = [];
  /** Each connection's requests being served and those waiting their turn (see serve). */
  private readonly connectionTurns = new WeakMap<object, { active: number; readonly waiting: (() => void)[]; paused: boolean }>();
  /** Key and trust store files watched for a new certificate (https listeners). */
  private readonly watched: { readonly file: string; readonly listener: (now: Stats, before: Stats) => void }[] = [];

  constructor(private readonly logger: Logger) {}

  route(method: HttpMethod, path: string, handler: RouteHandler): void {
    this.routes.add(method, path, handler);
  }

  websocket(path: string, route: WebSocketRoute): void {
    if (this.websockets.has(path)) throw new Error(`WebSocket route ${path} registered twice`);
    this.websockets.set(path, route);
    this.webSocketServer ??= new WebSocketServer({
      noServer: true,
      maxPayload: limits.wsMessageBytesMax,
      clientTracking: true,
      perMessageDeflate: false,
      handleProtocols: (offered, request) => {
        const chosen = this.websockets.get(new URL(request.url ?? '/', 'http://spate').pathname)?.protocol(offered);
        return chosen === undefined ? false : chosen;
      },
    });
  }

  async listen(listeners: readonly HttpListener[], tls: TlsSettings | null): Promise<readonly BoundHttpListener[]> {
    const bound: BoundHttpListener[] = [];
    try {
      for (const listener of listeners) {
        const serve = (request: IncomingMessage, response: ServerResponse): void => void this.serve(request, response);
        const options = { requestTimeout: limits.httpRequestTimeoutMs, headersTimeout: limits.httpRequestTimeoutMs, keepAliveTimeout: 5_000 };
        const server =
          listener.scheme === 'https'
            ? this.watchFiles(createHttpsServer({ ...options, ...secureContextOptions(tls!), secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION }, serve), tls!)
            : createHttpServer(options, serve);
        server.maxConnections = limits.httpConnectionsMax;
        this.servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(listener.port, listener.host === '' ? undefined : listener.host, () => {
            server.off('error', reject);
            resolve();
          });
        }).catch((error: unknown) => {
          throw new ConfigError('http.listeners', `cannot listen on ${listener.scheme}://${listener.host}:${listener.port}: ${(error as Error).message}`);
        });
        server.on('error', (error) => this.logger.error(`HTTP listener ${listener.scheme}://${listener.host}:${listener.port}: ${error.message}`));
        server.on('clientError', (error, socket) => {
          this.logger.debug(`HTTP client error: ${error.message}`);
          socket.destroy();
        });
        server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head, listener.scheme === 'https'));
        const address = server.address();
        const port = typeof address === 'object' && address !== null ? address.port : listener.port;
        bound.push({ scheme: listener.scheme, host: listener.host, port });
        this.logger.info(`HTTP listening on ${listener.scheme}://${listener.host}:${port}`);
      }
    } catch (error) {
      await this.close();
      throw error;
    }
    return bound;
  }

  /**
   * Pipelined requests (HTTP/1.1) of one connection are served limits.httpRequestsInFlightPerConnectionMax
   * at a time; while more wait, the connection is not read, and past limits.httpRequestsQueuedPerConnectionMax
   * waiting it is closed. Node parses and hands over every request it has read, so without this
   * one connection could start any number of logins (a password check on the thread pool and a
   * failed-login delay each) with one write.
   */
  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const socket = request.socket;
    let turns = this.connectionTurns.get(socket);
    if (turns === undefined) {
      turns = { active: 0, waiting: [], paused: false };
      this.connectionTurns.set(socket, turns);
    }
    if (turns.active >= limits.httpRequestsInFlightPerConnectionMax) {
      if (turns.waiting.length >= limits.httpRequestsQueuedPerConnectionMax) {
        // Node goes on parsing what the socket brings whether or not it is paused.
        this.logger.debug(`HTTP client ${socket.remoteAddress}: closed, over ${limits.httpRequestsQueuedPerConnectionMax} pipelined requests waiting (limits.httpRequestsQueuedPerConnectionMax)`);
        socket.destroy();
        return;
      }
      if (!turns.paused) socket.pause();
      turns.paused = true;
      await new Promise<void>((resolve) => turns.waiting.push(resolve));
    }
    turns.active++;
    try {
      // A request that waited on a connection since closed is not served.
      if (!socket.destroyed) await this.serveRequest(request, response);
    } finally {
      turns.active--;
      const next = turns.waiting.shift();
      if (next !== undefined) next();
      else if (turns.paused) {
        turns.paused = false;
        socket.resume();
      }
    }
  }

  private async serveRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://spate');
    const method = request.method ?? 'GET';
    const hasBody = (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0') || request.headers['transfer-encoding'] !== undefined;
    let body: Buffer = Buffer.alloc(0);
    if (hasBody && METHODS_WITH_BODY.has(method)) {
      const read = await readBody(request, limits.httpBodyBytesMax);
      if (read === null) {
        this.answer(response, { status: 413, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `request body over ${limits.httpBodyBytesMax} bytes\n` }, true);
        return;
      }
      body = read;
    }
    const matched = this.routes.match(method, url.pathname);
    let answer: HttpResponse;
    if (matched === null) {
      answer = this.routes.unmatched(url.pathname);
    } else {
      try {
        answer = await matched.handler(this.requestOf(request, url, matched.params, body));
      } catch (error) {
        // A route that throws is a broker bug: logged loudly, answered 500, the broker goes on.
        this.logger.error(`HTTP ${method} ${url.pathname} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        answer = { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'internal error\n' };
      }
    }
    // A body that was not read (a GET's) leaves the connection unusable for another request.
    this.answer(response, answer, hasBody && !METHODS_WITH_BODY.has(method));
  }

  private answer(response: ServerResponse, answer: HttpResponse, close: boolean): void {
    if (response.headersSent || response.destroyed) return;
    response.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)), ...(close ? { connection: 'close' } : {}) });
    response.end(answer.body);
  }

  private requestOf(request: IncomingMessage, url: URL, params: Record<string, string>, body: Buffer): HttpRequest {
    return {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: request.headers,
      params,
      body,
      secure: 'encrypted' in request.socket && request.socket.encrypted === true,
      remoteAddress: request.socket.remoteAddress ?? '',
    };
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): void {
    const url = new URL(request.url ?? '/', 'http://spate');
    const route = this.websockets.get(url.pathname);
    const refuse = (status: number, reason: string): void => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (route === undefined || this.webSocketServer === null || request.method !== 'GET') return refuse(404, 'Not Found');
    if (this.webSocketServer.clients.size >= limits.wsConnectionsMax) {
      this.logger.debug(`WebSocket ${url.pathname} from ${request.socket.remoteAddress}: refused, ${limits.wsConnectionsMax} connections (limits.wsConnectionsMax) open`);
      return refuse(503, 'Service Unavailable');
    }
    const server = this.webSocketServer;
    server.handleUpgrade(request, socket, head, (webSocket) => {
      const httpRequest = { ...this.requestOf(request, url, {}, Buffer.alloc(0)), secure };
      try {
        route.handler(webSocket, httpRequest);
      } catch (error) {
        this.logger.error(`WebSocket ${url.pathname} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        webSocket.close(1011, 'internal error');
      }
    });
  }

  /** Rotation: a changed key or trust store file gives connections from then on a new context. */
  private watchFiles(server: HttpsServer, tls: TlsSettings): HttpsServer {
    for (const file of [tls.keystoreLocation, tls.truststoreLocation]) {
      if (file === null) continue;
      const listener = (now: Stats, before: Stats): void => {
        if (now.mtimeMs === before.mtimeMs || !server.listening) return;
        try {
          server.setSecureContext({ ...secureContextOptions(tls), secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION });
          this.logger.info(`HTTPS: ${file} changed; new connections get its certificate`);
        } catch (error) {
          this.logger.error(`HTTPS: ${file} changed, but the TLS files do not make a valid context; keeping the previous one (${(error as Error).message})`);
        }
      };
      // Only this listener is removed at close: the SSL listeners may watch the same key store.
      this.watched.push({ file, listener });
      watchFile(file, { persistent: false, interval: limits.tlsFileCheckIntervalMs }, listener);
    }
    return server;
  }

  async close(): Promise<void> {
    for (const { file, listener } of this.watched.splice(0)) unwatchFile(file, listener);
    if (this.webSocketServer !== null) {
      for (const client of this.webSocketServer.clients) client.close(1001, 'the broker is shutting down');
      // Sockets that do not finish the closing handshake at once are cut.
      for (const client of this.webSocketServer.clients) setTimeout(() => client.terminate(), 1_000).unref();
    }
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            if (!server.listening) return resolve();
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }
}

/** The body, or null once it passes `max` bytes (the rest is not read). */
function readBody(request: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > max) {
        request.off('data', onData);
        request.pause();
        resolve(null);
        return;
      }
      parts.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve(bytes > max ? null : Buffer.concat(parts)));
    request.once('error', () => resolve(null));
  });
}
