// What every command is: its declaration (options, help) and a function from parsed
// arguments to an exit code. Commands that talk to a broker get a Context that
// connects lazily with the global --bootstrap-server, timeout and --command-config login;
// every connection a command opens goes through `connect`, so each logs in the same way.

import type { CommandSpec, OptionSpec, ParsedArgs } from './args.js';
import type { ConnectionOptions } from 'node:tls';
import { ConnectionError, KafkaClient, type SaslOptions } from '../network/kafka-client.js';
import type { ClusterAccess } from '../operations/cluster-access.js';

export interface Context {
  readonly bootstrap: string;
  /** Bound on connecting and on each request. */
  readonly timeoutMs: number;
  /** The SASL login --command-config asks for (security.protocol=SASL_PLAINTEXT or SASL_SSL); absent: none. */
  readonly sasl?: SaslOptions;
  /** TLS, when --command-config says security.protocol=SSL or SASL_SSL; absent: plain TCP. */
  readonly tls?: ConnectionOptions;
}

/** A connection to `address` (default: the bootstrap servers) with the context's timeout, TLS and login. */
export function connect(context: Context, address: string = context.bootstrap): Promise<KafkaClient> {
  return KafkaClient.connect(address, {
    timeoutMs: context.timeoutMs,
    ...(context.sasl === undefined ? {} : { sasl: context.sasl }),
    ...(context.tls === undefined ? {} : { tls: context.tls }),
  });
}

export interface Command {
  readonly spec: CommandSpec;
  run(args: ParsedArgs, context: Context): Promise<number>;
}

export const jsonOption: OptionSpec = { name: 'json', kind: 'flag', help: 'print JSON for scripts instead of a table' };

/** Connects, runs `body`, and always closes the connection. */
export async function withClient<T>(context: Context, body: (client: KafkaClient) => Promise<T>): Promise<T> {
  const client = await connect(context);
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

/** Rounds of NOT_CONTROLLER before giving up (each asks Metadata for the controller again). */
const NOT_CONTROLLER_ROUNDS_MAX = 10;
const NOT_CONTROLLER_BACKOFF_MS = 200;

/**
 * Sends a request to the controller Metadata names (Kafka's ZooKeeper-era brokers answer
 * NOT_CONTROLLER for controller APIs they cannot act on), asking Metadata again while the
 * answer says NOT_CONTROLLER, within the context's timeout. `send` gets a connection and the
 * time left, and says whether its answer was NOT_CONTROLLER.
 */
export async function atController<T>(
  bootstrap: KafkaClient,
  context: Context,
  send: (client: KafkaClient, timeoutMs: number) => Promise<{ answer: T; notController: boolean }>,
): Promise<T> {
  const deadline = Date.now() + context.timeoutMs;
  for (let round = 1; ; round++) {
    const metadata = await bootstrap.metadata([]);
    const controller = metadata.brokers.find((broker) => broker.nodeId === metadata.controllerId);
    let client = bootstrap;
    if (controller !== undefined && `${controller.host}:${controller.port}` !== bootstrap.address) {
      try {
        client = await connect(context, `${controller.host}:${controller.port}`);
      } catch (error) {
        // An advertised address this machine cannot reach: the bootstrap broker answers NOT_CONTROLLER or acts.
        if (!(error instanceof ConnectionError)) throw error;
      }
    }
    let result: { answer: T; notController: boolean };
    try {
      result = await send(client, Math.max(1, deadline - Date.now()));
    } finally {
      if (client !== bootstrap) client.close();
    }
    if (!result.notController || round >= NOT_CONTROLLER_ROUNDS_MAX || Date.now() + NOT_CONTROLLER_BACKOFF_MS > deadline) return result.answer;
    await new Promise((resolve) => setTimeout(resolve, NOT_CONTROLLER_BACKOFF_MS));
  }
}

/**
 * The CLI's ClusterAccess (operations/cluster-access.ts): the controller through `atController`,
 * another broker through a connection of its own to the address Metadata gives for it.
 */
export function cliClusterAccess(bootstrap: KafkaClient, context: Context): ClusterAccess {
  return {
    client: bootstrap,
    atController: (send) => atController(bootstrap, context, send),
    async atBroker(brokerId, send) {
      const broker = (await bootstrap.metadata([])).brokers.find((b) => b.nodeId === brokerId);
      if (broker === undefined) throw new ConnectionError(`broker ${brokerId} is not in the cluster's metadata`);
      const address = `${broker.host}:${broker.port}`;
      if (address === bootstrap.address) return send(bootstrap);
      const client = await connect(context, address);
      try {
        return await send(client);
      } finally {
        client.close();
      }
    },
  };
}
