// Reading a spec file for the runtime: check it, and turn diagnostics into one UserError whose
// message is the formatted diagnostics (file:line:col, excerpt, caret), never a stack trace.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSpec } from '../../compiler/check/index.ts';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { formatDiagnostics } from '../../compiler/language/diagnostics.ts';
import { Source } from '../../compiler/language/source.ts';
import { UserError } from '../../compiler/errors.ts';

export interface LoadSpecOptions {
  /** A Hugging Face config.json's contents, bound through the spec's `config` block. */
  config?: Record<string, unknown>;
  /** Parameter values that override defaults and config (e.g. from command-line flags). */
  overrides?: Record<string, number | boolean | string>;
}

/** The folder of the shipped example specs (dsl-examples/), found from this file's location. */
export const EXAMPLES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dsl-examples');

/** The shipped spec for a Hugging Face model_type (config.json), e.g. llama -> dsl-examples/llama.rf. */
export function specForModelType(modelType: string): string {
  const file = join(EXAMPLES_DIR, `${modelType}.rf`);
  if (!/^[a-z0-9_-]+$/i.test(modelType) || !existsSync(file)) {
    throw new UserError(`no spec for model_type "${modelType}" (looked for ${file})`);
  }
  return file;
}

export function readConfigJson(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new UserError(`${file}: not found`);
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`${file}: invalid config (${(err as Error).message})`);
  }
}

export function loadSpec(file: string, options: LoadSpecOptions = {}): CheckedModel {
  if (!existsSync(file)) throw new UserError(`${file}: no such file`);
  const text = readFileSync(file, 'utf8');
  const { model, diagnostics } = checkSpec(text, file, options);
  if (!model || diagnostics.length > 0) {
    throw new UserError(formatDiagnostics(diagnostics, new Source(text, file)).trimEnd());
  }
  return model;
}
