// The three ways a CLI command fails, each with the exit code scripts rely on
// (see the table at the top of main.ts): the broker answered with an error (1), the
// command line is wrong (2), the broker cannot be reached or did not answer in time (3).

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

export { AddressError, BrokerError, ConnectionError } from '../network/kafka-client.js';
