// Node-only: a MetricsLog that appends to a file (.csv or .jsonl by extension). Appending keeps the
// rows of a resumed run in the same file; the CSV header is written only when the file is new.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../compiler/errors.ts';
import { MetricsLog, type LogFormat } from './logger.ts';

export function openMetricsFile(file: string, opts: { columns?: string[]; format?: LogFormat } = {}): MetricsLog {
  const format = opts.format ?? (path.extname(file).toLowerCase() === '.csv' ? 'csv' : 'jsonl');
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const existing = fs.existsSync(file) && fs.statSync(file).size > 0;
  return new MetricsLog(
    format,
    (text) => {
      try {
        fs.appendFileSync(file, text);
      } catch (err) {
        throw new UserError(`cannot write the metrics log ${file}: ${(err as Error).message}`);
      }
    },
    { ...(opts.columns ? { columns: opts.columns } : {}), headerWritten: existing },
  );
}
