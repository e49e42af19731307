// The three ways a CLI command fails, each with the exit code scripts rely on
// (see the table at the top of main.ts): the broker answered with an error (1), the
// command line is wrong (2), the broker cannot be reached or did not answer in time (3).

import { errorName } from '../protocol/errors.js';

export const ExitCode = {
  OK: 0,
  BROKER_ERROR: 1,
  USAGE: 2,
  UNREACHABLE: 3,
} as const;

/** A bad command line: printed with a usage hint, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The broker answered with a Kafka error code: `error: NAME: message`, exit 1. */
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

/** Connecting failed, the connection was lost, or a wait timed out: exit 3. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}
