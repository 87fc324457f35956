// State shared by the checker's passes: the file, the diagnostics found so far, and the limits
// that keep any input from hanging the checker (unrolled ops, repeat counts, tensor sizes).
import { diag, type Diagnostic, type DiagnosticCode, type Loc } from '../language/diagnostics.ts';

/** Most tensors a model may unroll to (GPT-3 175B needs about 1,300; Llama 405B about 2,000). */
export const MAX_OPS = 50_000;
/** Largest dimension of any tensor: beyond it no GPU buffer could hold even one row. */
export const MAX_DIM = 1 << 30;

/** Thrown to abandon elaboration after a diagnostic that makes going on pointless (a limit hit). */
export class Abort extends Error {}

export class CheckContext {
  readonly diagnostics: Diagnostic[] = [];
  private seen = new Set<string>();

  constructor(readonly file: string) {}

  /**
   * Reports an error once per code and position: a mistake inside a repeat body is reported for
   * its first iteration only, not once per layer.
   */
  error(code: DiagnosticCode, message: string, loc: Loc): void {
    const key = `${code}:${loc.line}:${loc.col}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.diagnostics.push(diag(code, message, this.file, loc));
  }

  get failed(): boolean {
    return this.diagnostics.length > 0;
  }
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function didYouMean(name: string, candidates: Iterable<string>): string {
  let best = '';
  let bestD = Math.max(1, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best ? ` (did you mean '${best}'?)` : '';
}
