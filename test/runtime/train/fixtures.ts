// Tiny fixtures for the train / merge / generate tests: a char-gpt shrunk to one block of width 16
// (runs a training step in a few ms on the CPU interpreter), datasets, and a base weights file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpec } from '../../../runtime/model/load-spec.ts';
import { initBaseWeights } from '../../../runtime/model/weights.ts';
import { writeModelFile } from '../../../runtime/model/base-weights.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHAR_GPT = path.join(REPO, 'dsl-examples/char-gpt.rf');
export const TINY_SET = { d: 16, layers: 1, heads: 2 } as const;
export const TINY_SET_FLAGS = ['--set', 'd=16', '--set', 'layers=1', '--set', 'heads=2'];

export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rankfold-${tag}-`));
}

/** A prompt/completion JSONL file: the loss is on " abab" only. */
export function writeJsonl(dir: string, n = 24): string {
  const file = path.join(dir, 'data.jsonl');
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `Q${i % 5}:`, completion: ' abab' }));
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Plain text that a model learns in a few steps. */
export function writeText(dir: string): string {
  const file = path.join(dir, 'ab.txt');
  fs.writeFileSync(file, 'ab'.repeat(400));
  return file;
}

/** A base weights file for the tiny char-gpt, under its Hugging Face-style names. */
export function writeBase(dir: string, seed = 3): string {
  const model = loadSpec(CHAR_GPT, { overrides: TINY_SET });
  const file = path.join(dir, 'base.safetensors');
  writeModelFile(file, model, initBaseWeights(model, seed));
  return file;
}
