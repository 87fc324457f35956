import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RegisterCommand } from './command.ts';
import { UserError } from '../../../compiler/errors.ts';
import { checkSpec, formatDiagnostics, formatSummary } from '../../../compiler/check/index.ts';
import { CONFIG_NAME } from '../../../runtime/io/hf-config.ts';
import { ModelFolder } from '../../../runtime/io/model-folder.ts';
import { compareFolderTensors } from '../../../runtime/model/folder-tensors.ts';
import { specForModelType } from '../../../runtime/model/load-spec.ts';

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

/** The lines `check` prints about config keys the spec does not read (a warning: they may matter). */
export function unreadKeysWarning(keys: readonly string[] | undefined, spec: string, config: string): string {
  if (!keys?.length) return '';
  return `warning: ${config} has keys ${spec} does not read (neither bound, refused nor ignored): ${keys.join(', ')}\n`;
}

/**
 * `rankfold check [FILE.rf] [--config config.json | --model DIR]`: prints diagnostics (exit 1) or a
 * summary of the checked model (exit 0). With --model the spec defaults to the shipped one of the
 * folder's model_type, and the folder's tensors are compared with the spec's weights (names, shapes).
 */
export const registerCheck: RegisterCommand = (program, setExitCode) => {
  program
    .command('check')
    .description('check a model spec (.rf), or a Hugging Face model folder against its spec, and summarize parameters and LoRA targets')
    .argument('[file]', 'the spec file (default with --model: the shipped spec of the config\'s model_type)')
    .option('--config <config.json>', 'bind parameters from a Hugging Face config.json')
    .option('--model <dir>', 'a Hugging Face model folder: its config binds the spec, its tensors are checked against the spec')
    .option('--set <name=value>', 'set a model parameter (repeatable)', parseSet, {})
    .action(async (file: string | undefined, opts: { config?: string; model?: string; set: Record<string, number | boolean | string> }) => {
      if (opts.config && opts.model) throw new UserError('give --config or --model, not both (a model folder has its config.json)');
      let config: Record<string, unknown> | undefined;
      let configName = opts.config;
      let folder: ModelFolder | undefined;
      if (opts.model) {
        folder = await ModelFolder.open(opts.model);
        config = folder.config;
        configName = join(opts.model, CONFIG_NAME);
      } else if (opts.config) {
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
      try {
        if (file === undefined && !folder) throw new UserError('check needs a spec file or --model DIR');
        const spec = file ?? specForModelType(config!['model_type'], configName);
        const text = readText(spec, 'spec');
        const result = checkSpec(text, spec, { config, overrides: opts.set });
        if (!result.model) {
          process.stderr.write(formatDiagnostics(result.diagnostics, result.source));
          setExitCode(1);
          return;
        }
        process.stdout.write(formatSummary(result.model));
        process.stderr.write(unreadKeysWarning(result.model.unreadConfigKeys, spec, configName ?? 'the config'));
        if (folder) {
          const r = compareFolderTensors(result.model, folder);
          const dtypes = Object.entries(r.dtypes).map(([d, n]) => `${n} ${d}`).join(', ');
          process.stdout.write(`folder ${opts.model}: ${folder.tensors.length} tensors (${dtypes}) in ${folder.files.length} file${folder.files.length === 1 ? '' : 's'}\n`);
          if (r.unused.length) process.stderr.write(`warning: ${opts.model} has tensors ${spec} does not use: ${r.unused.slice(0, 8).join(', ')}${r.unused.length > 8 ? `, ... (${r.unused.length})` : ''}\n`);
          const problems = [...r.missing.map((m) => `missing ${m}`), ...r.mismatched];
          if (problems.length) {
            process.stderr.write(`${opts.model} does not match ${spec}:\n${problems.slice(0, 20).map((p) => `  ${p}`).join('\n')}${problems.length > 20 ? `\n  ... ${problems.length - 20} more` : ''}\n`);
            setExitCode(1);
          }
        }
      } finally {
        await folder?.close();
      }
    });
};
