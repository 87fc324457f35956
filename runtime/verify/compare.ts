// Comparing our tensors with reference ones, with the tolerances of the conformance fixtures:
// absolute error for logits and losses, error relative to the largest reference magnitude for
// gradients and weights (so tiny entries of a large tensor are not held to a relative bound).

export interface CheckResult {
  check: string;
  maxAbs: number;
  maxRel: number;
  tolerance: number;
  /** Which error the tolerance bounds. */
  mode: 'abs' | 'rel';
  pass: boolean;
}

export function compareTensors(check: string, ours: ArrayLike<number>, ref: ArrayLike<number>, mode: 'abs' | 'rel', tolerance: number): CheckResult {
  if (ours.length !== ref.length) {
    return { check: `${check} (${ours.length} vs ${ref.length} values)`, maxAbs: Infinity, maxRel: Infinity, tolerance, mode, pass: false };
  }
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const diff = Math.abs(ours[i]! - ref[i]!);
    // NaN must fail: comparisons with NaN are false, so track it explicitly.
    maxAbs = Number.isNaN(diff) ? NaN : Number.isNaN(maxAbs) ? maxAbs : Math.max(maxAbs, diff);
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  const maxRel = scale > 0 ? maxAbs / scale : maxAbs;
  const err = mode === 'abs' ? maxAbs : maxRel;
  return { check, maxAbs, maxRel, tolerance, mode, pass: err <= tolerance };
}

export function formatTable(rows: CheckResult[]): string {
  const head = ['check', 'max abs error', 'max rel error', 'tolerance', 'pass'];
  const body = rows.map((r) => [r.check, r.maxAbs.toExponential(2), r.maxRel.toExponential(2), `${r.tolerance.toExponential(0)} ${r.mode}`, r.pass ? 'yes' : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
