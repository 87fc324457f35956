// Metrics logs (loss, learning rate, tokens/s per step) as CSV or JSONL text. Pure: the caller
// supplies where lines go (node-logger.ts appends them to a file; a browser could keep them in memory).

export type MetricValue = number | string | boolean | null | undefined;
export type MetricRecord = Record<string, MetricValue>;
export type LogFormat = 'csv' | 'jsonl';

function csvField(v: MetricValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(values: readonly MetricValue[]): string {
  return values.map(csvField).join(',');
}

export class MetricsLog {
  private columns: string[] | undefined;
  private headerWritten: boolean;

  /**
   * write receives whole lines with their '\n'. For CSV the columns are fixed by `columns` or by
   * the first record; a record with a key outside them is a bug in the caller and throws. Pass
   * headerWritten when appending to a file that already has one (a resumed run).
   */
  constructor(
    readonly format: LogFormat,
    private readonly write: (text: string) => void,
    opts: { columns?: string[]; headerWritten?: boolean } = {},
  ) {
    this.columns = opts.columns;
    this.headerWritten = opts.headerWritten ?? false;
  }

  log(record: MetricRecord): void {
    if (this.format === 'jsonl') {
      // JSON has no NaN / Infinity: write them as null rather than produce an unparsable line.
      const clean = Object.fromEntries(Object.entries(record).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? null : v]));
      this.write(JSON.stringify(clean) + '\n');
      return;
    }
    this.columns ??= Object.keys(record);
    const extra = Object.keys(record).filter((k) => !this.columns!.includes(k));
    if (extra.length > 0) throw new Error(`MetricsLog: column(s) ${extra.join(', ')} not in the CSV header (${this.columns.join(', ')})`);
    if (!this.headerWritten) {
      this.write(csvRow(this.columns) + '\n');
      this.headerWritten = true;
    }
    this.write(csvRow(this.columns.map((c) => record[c])) + '\n');
  }
}
