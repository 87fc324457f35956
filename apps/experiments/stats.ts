// Small numeric and formatting helpers for the report: mean and sample standard deviation over
// seeds, medians of timings, and byte sizes in the units the paper uses (decimal GB/TB/MB).

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); NaN for fewer than two values (one seed has no spread). */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Decimal units (1 GB = 1e9 bytes), as the paper writes memory and checkpoint sizes. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const units: [number, string][] = [[1e12, 'TB'], [1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB']];
  for (const [size, unit] of units) if (Math.abs(n) >= size) return `${(n / size).toPrecision(3)} ${unit}`;
  return `${n} B`;
}

export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

/** "0.873", or "0.873 ± 0.012" when there is a spread. */
export function meanStd(xs: readonly number[], digits = 3): string {
  if (xs.length === 0) return '—';
  const m = mean(xs).toFixed(digits);
  const s = std(xs);
  return Number.isFinite(s) ? `${m} ± ${s.toFixed(digits)}` : m;
}

export function ratio(a: number, b: number, digits = 2): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(digits)}×` : '—';
}

/** A GitHub-flavoured markdown table; cells are escaped for pipes. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const sep = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  const lines = [header.map(cell), sep, ...rows.map((r) => r.map(cell))];
  return lines.map((r) => `| ${r.join(' | ')} |`).join('\n') + '\n';
}
