// Golden WGSL of whole example programs: every kernel a LoRA training step of each example spec
// compiles to (`rankfold compile SPEC --emit wgsl`), so a change in generated code shows in review.
// UPDATE_GOLDEN=1 rewrites them after an intended change.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../../compiler/compile.ts';
import { formatWgsl } from '../../../compiler/emit/index.ts';
import { makeTarget } from '../../../compiler/target.ts';
import { EXAMPLES_DIR, loadSpec, readConfigJson } from '../../../runtime/model/load-spec.ts';
import { conformanceCase } from '../../helpers/conformance.ts';

const DIR = new URL('./golden/examples/', import.meta.url).pathname;

const EXAMPLES: Record<string, () => ReturnType<typeof loadSpec>> = {
  'char-gpt': () => loadSpec(join(EXAMPLES_DIR, 'char-gpt.rf')),
  llama: () => loadSpec(join(EXAMPLES_DIR, 'llama.rf'), { config: readConfigJson(join(conformanceCase('llama_qv_r4'), 'config.json')) }),
  gpt2: () => loadSpec(join(EXAMPLES_DIR, 'gpt2.rf'), { config: readConfigJson(join(conformanceCase('gpt2_cattn_r4'), 'config.json')) }),
};

describe('golden WGSL of the example specs', () => {
  for (const [name, load] of Object.entries(EXAMPLES)) {
    for (const target of ['gpu', 'cpu'] as const) {
      it(`${name}: LoRA training step (${target} kernels)`, () => {
        const program = compile(load(), { mode: 'train', batch: 2, seq: 16, target: makeTarget(target) });
        const wgsl = formatWgsl(program.graph, program.kernels);
        const file = join(DIR, `${name}.train.${target}.wgsl`);
        if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
          if (process.env.CI === 'true' && !existsSync(file)) throw new Error(`golden file ${file} is missing`);
          mkdirSync(DIR, { recursive: true });
          writeFileSync(file, wgsl);
        }
        expect(wgsl, `${file} (UPDATE_GOLDEN=1 to rewrite)`).toBe(readFileSync(file, 'utf8'));
      });
    }
  }
});
