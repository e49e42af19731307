// The Python client scripts (test/compat/python/) print one JSON object per line;
// the TypeScript tests parse them here and make the assertions.

export type Line = Record<string, any>;

export function parseLine(line: string): Line {
  try {
    return JSON.parse(line) as Line;
  } catch {
    throw new Error(`not a JSON line: ${line.slice(0, 300)}`);
  }
}

/** Parses every non-empty line; a line that is not JSON fails loudly. */
export function jsonLines(text: string | Buffer): Line[] {
  return text
    .toString()
    .split('\n')
    .filter((line) => line.length > 0)
    .map(parseLine);
}

/** The first few items, for assertion messages. */
export function sample<T>(items: readonly T[], count = 5): string {
  return JSON.stringify(items.slice(0, count));
}

/** Rejects when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
