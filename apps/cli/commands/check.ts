import { readFileSync, statSync } from 'node:fs';
import type { RegisterCommand } from './command.ts';
import { UserError } from '../../../compiler/errors.ts';
import { checkSpec, formatDiagnostics, formatSummary } from '../../../compiler/check/index.ts';

/** Parses `--set name=value`: numbers and true/false become typed, anything else stays a string. */
function parseSet(item: string, prev: Record<string, number | boolean | string>): Record<string, number | boolean | string> {
  const eq = item.indexOf('=');
  if (eq <= 0) throw new UserError(`--set expects name=value, got '${item}'`);
  const name = item.slice(0, eq);
  const raw = item.slice(eq + 1);
  const value = raw === 'true' ? true : raw === 'false' ? false : raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return { ...prev, [name]: value };
}

function readText(path: string, what: string): string {
  try {
    if (statSync(path).isDirectory()) throw new UserError(`${what} ${path} is a directory`);
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `rankfold check FILE.rf`: prints diagnostics (exit 1) or a summary of the checked model (exit 0). */
export const registerCheck: RegisterCommand = (program, setExitCode) => {
  program
    .command('check')
    .description('check a model spec (.rf) and summarize its parameters and LoRA targets')
    .argument('<file>', 'the spec file')
    .option('--config <config.json>', 'bind parameters from a Hugging Face config.json')
    .option('--set <name=value>', 'set a model parameter (repeatable)', parseSet, {})
    .action((file: string, opts: { config?: string; set: Record<string, number | boolean | string> }) => {
      const text = readText(file, 'spec');
      let config: Record<string, unknown> | undefined;
      if (opts.config) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(readText(opts.config, 'config'));
        } catch (e) {
          if (e instanceof UserError) throw e;
          throw new UserError(`${opts.config} is not valid JSON: ${(e as Error).message}`);
        }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UserError(`${opts.config} must hold a JSON object`);
        config = parsed as Record<string, unknown>;
      }
      const result = checkSpec(text, file, { config, overrides: opts.set });
      if (result.model) {
        process.stdout.write(formatSummary(result.model));
        return;
      }
      process.stderr.write(formatDiagnostics(result.diagnostics, result.source));
      setExitCode(1);
    });
};
