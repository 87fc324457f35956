// Reading a spec file for the runtime: compile's front end (parse, check, elaborate), whose
// CompileError is a UserError with the formatted diagnostics (file:line:col, excerpt, caret) as its
// message, never a stack trace. A Hugging Face model's spec comes from its config's model_type, out
// of the specs shipped in dsl-examples/ (loadModelSpec), unless a spec file is given.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { compile } from '../../compiler/compile.ts';
import { CompileError, UserError, oneLine } from '../../compiler/errors.ts';
import { CONFIG_NAME, type JsonObject } from '../io/hf-config.ts';
import type { ModelFolder } from '../io/model-folder.ts';
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

/** The Hugging Face model types with a spec shipped in dsl-examples/<model_type>.rf. */
export const MODEL_TYPES = ['llama', 'qwen2', 'mistral', 'phi3', 'gemma', 'gpt2'] as const;

/**
 * The shipped spec for a Hugging Face model_type (config.json), e.g. llama -> dsl-examples/llama.rf.
 * `source` names the config in messages.
 */
export function specForModelType(modelType: unknown, source = CONFIG_NAME): string {
  const supported = `supported: ${MODEL_TYPES.join(', ')}; a spec file given on the command line overrides`;
  if (typeof modelType !== 'string') throw new UserError(`${source}: no "model_type" string, so no shipped spec applies (${supported})`);
  if (!(MODEL_TYPES as readonly string[]).includes(modelType)) throw new UserError(`${source}: model_type "${modelType}" is not supported (${supported})`);
  const file = join(EXAMPLES_DIR, `${modelType}.rf`);
  if (!existsSync(file)) throw new UserError(`the package is missing its spec for model_type "${modelType}" (${file})`);
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

export interface LoadModelSpecOptions {
  /** A spec file that overrides the one of the config's model_type. */
  spec?: string;
  /** Parameter values that override the config and the defaults. */
  overrides?: Record<string, number | boolean | string>;
}

export interface LoadedModelSpec {
  model: CheckedModel;
  /** The spec file used. */
  spec: string;
  config: JsonObject;
  /** Where the config came from (for messages). */
  configSource: string;
}

/**
 * The checked model of a Hugging Face model: from a model folder (ModelFolder.open) or a config.json's
 * contents, through the shipped spec of its model_type or `options.spec`. The config's fields are
 * bound, refused or ignored by the spec; `model.unreadConfigKeys` lists the ones it does not know.
 */
export function loadModelSpec(from: ModelFolder | { config: JsonObject; source?: string }, options: LoadModelSpecOptions = {}): LoadedModelSpec {
  const configSource = 'dir' in from ? join(from.dir, CONFIG_NAME) : (from.source ?? CONFIG_NAME);
  const spec = options.spec ?? specForModelType(from.config['model_type'], configSource);
  try {
    const model = loadSpec(spec, { config: from.config, ...(options.overrides ? { overrides: options.overrides } : {}) });
    return { model, spec, config: from.config, configSource };
  } catch (err) {
    if (err instanceof CompileError) throw new UserError(`${spec} does not fit ${configSource}:\n${err.message}`);
    throw err;
  }
}
