#!/usr/bin/env node
// Entry point: `node dist/src/main.js [server.properties] [--override key=value]…`
// (also `spate start …`). Loads the configuration the Kafka way, starts the broker, and
// stops it gracefully on SIGINT/SIGTERM (a second signal exits at once, 130).
// Exit codes: 0 after a clean stop; 1 for a configuration error, a locked data
// directory, a port in use, or a failed shutdown.

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Broker } from './broker.js';
import { ConfigError, buildBrokerConfig, parseCommandLine, parseProperties } from './config/broker-config.js';
import { DirectoryLockedError } from './storage/dir-lock.js';
import { createLogger } from './logger.js';
import { startShardsFor, type ShardSet } from './shard/shard-set.js';

/**
 * The last line of defence: an exception no code caught (a broker bug) is logged at ERROR
 * with its stack, and the broker keeps serving — one failed callback must not stop every
 * client's broker. Every path a client's bytes take has its own handling (a closed
 * connection, a Kafka error code); reaching this is a bug the log shows loudly.
 */
function installLastResortHandlers(logger: ReturnType<typeof createLogger>): void {
  process.on('uncaughtException', (error) => {
    logger.error(`uncaught exception (a broker bug; the broker keeps running): ${error.stack ?? error.message}`);
  });
  process.on('unhandledRejection', (reason) => {
    logger.error(`unhandled promise rejection (a broker bug; the broker keeps running): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  });
}

/** Runs a broker until SIGINT/SIGTERM; resolves with the process exit code. */
export async function runBroker(argv: readonly string[]): Promise<number> {
  const logger = createLogger();
  // Signal handlers go in first: a SIGTERM that arrives while the broker starts (or just
  // after it says it is ready) must stop it cleanly, not kill it with the default action.
  let broker: Broker | null = null;
  let signals = 0;
  let stopRequested: ((signal: NodeJS.Signals) => void) | null = null;
  const pendingSignals: NodeJS.Signals[] = [];
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn(`${signal} again: exiting without a clean shutdown`);
      process.exit(130);
    }
    if (stopRequested === null) pendingSignals.push(signal);
    else stopRequested(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  installLastResortHandlers(logger);
  try {
    const { configFile, overrides } = parseCommandLine(argv);
    const fileProperties = configFile === null ? new Map<string, string>() : parseProperties(readFileSync(configFile, 'utf8'));
    const { config, warnings } = buildBrokerConfig(fileProperties, overrides);
    for (const warning of warnings) logger.warn(warning);
    logger.info(`starting broker ${config.brokerId} with ${config.numShards} shard(s), data in ${config.logDirs.join(', ')}`);
    // The shard workers first, then the rest of the broker (some 230 modules, the larger part
    // of the start time): the workers boot on other cores meanwhile. Broker.start terminates
    // them if it fails; the no-op catch only keeps a failure from counting as unhandled
    // before Broker.start awaits it.
    const shards: Promise<ShardSet> = startShardsFor(config);
    shards.catch(() => undefined);
    const { Broker } = await import('./broker.js');
    broker = await Broker.start(config, logger, shards);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DirectoryLockedError) {
      logger.error(error.message);
      return 1;
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      logger.error(`cannot listen: ${(error as Error).message} (is another broker running? set listeners=PLAINTEXT://host:port)`);
      return 1;
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && (error as NodeJS.ErrnoException).path !== undefined) {
      logger.error(`cannot read ${(error as NodeJS.ErrnoException).path}: no such file`);
      return 1;
    }
    throw error;
  }
  const running = broker;
  const listeners = running.listeners.map((listener) => `${listener.name}://${listener.host}:${listener.port}`).join(', ');
  const http = running.httpListeners.map((listener) => `${listener.scheme}://${listener.host}:${listener.port}`).join(', ');
  logger.info(`broker ready on ${listeners}${http === '' ? '' : `; HTTP (the admin UI at /, /metrics) on ${http}`}`);
  return new Promise<number>((resolve) => {
    stopRequested = (signal) => {
      logger.info(`${signal}: shutting down (finishing in-flight requests)`);
      running.stop().then(
        () => resolve(process.exitCode === undefined ? 0 : Number(process.exitCode)),
        (error: unknown) => {
          logger.error(`shutdown failed: ${(error as Error).message}`);
          resolve(1);
        },
      );
    };
    const early = pendingSignals.shift();
    if (early !== undefined) stopRequested(early);
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runBroker(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`spate: fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
