// How an operation reaches the brokers of a cluster beyond the one it was given: the controller
// (reassignments, elections) and each broker for what only that broker answers (DescribeLogDirs).
// The CLI connects to them (cli/command.ts: `cliClusterAccess`); the admin API asks its own broker
// as the user and forwards to the others as that broker once the user's request passed this
// broker's authorizer (http/api/cluster-access.ts).

import type { KafkaRequester } from '../network/kafka-client.js';

export interface ClusterAccess {
  /** The broker the operation was given (the CLI's bootstrap, the API's own broker), as the user. */
  readonly client: KafkaRequester;
  /**
   * Sends to the controller: `send` says whether the answer was NOT_CONTROLLER, and the access
   * then finds the controller and sends again (within `timeoutMs`).
   */
  atController<T>(send: (client: KafkaRequester, timeoutMs: number) => Promise<{ answer: T; notController: boolean }>): Promise<T>;
  /** Sends to one broker (its own log dirs); `send` is given a client for it. */
  atBroker<T>(brokerId: number, send: (client: KafkaRequester) => Promise<T>): Promise<T>;
}
