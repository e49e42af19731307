// `spate start [server.properties] [--override key=value]…`: runs a broker in this
// process exactly as `node dist/src/main.js` does (src/main.ts's runBroker).

import type { CommandSpec } from './args.js';

export const startSpec: CommandSpec = {
  name: 'start',
  summary: 'Run a broker in the foreground (the same as `node dist/src/main.js`).',
  synopsis: 'start [server.properties] [--override key=value]…',
  details: [
    'Loads the properties file (if given), then applies each --override. Logs go to stderr',
    '(SPATE_LOG_LEVEL=error|warn|info|debug). SIGINT or SIGTERM stops the broker cleanly (exit 0);',
    'a second signal exits at once (130). A configuration error, a locked data directory or a',
    'port in use exits 1.',
  ].join('\n'),
  options: [{ name: 'override', kind: 'list', valueName: 'key=value', help: 'a broker config setting; repeat for more' }],
  minPositionals: 0,
  maxPositionals: 1,
};

export async function runStart(argv: readonly string[]): Promise<number> {
  // The broker's modules load only here, so that client commands start quickly.
  const { runBroker } = await import('../main.js');
  return runBroker(argv);
}
