// Makes the playground's shipped base model, apps/playground/public/char-gpt-base.safetensors: the
// demo's pretraining (apps/demo/demo.ts pretrainBase) of dsl-examples/char-gpt.rf, written once and
// committed (about 550 kB) so the page trains adapters at once instead of pretraining first.
//   npx tsx apps/playground/make-base.ts [--steps 300] [--seed 0]
import { join } from 'node:path';
import { createGpu } from '../../runtime/device/device.ts';
import { writeSafetensorsFile } from '../../runtime/io/node-fs.ts';
import { EXAMPLES_DIR, loadSpec } from '../../runtime/model/load-spec.ts';
import { stripAdapters } from '../../runtime/adapters/merge-model.ts';
import { weightTensors } from '../../runtime/model/weights.ts';
import { pretrainBase } from '../demo/demo.ts';
import { BASE_ASSET } from './src/engine.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const steps = arg('steps', 300);
const seed = arg('seed', 0);
const gpu = await createGpu();
console.log(`WebGPU adapter: ${gpu.adapterName}`);
const base = stripAdapters(loadSpec(join(EXAMPLES_DIR, 'char-gpt.rf')));
const { weights, history } = await pretrainBase(base, { backend: 'webgpu', gpu }, { seed, steps });
const out = join(import.meta.dirname, 'public', BASE_ASSET);
const last = history.at(-1)!;
writeSafetensorsFile(out, weightTensors(base, weights), {
  format: 'pt',
  rankfold: `char-gpt.rf pretrained by apps/playground/make-base.ts: ${steps} steps, seed ${seed}, final loss ${last.loss.toFixed(4)}`,
});
console.log(`wrote ${out} (final pretraining loss ${last.loss.toFixed(4)})`);
gpu.device.destroy();
