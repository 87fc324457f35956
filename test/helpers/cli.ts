// Runs the CLI in-process through main(), as `node bin/rankfold.js ARGS` would, capturing what it
// prints. In-process is ~50x cheaper than a child process; tests that need a real process (exit by
// signal, resource limits, raw crashes) spawn bin/rankfold.js themselves.
import { vi } from 'vitest';
import { main } from '../../apps/cli/main.ts';

export interface CliResult {
  /** main()'s exit status. */
  code: number;
  /** Everything printed to stdout (console.log lines end in '\n'). */
  out: string;
  /** Everything printed to stderr. */
  err: string;
  /** stdout piece by piece, as written (generate streams text in pieces). */
  writes: string[];
}

export async function runCli(args: string[]): Promise<CliResult> {
  const writes: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void writes.push(a.join(' ') + '\n'));
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (writes.push(String(s)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  try {
    const code = await main(args);
    return { code, out: writes.join(''), err: err.join(''), writes };
  } finally {
    log.mockRestore();
    stdout.mockRestore();
    stderr.mockRestore();
  }
}
