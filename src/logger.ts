// The broker's log lines: one line each, to stderr, with a level and a component.
// `log.level` is not a Kafka key; SPATE_LOG_LEVEL (error, warn, info, debug) sets it.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const RANKS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  child(component: string): Logger;
}

function levelFromEnvironment(): LogLevel {
  const value = process.env['SPATE_LOG_LEVEL'];
  return value !== undefined && value in RANKS ? (value as LogLevel) : 'info';
}

export function createLogger(component = 'spate', level: LogLevel = levelFromEnvironment(), write = (line: string) => process.stderr.write(line)): Logger {
  const rank = RANKS[level];
  const line = (lineLevel: LogLevel, message: string): void => {
    if (RANKS[lineLevel] > rank) return;
    write(`${new Date().toISOString()} ${lineLevel.toUpperCase().padEnd(5)} [${component}] ${message}\n`);
  };
  return {
    error: (message) => line('error', message),
    warn: (message) => line('warn', message),
    info: (message) => line('info', message),
    debug: (message) => line('debug', message),
    child: (child) => createLogger(`${component}/${child}`, level, write),
  };
}

/**
 * Logs a line of each kind at most once per `intervalMs`, saying how many were left out:
 * what clients can cause (refused connections, bad requests) must not flood the log.
 */
export class ThrottledLog {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly kindsMax = 1024,
  ) {}

  log(level: LogLevel, kind: string, message: string, nowMs = Date.now()): void {
    const previous = this.last.get(kind);
    if (previous !== undefined && nowMs - previous.atMs < this.intervalMs) {
      previous.suppressed++;
      return;
    }
    const suppressed = previous?.suppressed ?? 0;
    if (previous === undefined && this.last.size >= this.kindsMax) this.last.clear(); // a bound, not a cache: forget and start over
    this.last.set(kind, { atMs: nowMs, suppressed: 0 });
    this.logger[level](suppressed > 0 ? `${message} (and ${suppressed} more like it since the last such line)` : message);
  }
}
