// What every command is: its declaration (options, help) and a function from parsed
// arguments to an exit code. Commands that talk to a broker get a Context that
// connects lazily with the global --bootstrap-server and timeout.

import type { CommandSpec, OptionSpec, ParsedArgs } from './args.js';
import { KafkaClient } from '../network/kafka-client.js';

export interface Context {
  readonly bootstrap: string;
  /** Bound on connecting and on each request. */
  readonly timeoutMs: number;
}

export interface Command {
  readonly spec: CommandSpec;
  run(args: ParsedArgs, context: Context): Promise<number>;
}

export const jsonOption: OptionSpec = { name: 'json', kind: 'flag', help: 'print JSON for scripts instead of a table' };

/** Connects, runs `body`, and always closes the connection. */
export async function withClient<T>(context: Context, body: (client: KafkaClient) => Promise<T>): Promise<T> {
  const client = await KafkaClient.connect(context.bootstrap, { timeoutMs: context.timeoutMs });
  try {
    return await body(client);
  } finally {
    client.close();
  }
}
