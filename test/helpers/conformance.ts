// Where the Hugging Face reference runs live: ../shared/conformance beside the repository (CI puts
// a copy there too). RANKFOLD_CONFORMANCE overrides the location.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONFORMANCE_DIR =
  process.env.RANKFOLD_CONFORMANCE ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'conformance');

export const CONFORMANCE_CASES = ['llama_qv_r4', 'gpt2_cattn_r4'] as const;

export function conformanceCase(name: string): string {
  const dir = join(CONFORMANCE_DIR, name);
  // Missing fixtures are an error, not a skip: these tests are how we know the compiler is right.
  if (!existsSync(join(dir, 'config.json'))) throw new Error(`conformance fixture ${dir} not found (set RANKFOLD_CONFORMANCE)`);
  return dir;
}
