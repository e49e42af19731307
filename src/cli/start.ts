// `spate start [server.properties] [--override key=value]…`: runs a broker in this
// process exactly as `node dist/src/main.js` does. src/main.ts starts itself when
// imported, so this mirrors it with the same pieces (config loading, Broker.start, the
// same log lines and exit codes, graceful stop on SIGINT/SIGTERM, immediate exit on a
// second signal).

import { readFileSync } from 'node:fs';
import type { CommandSpec } from './args.js';
import type { Broker } from '../broker.js';

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
  const [{ Broker }, { ConfigError, buildBrokerConfig, parseCommandLine, parseProperties }, { createLogger }, { DirectoryLockedError }] = await Promise.all([
    import('../broker.js'),
    import('../config/broker-config.js'),
    import('../logger.js'),
    import('../storage/dir-lock.js'),
  ]);
  const logger = createLogger();
  let broker: Broker;
  try {
    const { configFile, overrides } = parseCommandLine(argv);
    const fileProperties = configFile === null ? new Map<string, string>() : parseProperties(readFileSync(configFile, 'utf8'));
    const { config, warnings } = buildBrokerConfig(fileProperties, overrides);
    for (const warning of warnings) logger.warn(warning);
    logger.info(`starting broker ${config.brokerId} with ${config.numShards} shard(s), data in ${config.logDirs.join(', ')}`);
    broker = await Broker.start(config, logger);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DirectoryLockedError) {
      logger.error(error.message);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      logger.error(`cannot listen: ${(error as Error).message} (is another broker running? set listeners=PLAINTEXT://host:port)`);
      return 1;
    }
    if (code === 'ENOENT' && (error as NodeJS.ErrnoException).path !== undefined) {
      logger.error(`cannot read ${(error as NodeJS.ErrnoException).path}: no such file`);
      return 1;
    }
    throw error;
  }
  const listeners = broker.listeners.map((listener) => `${listener.name}://${listener.host}:${listener.port}`).join(', ');
  logger.info(`broker ready on ${listeners}`);
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        logger.warn(`${signal} again: exiting without a clean shutdown`);
        process.exit(130);
      }
      logger.info(`${signal}: shutting down (finishing in-flight requests)`);
      broker.stop().then(
        () => resolve(0),
        (error: unknown) => {
          logger.error(`shutdown failed: ${(error as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
