// A tiny command-line parser: each command declares its options (flags, single values,
// repeatable values) and how many positional arguments it takes; anything else is a
// UsageError (exit 2). Values are given as `--name value` or `--name=value`; `--` ends
// the options. The same declarations produce the command's --help text.

import { UsageError } from './errors.js';

export type OptionKind = 'flag' | 'value' | 'list';

export interface OptionSpec {
  /** Without the leading dashes, e.g. 'partitions'. */
  readonly name: string;
  readonly kind: OptionKind;
  /** Shown in help after the option name, e.g. 'N' or 'key=value'. */
  readonly valueName?: string;
  readonly help: string;
}

export interface CommandSpec {
  /** e.g. 'topics create'. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The synopsis after `spate `, e.g. 'topics create <name> [options]'. */
  readonly synopsis: string;
  /** Paragraphs printed after the options in --help. */
  readonly details?: string;
  readonly options: readonly OptionSpec[];
  readonly minPositionals: number;
  /** Infinity for "any number". */
  readonly maxPositionals: number;
}

export class ParsedArgs {
  readonly positionals: string[] = [];
  private readonly values = new Map<string, string[]>();
  private readonly flags = new Set<string>();

  setFlag(name: string): void {
    this.flags.add(name);
  }

  addValue(name: string, value: string): void {
    const list = this.values.get(name);
    if (list === undefined) this.values.set(name, [value]);
    else list.push(value);
  }

  flag(name: string): boolean {
    return this.flags.has(name);
  }

  has(name: string): boolean {
    return this.flags.has(name) || this.values.has(name);
  }

  /** The last value given for a single-value option. */
  value(name: string): string | undefined {
    const list = this.values.get(name);
    return list === undefined ? undefined : list[list.length - 1];
  }

  list(name: string): string[] {
    return this.values.get(name) ?? [];
  }

  /** An integer option within [min, max]; `fallback` when absent. */
  int(name: string, fallback: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.value(name);
    if (raw === undefined) return fallback;
    return parseInteger(`--${name}`, raw, min, max);
  }

  /** An integer option within [min, max], or undefined when absent. */
  optionalInt(name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const raw = this.value(name);
    return raw === undefined ? undefined : parseInteger(`--${name}`, raw, min, max);
  }
}

export function parseInteger(what: string, raw: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`${what} needs an integer, got "${raw}"`);
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
    throw new UsageError(`${what} must be ${range}, got ${raw}`);
  }
  return value;
}

/** Splits `key=value` (the value may contain '='; it may be empty). */
const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/** A byte size: bytes, or a number with a unit, decimal (10MB = 10 000 000) or binary (10MiB = 10 × 2^20), case-insensitive. */
export function parseByteSize(what: string, raw: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = match === null ? undefined : SIZE_UNITS[match[2]!.toUpperCase()];
  if (match === null || unit === undefined) throw new UsageError(`${what} must be bytes or a size such as 10MB, 50GB or 10MiB, got "${raw}"`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${what} is too large: "${raw}"`);
  return bytes;
}

export function parseKeyValue(what: string, pair: string): [string, string] {
  const equals = pair.indexOf('=');
  if (equals <= 0) throw new UsageError(`${what} needs key=value, got "${pair}"`);
  return [pair.slice(0, equals), pair.slice(equals + 1)];
}

/** Parses `argv` (the words after the command name) against the command's options plus `globals`. */
export function parseArgs(spec: CommandSpec, argv: readonly string[], globals: readonly OptionSpec[]): ParsedArgs {
  const options = new Map<string, OptionSpec>();
  for (const option of globals) options.set(option.name, option);
  for (const option of spec.options) options.set(option.name, option);
  const parsed = new ParsedArgs();
  let onlyPositionals = false;
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index]!;
    if (onlyPositionals || !word.startsWith('-') || word === '-') {
      parsed.positionals.push(word);
      continue;
    }
    if (word === '--') {
      onlyPositionals = true;
      continue;
    }
    if (word === '-h' || word === '--help') {
      parsed.setFlag('help');
      continue;
    }
    if (!word.startsWith('--')) throw new UsageError(`unknown option ${word}`);
    const equals = word.indexOf('=');
    const name = word.slice(2, equals < 0 ? undefined : equals);
    const option = options.get(name);
    if (option === undefined) throw new UsageError(`unknown option --${name}`);
    if (option.kind === 'flag') {
      if (equals >= 0) throw new UsageError(`--${name} takes no value`);
      parsed.setFlag(name);
      continue;
    }
    let value: string | undefined;
    if (equals >= 0) value = word.slice(equals + 1);
    else value = argv[++index];
    if (value === undefined) throw new UsageError(`--${name} needs a value (${option.valueName ?? 'value'})`);
    parsed.addValue(name, value);
  }
  if (parsed.flag('help')) return parsed;
  const count = parsed.positionals.length;
  if (count < spec.minPositionals) throw new UsageError(`missing argument: spate ${spec.synopsis}`);
  if (count > spec.maxPositionals) throw new UsageError(`unexpected argument "${parsed.positionals[spec.maxPositionals]}"`);
  return parsed;
}

/** The --help text of one command. */
export function commandHelp(spec: CommandSpec, globals: readonly OptionSpec[]): string {
  const lines = [`usage: spate ${spec.synopsis}`, '', spec.summary, ''];
  const own = spec.options;
  const names = new Set(own.map((option) => option.name));
  const shared = globals.filter((option) => !names.has(option.name));
  if (own.length > 0) lines.push('options:', ...formatOptions(own), '');
  if (shared.length > 0) lines.push('global options:', ...formatOptions(shared), '');
  if (spec.details !== undefined) lines.push(spec.details.trim(), '');
  return lines.join('\n');
}

function formatOptions(options: readonly OptionSpec[]): string[] {
  const heads = options.map((option) => {
    const value = option.kind === 'flag' ? '' : ` ${option.valueName ?? 'VALUE'}`;
    return `  --${option.name}${value}${option.kind === 'list' ? ' …' : ''}`;
  });
  const width = Math.min(34, Math.max(...heads.map((head) => head.length)) + 2);
  return options.map((option, index) => {
    const head = heads[index]!;
    return head.length >= width ? `${head}\n${' '.repeat(width)}${option.help}` : `${head.padEnd(width)}${option.help}`;
  });
}
