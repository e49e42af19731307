// The broker's HTTP listeners on uWebSockets.js (`@trufflesuite/uws-js-unofficial`, its native
// binary): the second implementation of `HttpServer` (http-server.ts), chosen with
// http.server=uws. http-side.ts imports this module lazily, so a Node whose ABI the package has
// no binary for (it ships Node 16, 18 and 20's) falls back to NodeHttpServer.
//
// The same behaviour as NodeHttpServer where uWS allows it, and where it does not:
// - Routes: the same RouteTable (http-server.ts), so `:name` matching, 404 and 405 are identical.
//   Every answer closes its connection: uWS cannot list or close idle keep-alive connections, so
//   a connection that outlived close() would keep the listener's port and the process alive.
// - Bodies as NodeHttpServer reads them (only POST, PUT, PATCH, DELETE), up to
//   limits.httpBodyBytesMax (413, the connection closed), within limits.httpRequestTimeoutMs
//   (408). uWS answers a request whose headers do not arrive within its own 10 s itself.
// - limits.httpConnectionsMax bounds the requests being answered at once (503 past it): uWS
//   accepts every connection and has no hook at accept to refuse one.
// - https: SSLApp with the broker's ssl.keystore.* keys, checked by secureContextOptions as
//   NodeHttpServer's are; uWS reads a key and a certificate from files only, so the key and its
//   chain are written, whether they came from a PEM file or from ssl.keystore.key, to a private
//   temporary directory (0700, files 0600, removed at close). A PKCS12 key store is refused
//   naming ssl.keystore.type (uWS reads PEM only). Not served: rotation (a new certificate needs
//   a restart), ssl.enabled.protocols' versions (OpenSSL's defaults: TLS 1.2 and 1.3).
// - A listener that cannot be bound fails the start with a ConfigError naming http.listeners (uWS
//   gives no reason), the listeners already bound closed. Ports are bound exclusively (uSockets
//   would otherwise set SO_REUSEPORT and share the port with another uWS process).
// - WebSockets: messages up to limits.wsMessageBytesMax (uWS closes a socket that sends more), at
//   most limits.wsConnectionsMax sockets (503 at the upgrade), the subprotocol chosen by the
//   route's `protocol(offered)`, compression off; each socket is handed to the route as an
//   HttpWebSocket (UwsWebSocket below).

import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type HttpListener, type TlsSettings } from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import { secureContextOptions } from '../security/tls.js';
import {
  METHODS_WITH_BODY,
  RouteTable,
  type BoundHttpListener,
  type HttpMethod,
  type HttpRequest,
  type HttpResponse,
  type HttpServer,
  type HttpWebSocket,
  type RouteHandler,
  type WebSocketRoute,
} from './http-server.js';

type Uws = typeof import('@trufflesuite/uws-js-unofficial');
type UwsApp = import('@trufflesuite/uws-js-unofficial').TemplatedApp;
type UwsResponse = import('@trufflesuite/uws-js-unofficial').HttpResponse;
type UwsRequest = import('@trufflesuite/uws-js-unofficial').HttpRequest;
type UwsSocket = import('@trufflesuite/uws-js-unofficial').WebSocket<SocketData>;
type ListenSocket = import('@trufflesuite/uws-js-unofficial').us_listen_socket;

/** What a uWS socket carries from its upgrade to its open. */
interface SocketData {
  readonly route: WebSocketRoute;
  readonly request: HttpRequest;
  readonly protocol: string;
  adapter: UwsWebSocket | null;
}

/**
 * The native binary, or an Error saying why it does not load. The package's main module would
 * fall back, with only a console warning, to a JavaScript shim built on ws; the binary is loaded
 * directly so that http.server=uws means uWS or an explicit fallback to NodeHttpServer.
 */
export function loadUws(): Uws | Error {
  try {
    const require = createRequire(import.meta.url);
    return require(`@trufflesuite/uws-js-unofficial/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`) as Uws;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** uWS's close code for "the socket is gone" (no close frame): never sent, only received. */
const ABNORMAL_CLOSE = 1006;
/** Past this, uWS would drop a frame: the endpoint bounds a socket's buffer far below it (limits.wsBufferedBytesMax), so reaching it is a bug, answered by closing the socket. */
const SOCKET_BACKPRESSURE_BYTES_MAX = 64 * 1024 * 1024;

export class UwsHttpServer implements HttpServer {
  private readonly routes = new RouteTable();
  private readonly websockets = new Map<string, WebSocketRoute>();
  private readonly listenSockets: ListenSocket[] = [];
  private readonly sockets = new Set<UwsSocket>();
  /** Private directories holding a key and certificate for SSLApp; removed at close. */
  private readonly keyDirectories: string[] = [];
  private requestsInFlight = 0;
  private closing = false;

  constructor(
    private readonly uws: Uws,
    private readonly logger: Logger,
  ) {}

  route(method: HttpMethod, path: string, handler: RouteHandler): void {
    this.routes.add(method, path, handler);
  }

  websocket(path: string, route: WebSocketRoute): void {
    if (this.websockets.has(path)) throw new Error(`WebSocket route ${path} registered twice`);
    this.websockets.set(path, route);
  }

  async listen(listeners: readonly HttpListener[], tls: TlsSettings | null): Promise<readonly BoundHttpListener[]> {
    const bound: BoundHttpListener[] = [];
    try {
      for (const listener of listeners) {
        const secure = listener.scheme === 'https';
        const app = secure ? this.uws.SSLApp(this.sslOptions(tls!)) : this.uws.App();
        for (const [path, route] of this.websockets) this.addWebSocket(app, path, route, secure);
        app.any('/*', (response, request) => this.serve(response, request, secure));
        const listenSocket = await new Promise<ListenSocket | false>((resolve) => {
          // LIBUS_LISTEN_EXCLUSIVE_PORT: without it uSockets sets SO_REUSEPORT.
          if (listener.host === '') app.listen(listener.port, 1, resolve);
          else (app.listen as unknown as (host: string, port: number, options: number, callback: (socket: ListenSocket | false) => void) => void)(listener.host, listener.port, 1, resolve);
        });
        if (listenSocket === false) {
          throw new ConfigError('http.listeners', `cannot listen on ${listener.scheme}://${listener.host}:${listener.port}: the port is taken or the address is not this machine's (uWebSockets.js gives no reason)`);
        }
        this.listenSockets.push(listenSocket);
        const port = this.uws.us_socket_local_port(listenSocket as never);
        bound.push({ scheme: listener.scheme, host: listener.host, port });
        this.logger.info(`HTTP listening on ${listener.scheme}://${listener.host}:${port} (uWebSockets.js)`);
      }
    } catch (error) {
      await this.close();
      throw error;
    }
    return bound;
  }

  /** SSLApp's options: the key and chain in files of a private directory, whatever the key store's form. */
  private sslOptions(tls: TlsSettings): { key_file_name: string; cert_file_name: string; passphrase?: string } {
    if (tls.keystoreType === 'PKCS12') throw new ConfigError(tls.keyOf('ssl.keystore.type'), 'PKCS12 with http.server=uws: uWebSockets.js reads PEM keys only (use PEM, or http.server=node)');
    const options = secureContextOptions(tls);
    const directory = mkdtempSync(join(tmpdir(), 'spate-uws-tls-'));
    this.keyDirectories.push(directory);
    const keyFile = join(directory, 'key.pem');
    const certificateFile = join(directory, 'chain.pem');
    writeFileSync(keyFile, options.key as string, { mode: 0o600 });
    writeFileSync(certificateFile, `${options.cert as string}\n`, { mode: 0o600 });
    return { key_file_name: keyFile, cert_file_name: certificateFile, ...(typeof options.passphrase === 'string' ? { passphrase: options.passphrase } : {}) };
  }

  private serve(response: UwsResponse, request: UwsRequest, secure: boolean): void {
    // The request object is valid only until this function returns: everything is copied first.
    const method = request.getMethod().toUpperCase();
    const path = request.getUrl();
    const query = new URLSearchParams(request.getQuery() ?? '');
    const headers: Record<string, string> = {};
    request.forEach((key, value) => (headers[key] = value));
    let aborted = false;
    // The request counts against limits.httpConnectionsMax until answered or aborted, once.
    let counted = false;
    const done = (): void => {
      if (counted) this.requestsInFlight--;
      counted = false;
    };
    response.onAborted(() => {
      aborted = true;
      done();
    });
    const answer = (reply: HttpResponse): void => {
      if (aborted) return;
      aborted = true;
      response.cork(() => {
        response.writeStatus(`${reply.status} ${STATUS_CODES[reply.status] ?? ''}`);
        for (const [name, value] of Object.entries(reply.headers ?? {})) response.writeHeader(name, value);
        response.end(reply.body, true);
      });
    };
    if (this.requestsInFlight >= limits.httpConnectionsMax) {
      this.logger.debug(`HTTP ${method} ${path}: refused, ${limits.httpConnectionsMax} requests (limits.httpConnectionsMax) being answered`);
      answer(plain(503, 'too many requests at once\n'));
      return;
    }
    const declared = headers['content-length'];
    const hasBody = (declared !== undefined && declared !== '0') || headers['transfer-encoding'] !== undefined;
    const base = { method, path, query, headers, secure, remoteAddress: addressText(response.getRemoteAddressAsText()) };
    this.requestsInFlight++;
    counted = true;
    if (!hasBody || !METHODS_WITH_BODY.has(method)) {
      // A GET's body is never read: the connection is closed after the answer anyway.
      void this.dispatch({ ...base, params: {}, body: Buffer.alloc(0) }, answer).finally(done);
      return;
    }
    if (declared !== undefined && Number(declared) > limits.httpBodyBytesMax) {
      done();
      answer(plain(413, `request body over ${limits.httpBodyBytesMax} bytes\n`));
      return;
    }
    const parts: Buffer[] = [];
    let bytes = 0;
    const timer = setTimeout(() => {
      done();
      answer(plain(408, `request body not received within ${limits.httpRequestTimeoutMs} ms\n`));
    }, limits.httpRequestTimeoutMs);
    response.onData((chunk, last) => {
      if (aborted) {
        clearTimeout(timer);
        return;
      }
      bytes += chunk.byteLength;
      if (bytes > limits.httpBodyBytesMax) {
        clearTimeout(timer);
        done();
        answer(plain(413, `request body over ${limits.httpBodyBytesMax} bytes\n`));
        return;
      }
      // The chunk's memory is uWS's, valid only during this call.
      parts.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      if (!last) return;
      clearTimeout(timer);
      void this.dispatch({ ...base, params: {}, body: Buffer.concat(parts, bytes) }, answer).finally(done);
    });
  }

  private async dispatch(request: HttpRequest, answer: (reply: HttpResponse) => void): Promise<void> {
    const matched = this.routes.match(request.method, request.path);
    if (matched === null) return answer(this.routes.unmatched(request.path));
    try {
      answer(await matched.handler({ ...request, params: matched.params }));
    } catch (error) {
      // A route that throws is a broker bug: logged loudly, answered 500, the broker goes on.
      this.logger.error(`HTTP ${request.method} ${request.path} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      answer(plain(500, 'internal error\n'));
    }
  }

  private addWebSocket(app: UwsApp, path: string, route: WebSocketRoute, secure: boolean): void {
    app.ws<SocketData>(path, {
      maxPayloadLength: limits.wsMessageBytesMax,
      maxBackpressure: SOCKET_BACKPRESSURE_BYTES_MAX,
      closeOnBackpressureLimit: 0,
      compression: this.uws.DISABLED,
      idleTimeout: 0,
      upgrade: (response, request, context) => {
        const headers: Record<string, string> = {};
        request.forEach((key, value) => (headers[key] = value));
        const refuse = (status: number): void => void response.cork(() => response.writeStatus(`${status} ${STATUS_CODES[status]}`).end('', true));
        if (this.closing) return refuse(503);
        if (this.sockets.size >= limits.wsConnectionsMax) {
          this.logger.debug(`WebSocket ${path}: refused, ${limits.wsConnectionsMax} connections (limits.wsConnectionsMax) open`);
          return refuse(503);
        }
        const offered = new Set((headers['sec-websocket-protocol'] ?? '').split(',').map((name) => name.trim()).filter((name) => name !== ''));
        // As ws does (NodeHttpServer): none offered, the route is not asked; none chosen, no subprotocol header (the client then fails the connection).
        const chosen = offered.size === 0 ? undefined : route.protocol(offered);
        const protocol = typeof chosen === 'string' ? chosen : '';
        const httpRequest: HttpRequest = {
          method: 'GET',
          path,
          query: new URLSearchParams(request.getQuery() ?? ''),
          headers,
          params: {},
          body: Buffer.alloc(0),
          secure,
          remoteAddress: addressText(response.getRemoteAddressAsText()),
        };
        response.upgrade<SocketData>({ route, request: httpRequest, protocol, adapter: null }, headers['sec-websocket-key'] ?? '', protocol, headers['sec-websocket-extensions'] ?? '', context);
      },
      open: (socket) => {
        this.sockets.add(socket);
        const data = socket.getUserData();
        const adapter = new UwsWebSocket(socket, data.protocol);
        data.adapter = adapter;
        try {
          data.route.handler(adapter, data.request);
        } catch (error) {
          this.logger.error(`WebSocket ${path} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
          adapter.close(1011, 'internal error');
        }
      },
      message: (socket, message, isBinary) => socket.getUserData().adapter?.received(message, isBinary),
      drain: (socket) => socket.getUserData().adapter?.drained(),
      close: (socket, code) => {
        this.sockets.delete(socket);
        socket.getUserData().adapter?.closed(code);
      },
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const listenSocket of this.listenSockets.splice(0)) this.uws.us_listen_socket_close(listenSocket as never);
    for (const socket of [...this.sockets]) socket.getUserData().adapter?.close(1001, 'the broker is shutting down');
    // Sockets that do not finish the closing handshake within a second are cut.
    if (this.sockets.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      for (const socket of [...this.sockets]) socket.close();
    }
    for (const directory of this.keyDirectories.splice(0)) rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * A uWS socket as an HttpWebSocket. uWS has no per-send callback: a frame is either written to
 * the kernel at once (send returns 1; its callback runs on the next turn) or kept in uWS's
 * buffer (0; its callback runs at the drain that empties the buffer), as ws calls them once the
 * frame has left its buffer. A socket used after its close is not touched (uWS throws).
 */
class UwsWebSocket extends EventEmitter implements HttpWebSocket {
  private isClosed = false;
  private paused = false;
  /** Messages that arrived while paused, in order. */
  private held: [Buffer, boolean][] = [];
  /** Callbacks of frames still in uWS's buffer. */
  private waiting: ((error?: Error) => void)[] = [];

  constructor(
    private readonly socket: UwsSocket,
    readonly protocol: string,
  ) {
    super();
  }

  get bufferedAmount(): number {
    return this.isClosed ? 0 : this.socket.getBufferedAmount();
  }

  send(data: string | Buffer, optionsOrCallback?: { binary: true } | ((error?: Error) => void), callback?: (error?: Error) => void): void {
    const binary = typeof optionsOrCallback === 'object';
    const done = typeof optionsOrCallback === 'function' ? optionsOrCallback : callback;
    if (this.isClosed) {
      if (done !== undefined) process.nextTick(done, new Error('the WebSocket is closed'));
      return;
    }
    const result = this.socket.send(data, binary, false);
    if (result === 2) {
      // Dropped: over SOCKET_BACKPRESSURE_BYTES_MAX, which the endpoint's own bound keeps it far from.
      this.close(1011, 'send buffer overflow');
      if (done !== undefined) process.nextTick(done, new Error('send buffer overflow'));
      return;
    }
    if (done === undefined) return;
    if (result === 1 && this.waiting.length === 0) process.nextTick(done);
    else this.waiting.push(done);
  }

  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.socket.end(code, reason);
  }

  /**
   * uWS's WebSockets cannot stop reading (pause() is its HTTP responses'), so messages that arrive
   * while paused are held, at most limits.wsCommandsInFlightMax of them (the bound the route
   * pauses at); one more closes the socket with 4429.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    while (!this.paused && this.held.length > 0) {
      const [message, isBinary] = this.held.shift()!;
      this.emit('message', message, isBinary);
    }
  }

  received(message: ArrayBuffer, isBinary: boolean): void {
    // The message's memory is uWS's, valid only during this call.
    const copy = Buffer.copyBytesFrom(new Uint8Array(message));
    if (!this.paused) {
      this.emit('message', copy, isBinary);
      return;
    }
    if (this.held.length >= limits.wsCommandsInFlightMax) {
      this.close(4429, `more than ${limits.wsCommandsInFlightMax} messages sent without reading the answers`);
      return;
    }
    this.held.push([copy, isBinary]);
  }

  drained(): void {
    if (this.isClosed || this.socket.getBufferedAmount() > 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const callback of waiting) callback();
  }

  closed(code: number): void {
    this.isClosed = true;
    const waiting = this.waiting;
    this.waiting = [];
    for (const callback of waiting) callback(new Error(`the WebSocket closed (${code === ABNORMAL_CLOSE ? 'no close frame' : code})`));
    this.emit('close');
  }
}

function plain(status: number, body: string): HttpResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

/** uWS gives addresses in full IPv6 form (IPv4 as mapped): written as node:net writes them, which http-auth's loopback check reads. */
function addressText(raw: ArrayBuffer): string {
  const text = Buffer.from(raw).toString('utf8');
  const mapped = /^(?:0000:){5}ffff:([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(text);
  if (mapped !== null) {
    const high = parseInt(mapped[1]!, 16);
    const low = parseInt(mapped[2]!, 16);
    return `::ffff:${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  if (!text.includes(':')) return text;
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return text;
  }
}
