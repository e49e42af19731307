// What the fuzzer reports: one Finding per distinct bug (kind + signature), with the case
// that shows it — seed, case number and the exact bytes, so it can be replayed with
// `npm run fuzz -- --replay <seed>:<case>` or `--replay-hex` — or, when no single case
// could be blamed, the cases that were in flight.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FuzzCase } from './cases.js';

export type FindingKind =
  | 'crash'
  | 'stall'
  | 'hang'
  | 'handler-failure'
  | 'log-error'
  | 'node-warning'
  | 'bad-response'
  | 'amplification'
  | 'corrupt-batch'
  | 'rss'
  | 'fds'
  | 'witness-latency'
  | 'witness-error'
  | 'witness-order'
  | 'witness-corrupt'
  | 'witness-lost'
  | 'shutdown';

export interface CaseRecord {
  readonly seed: number;
  readonly index: number;
  readonly label: string;
  readonly mode: string;
  readonly notes: readonly string[];
  readonly frameBytes: number;
  readonly frameHex: string;
}

export interface Finding {
  readonly kind: FindingKind;
  readonly signature: string;
  readonly message: string;
  occurrences: number;
  /** The case that shows it, when one could be blamed. */
  readonly culprit: CaseRecord | null;
  /** Cases in flight or just finished when it happened, when none could be blamed alone. */
  readonly suspects: readonly number[];
  /** Cases that must run before the culprit (in this order) for it to do harm. */
  readonly prerequisites: readonly number[];
  /** Broker log lines or other evidence. */
  readonly evidence: readonly string[];
  /** When it was first seen (or, for what the witness saw, when it happened), ms since the run started. */
  readonly atMs: number;
}

export function caseRecord(fuzzCase: FuzzCase): CaseRecord {
  return {
    seed: fuzzCase.seed,
    index: fuzzCase.index,
    label: fuzzCase.label,
    mode: fuzzCase.mode,
    notes: fuzzCase.notes,
    frameBytes: fuzzCase.frame.length,
    frameHex: fuzzCase.frame.toString('hex'),
  };
}

/** Frames up to this size are printed whole; larger ones are written to a file and printed in part. */
const PRINTED_FRAME_BYTES_MAX = 2048;

/** A finding as text for a test log or a terminal: what, which seed and case, the request bytes. */
export function formatFinding(finding: Finding, hexDir: string | null): string {
  const lines = [`[${finding.kind}] ${finding.message} (seen ${finding.occurrences}×, first at ${(finding.atMs / 1000).toFixed(1)} s)`, `  signature: ${finding.signature}`];
  const culprit = finding.culprit;
  if (culprit !== null) {
    lines.push(`  seed ${culprit.seed} case ${culprit.index}: ${culprit.label} (${culprit.mode})`);
    const sequence = [...finding.prerequisites, culprit.index].join(',');
    lines.push(`  replay: npm run fuzz -- --replay ${culprit.seed}:${sequence}`);
    if (finding.prerequisites.length > 0) lines.push(`  (does harm only after cases ${finding.prerequisites.join(', ')})`);
    for (const note of culprit.notes.slice(0, 12)) lines.push(`    - ${note}`);
    if (culprit.frameBytes <= PRINTED_FRAME_BYTES_MAX) {
      lines.push(`  request (${culprit.frameBytes} bytes, hex, size prefix included): ${culprit.frameHex}`);
    } else {
      let where = '';
      if (hexDir !== null) {
        mkdirSync(hexDir, { recursive: true });
        const file = join(hexDir, `seed-${culprit.seed}-case-${culprit.index}.hex`);
        writeFileSync(file, `${culprit.frameHex}\n`);
        where = `; whole request in ${file} (npm run fuzz -- --replay-hex @${file})`;
      }
      lines.push(`  request (${culprit.frameBytes} bytes, hex, first 256 bytes${where}): ${culprit.frameHex.slice(0, 512)}…`);
    }
  } else if (finding.suspects.length > 0) {
    lines.push(`  ${suspectsLabel(finding)}: ${finding.suspects.slice(0, 24).join(', ')}`);
  }
  for (const line of finding.evidence.slice(0, 24)) lines.push(`  | ${abbreviate(line)}`);
  return lines.join('\n');
}

/** A finding as fields for a test's YAML diagnostics (multi-line values stay readable there). */
export function findingDiagnostics(finding: Finding, hexDir: string | null): Record<string, unknown> {
  const culprit = finding.culprit;
  const out: Record<string, unknown> = { kind: finding.kind, signature: finding.signature, occurrences: finding.occurrences, firstAtSeconds: Number((finding.atMs / 1000).toFixed(1)) };
  if (culprit !== null) {
    out['seed'] = culprit.seed;
    out['case'] = culprit.index;
    out['request'] = `${culprit.label} (${culprit.mode})`;
    out['replay'] = `npm run fuzz -- --replay ${culprit.seed}:${[...finding.prerequisites, culprit.index].join(',')}${finding.prerequisites.length === 0 ? ' --minimize' : ''}`;
    if (finding.prerequisites.length > 0) out['prerequisites'] = finding.prerequisites;
    out['notes'] = culprit.notes.slice(0, 16);
    if (culprit.frameBytes <= PRINTED_FRAME_BYTES_MAX) {
      out['hex'] = culprit.frameHex;
    } else {
      out['hexStart'] = `${culprit.frameHex.slice(0, 512)}… (${culprit.frameBytes} bytes)`;
      if (hexDir !== null) {
        mkdirSync(hexDir, { recursive: true });
        const file = join(hexDir, `seed-${culprit.seed}-case-${culprit.index}.hex`);
        writeFileSync(file, `${culprit.frameHex}\n`);
        out['hexFile'] = file;
      }
    }
  } else if (finding.suspects.length > 0) {
    out['suspects'] = `${suspectsLabel(finding)}: ${finding.suspects.slice(0, 24).join(', ')}`;
  }
  if (finding.evidence.length > 0) out['evidence'] = finding.evidence.slice(0, 24).map((line) => abbreviate(line)).join('\n');
  return out;
}

function suspectsLabel(finding: Finding): string {
  if (finding.kind.startsWith('witness')) return 'cases running while the witness waited (longest beyond their own allowed wait first)';
  if (finding.kind === 'rss' || finding.kind === 'fds') return 'cases run since the previous check';
  return 'not reproduced by one case alone; cases in flight or just finished';
}

/** Messages quote what clients sent (32 KB names): long runs of one character and long messages are cut. */
export function abbreviate(text: string, charactersMax = 400): string {
  const squeezed = text.replace(/(.)\1{15,}/g, (run, character: string) => `${character.repeat(3)}…(${run.length}×)`);
  return squeezed.length > charactersMax ? `${squeezed.slice(0, charactersMax)}…` : squeezed;
}

/** Collects findings, one per kind and signature. */
export class FindingSet {
  private readonly byKey = new Map<string, Finding>();

  constructor(private readonly startedAt: number) {}

  add(
    kind: FindingKind,
    signature: string,
    message: string,
    details: { culprit?: FuzzCase | null; suspects?: readonly number[]; prerequisites?: readonly number[]; evidence?: readonly string[]; atMs?: number } = {},
  ): Finding {
    const key = `${kind}\u0000${signature}`;
    const existing = this.byKey.get(key);
    if (existing !== undefined) {
      existing.occurrences++;
      if (existing.culprit === null && details.culprit !== undefined && details.culprit !== null) {
        // A later occurrence that could be blamed on one case is the better report.
        const upgraded: Finding = {
          ...existing,
          message: abbreviate(message),
          culprit: caseRecord(details.culprit),
          prerequisites: details.prerequisites ?? [],
          evidence: details.evidence ?? existing.evidence,
        };
        this.byKey.set(key, upgraded);
        return upgraded;
      }
      return existing;
    }
    const finding: Finding = {
      kind,
      signature,
      message: abbreviate(message),
      occurrences: 1,
      culprit: details.culprit === undefined || details.culprit === null ? null : caseRecord(details.culprit),
      suspects: details.suspects ?? [],
      prerequisites: details.prerequisites ?? [],
      evidence: details.evidence ?? [],
      atMs: (details.atMs ?? Date.now()) - this.startedAt,
    };
    this.byKey.set(key, finding);
    return finding;
  }

  has(kind: FindingKind, signature: string): boolean {
    return this.byKey.has(`${kind}\u0000${signature}`);
  }

  get all(): Finding[] {
    return [...this.byKey.values()];
  }
}
