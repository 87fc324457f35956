// Reading a spec file for the runtime: compile's front end (parse, check, elaborate), whose
// CompileError is a UserError with the formatted diagnostics (file:line:col, excerpt, caret) as its
// message, never a stack trace.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { compile } from '../../compiler/compile.ts';
import { UserError, oneLine } from '../../compiler/errors.ts';
import { readTextFile } from '../io/node-fs.ts';

export interface LoadSpecOptions {
  /** A Hugging Face config.json's contents, bound through the spec's `config` block. */
  config?: Record<string, unknown>;
  /** Parameter values that override defaults and config (e.g. from command-line flags). */
  overrides?: Record<string, number | boolean | string>;
}

/**
 * The package's root: the nearest folder above this file holding a package.json. The sources run
 * from runtime/model/ and the installed package from dist/runtime/model/, so a fixed number of
 * `..` would only fit one of them.
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** The folder of the shipped example specs (dsl-examples/ at the package root). */
export const EXAMPLES_DIR = join(packageRoot(), 'dsl-examples');

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
  const text = readTextFile(file); // a folder, an unreadable file: one plain line
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`${file}: invalid config (${oneLine((err as Error).message)})`);
  }
}

export function loadSpec(file: string, options: LoadSpecOptions = {}): CheckedModel {
  if (!existsSync(file)) throw new UserError(`${file}: no such file`);
  const text = readTextFile(file);
  return compile({ text, file }, { ...options, stopAfter: 'elaborate' }).model;
}
