// Sends one fuzz frame on a connection of its own, followed by an ApiVersions probe, and
// reports what the broker did within a bound: answered (the probe's response came back,
// so the fuzz request before it was dealt with — responses are sent in request order,
// and an acks=0 produce has none), closed the connection, or neither (a hang). A frame
// whose size prefix lies is followed by a FIN instead: the broker can only close that
// connection.

import { connect, type Socket } from 'node:net';
import { writeRequestHeader } from '../../../src/protocol/generated/request-header.js';
import { Writer } from '../../../src/protocol/writer.js';

/** The correlation id of the probe that follows every fuzz frame. */
export const PROBE_CORRELATION_ID = 0x5eed_0b0e;
/** Response frames up to this size are kept for checking; larger ones are counted only. */
export const RESPONSE_KEPT_BYTES_MAX = 16 * 1024 * 1024;
/** A connection that cannot be made in this long means the broker is not accepting. */
export const CONNECT_MS = 5_000;

export type OutcomeKind = 'answered' | 'closed' | 'hang' | 'unjudged' | 'refused';

export interface CaseOutcome {
  readonly kind: OutcomeKind;
  /**
   * Response frames before the probe's (without their size prefix); of a frame larger than
   * RESPONSE_KEPT_BYTES_MAX only its first 4 bytes (the correlation id) are kept.
   */
  readonly responses: Buffer[];
  /** The size of each of those frames. */
  readonly responseBytes: number[];
  readonly elapsedMs: number;
  /** Our end of the connection, to match the broker's log lines ("… for 127.0.0.1:PORT"). */
  readonly localPort: number | null;
  /** Set when the broker sent bytes that are not a response frame. */
  readonly violation: string | null;
  /** For 'refused': the connection error. */
  readonly error: string | null;
}

const probeFrame = (() => {
  const w = new Writer();
  w.int32(0);
  writeRequestHeader(w, 1, { requestApiKey: 18, requestApiVersion: 0, correlationId: PROBE_CORRELATION_ID, clientId: 'spate-fuzz-probe' });
  const frame = Buffer.from(w.toBuffer());
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
})();

export interface RunCaseOptions {
  readonly port: number;
  readonly frame: Buffer;
  /** The frame's size prefix lies (cases.ts frameSizeLies): send FIN after it, no probe. */
  readonly finAfter: boolean;
  /** Past this, an unanswered, still-open connection is a hang. */
  readonly answerMs: number;
  /** When the wait is not judged (see waitAllowanceMs), give up after this long: 'unjudged'. */
  readonly abandonMs: number | null;
  /** Send the probe after the frame (default true). */
  readonly probe?: boolean;
}

export function runCase(options: RunCaseOptions): Promise<CaseOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket: Socket = connect({ port: options.port, host: '127.0.0.1', noDelay: true });
    const responses: Buffer[] = [];
    const responseBytes: number[] = [];
    let localPort: number | null = null;
    let violation: string | null = null;
    let settled = false;
    const finish = (kind: OutcomeKind, error: string | null = null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(answerTimer);
      socket.destroy();
      resolve({ kind, responses, responseBytes, elapsedMs: Date.now() - started, localPort, violation, error });
    };
    const connectTimer = setTimeout(() => finish('refused', `no connection within ${CONNECT_MS} ms`), CONNECT_MS);
    let answerTimer: NodeJS.Timeout | undefined;
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      localPort = socket.localPort ?? null;
      const probe = options.probe !== false && !options.finAfter;
      socket.write(probe ? Buffer.concat([options.frame, probeFrame]) : options.frame);
      if (options.finAfter) socket.end();
      const limitMs = options.abandonMs ?? options.answerMs;
      answerTimer = setTimeout(() => finish(options.abandonMs === null ? 'hang' : 'unjudged'), limitMs);
    });
    // Frames are gathered piece by piece (a response can be hundreds of MiB: copying what came
    // so far at every chunk would make the client, not the broker, slow), and the body of a frame
    // over RESPONSE_KEPT_BYTES_MAX is counted, not kept.
    let sizeBytes: Buffer = Buffer.alloc(0);
    let frameSize = -1;
    let frameReceived = 0;
    let frameParts: Buffer[] | null = null;
    let frameFirstBytes: Buffer = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      let at = 0;
      while (at < data.length) {
        if (frameSize < 0) {
          const take = Math.min(4 - sizeBytes.length, data.length - at);
          sizeBytes = Buffer.concat([sizeBytes, data.subarray(at, at + take)]);
          at += take;
          if (sizeBytes.length < 4) return;
          frameSize = sizeBytes.readInt32BE(0);
          sizeBytes = Buffer.alloc(0);
          if (frameSize < 4) {
            violation = `response frame size ${frameSize}`;
            finish('closed');
            return;
          }
          frameReceived = 0;
          frameParts = frameSize <= RESPONSE_KEPT_BYTES_MAX ? [] : null;
          frameFirstBytes = Buffer.alloc(0);
        }
        const take = Math.min(frameSize - frameReceived, data.length - at);
        const piece = data.subarray(at, at + take);
        if (frameParts !== null) frameParts.push(piece);
        else if (frameFirstBytes.length < 4) frameFirstBytes = Buffer.concat([frameFirstBytes, piece.subarray(0, 4)]);
        frameReceived += take;
        at += take;
        if (frameReceived < frameSize) return;
        const frame = frameParts !== null ? Buffer.concat(frameParts) : frameFirstBytes;
        const bytes = frameSize;
        frameSize = -1;
        if (frame.readInt32BE(0) === PROBE_CORRELATION_ID) {
          finish('answered');
          return;
        }
        responses.push(frame);
        responseBytes.push(bytes);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (localPort === null) finish('refused', error.code ?? error.message);
      else finish('closed');
    });
    socket.on('end', () => finish('closed'));
    socket.on('close', () => finish(localPort === null ? 'refused' : 'closed'));
  });
}
