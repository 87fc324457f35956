// Shared helpers for the language tests.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSpec, formatDiagnostics, type CheckOptions } from '../../../compiler/check/index.ts';
import { conformanceCase } from '../../helpers/conformance.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const EXAMPLES = join(ROOT, 'dsl-examples');
export const INVALID = join(EXAMPLES, 'invalid');
export const CONFORMANCE = dirname(conformanceCase('llama_qv_r4'));

export function listRf(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.rf'))
    .sort()
    .map((f) => join(dir, f));
}

/** Checks a file as the CLI does, with its path relative to the repository root. */
export function checkFile(path: string, opts: CheckOptions = {}) {
  const rel = relative(ROOT, path);
  return checkSpec(readFileSync(path, 'utf8'), rel, opts);
}

/** Checks inline text; returns "line:col code message" lines for compact assertions. */
export function errors(text: string, opts: CheckOptions = {}): string[] {
  return checkSpec(text, 't.rf', opts).diagnostics.map((d) => `${d.line}:${d.col} ${d.code} ${d.message}`);
}

export function printed(text: string): string {
  const r = checkSpec(text, 't.rf');
  return formatDiagnostics(r.diagnostics, r.source);
}

/** A small valid model to build test cases on. */
export function tiny(body: string, params = 'd: int = 8', after = ''): string {
  return `model m(${params}) {\n  input ids: tokens\n  x = embedding(ids, 10, d) as "wte"\n${body}\n}\n${after}`;
}

/** Deterministic PRNG (mulberry32) so fuzz runs are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
