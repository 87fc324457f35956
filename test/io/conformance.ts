// Where the shared HF/PEFT reference fixtures live: shared/ beside the repository (as on CI), or
// RANKFOLD_CONFORMANCE. Tests that need them skip with a reason when they are absent.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const conformanceDir: string | undefined = [
  process.env.RANKFOLD_CONFORMANCE,
  path.join(repoRoot, 'shared/conformance'),
  path.join(repoRoot, '../shared/conformance'),
].find((d): d is string => !!d && fs.existsSync(path.join(d, 'llama_qv_r4')));

export const CASES = ['llama_qv_r4', 'gpt2_cattn_r4'] as const;
