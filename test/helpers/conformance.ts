// The Hugging Face transformers + PEFT reference runs the tests compare against: one table of
// cases, all in test/fixtures/conformance (copied from the team's shared folder, made by its
// make_fixtures.py; README.md there says what each file holds). A missing case is an error, never
// a skip: these tests are how we know the compiler is right.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONFORMANCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'conformance');

/** Every reference case, by folder name. */
export const CONFORMANCE_CASES = ['llama_qv_r4', 'gpt2_cattn_r4'] as const;
export type ConformanceCase = (typeof CONFORMANCE_CASES)[number];

export function conformanceCase(name: ConformanceCase): string {
  const dir = join(CONFORMANCE_DIR, name);
  if (!existsSync(join(dir, 'config.json'))) throw new Error(`conformance fixture ${dir} not found`);
  return dir;
}
