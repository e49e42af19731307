// A test's WebSocket to a broker's /ws (docs/websocket-protocol.md), with the `ws` package: every
// JSON message kept (records also gathered), binary frames kept, the close recorded; waits for a
// message of a type, for a condition checked at each message, or for the close.

import WebSocket from 'ws';
import type { Teardownable } from './broker-process.js';

/** A record as a json-format subscription receives it. */
export interface Delivered {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: unknown;
  readonly value: unknown;
  readonly headers: readonly { key: string; value: unknown }[];
}

export class TestSocket {
  readonly messages: Record<string, unknown>[] = [];
  readonly records: Delivered[] = [];
  readonly frames: Buffer[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.frames.push(data);
      else {
        const message = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
        this.messages.push(message);
        if (message.type === 'records') this.records.push(...(message.records as Delivered[]));
      }
      this.notify();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString('utf8') };
      this.notify();
    });
  }

  /** Opens /ws on 127.0.0.1:`port` with the subprotocol spate.v1; terminated on the test's teardown. */
  static open(t: Teardownable, port: number, headers: Record<string, string> = {}): Promise<TestSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, 'spate.v1', { headers });
    const socket = new TestSocket(ws);
    t.teardown(() => ws.terminate());
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('error', reject);
    });
  }

  /** Sends a JSON message; resolves once it is written (a caller need not wait for it). */
  send(message: object): Promise<void> {
    const sent = new Promise<void>((resolve, reject) => this.ws.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve())));
    sent.catch(() => undefined); // a caller that does not wait is told by the close instead
    return sent;
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Waits until `check` holds (checked at each message), or fails after `timeoutMs`. */
  async until<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last messages: ${JSON.stringify(this.messages.slice(-3)).slice(0, 600)}; closed: ${JSON.stringify(this.closed)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first message of `type` from the `from`th message on. */
  message(type: string, from = 0): Promise<Record<string, unknown>> {
    return this.until(`a "${type}" message`, () => this.messages.slice(from).find((message) => message.type === type));
  }

  closedWith(): Promise<{ code: number; reason: string }> {
    return this.until('the close', () => this.closed ?? undefined);
  }
}
