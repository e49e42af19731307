// The broker's HTTP listeners (http.listeners) behind a small interface of our own: routes are
// registered by method and path, and a route answers a request with a status, headers and a
// body. Nothing outside this file touches node:http, so the implementation can be swapped
// (uWebSockets.js is being measured against node:http + ws for the WebSocket endpoint, issue 16)
// and the WebSocket endpoint and the admin API can be added as routes of the same server.
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
//   a request body is never read (the routes so far are GETs; a request with a body is answered
//   and its connection closed).

import { constants as cryptoConstants } from 'node:crypto';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
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
  route(method: 'GET', path: string, handler: RouteHandler): void;
  /** Binds every listener (port 0: a free one), or fails naming http.listeners after closing those bound. */
  listen(listeners: readonly HttpListener[], tls: TlsSettings | null): Promise<readonly BoundHttpListener[]>;
  /** Stops accepting, ends idle connections, and resolves once every listener is closed. */
  close(): Promise<void>;
}

/** The node:http / node:https implementation. */
export class NodeHttpServer implements HttpServer {
  private readonly routes = new Map<string, RouteHandler>();
  private readonly servers: Server[] = [];
  /** Key and trust store files watched for a new certificate (https listeners). */
  private readonly watched: { readonly file: string; readonly listener: (now: Stats, before: Stats) => void }[] = [];

  constructor(private readonly logger: Logger) {}

  route(method: 'GET', path: string, handler: RouteHandler): void {
    const key = `${method} ${path}`;
    if (this.routes.has(key)) throw new Error(`HTTP route ${key} registered twice`);
    this.routes.set(key, handler);
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

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://spate');
    const handler = this.routes.get(`${request.method} ${url.pathname}`);
    let answer: HttpResponse;
    if (handler === undefined) {
      answer = { status: this.knownPath(url.pathname) ? 405 : 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'not found\n' };
    } else {
      try {
        answer = await handler({ method: request.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: request.headers });
      } catch (error) {
        // A route that throws is a broker bug: logged loudly, answered 500, the broker goes on.
        this.logger.error(`HTTP ${request.method} ${url.pathname} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        answer = { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'internal error\n' };
      }
    }
    // GET requests have no body; one that sends a body is not read, so its connection cannot be reused.
    const unreadBody = (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0') || request.headers['transfer-encoding'] !== undefined;
    response.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)), ...(unreadBody ? { connection: 'close' } : {}) });
    response.end(answer.body);
  }

  private knownPath(path: string): boolean {
    for (const key of this.routes.keys()) if (key.endsWith(` ${path}`)) return true;
    return false;
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
