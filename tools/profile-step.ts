// Profiles one training step of a model spec on the WebGPU backend: a per-kernel table (each
// dispatch timed alone, summed per pipeline key) and the whole-step time (run() + read('loss')).
//   npx tsx tools/profile-step.ts dsl-examples/char-gpt.rf            full fine-tuning, adapters stripped
//   npx tsx tools/profile-step.ts dsl-examples/char-gpt.rf --lora     the spec's LoRA adapters only
//   options: --batch N --seq N --reps N (per-kernel repetitions) --steps N (whole-step repetitions)
//            --no-kernels (whole step only) --adapter TEXT
import { loadSpec, compile, createExecutor, createGpu, targetFor, DEFAULT_ADAMW, initBaseWeights, initAdapterWeights, setWeights, stripAdapters } from '../runtime/index.ts';
import { feedTokens } from '../runtime/model/feeds.ts';
import { optimHyper, OPTIM_INPUT } from '../compiler/optim/adamw.ts';
import { GpuExecutor } from '../runtime/exec/gpu-executor.ts';
import { profileKernels, timeWholeStep, formatProfile } from '../runtime/device/profile.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const spec = process.argv[2];
if (!spec || spec.startsWith('--')) {
  console.error('usage: tools/profile-step.ts SPEC [--lora] [--batch N] [--seq N] [--reps N] [--steps N] [--no-kernels]');
  process.exit(2);
}
const lora = flag('lora');
const batch = arg('batch', 16);
const seq = arg('seq', 64);
const adapterIdx = process.argv.indexOf('--adapter');

const loaded = loadSpec(spec);
const model = lora ? loaded : stripAdapters(loaded);
const gpu = await createGpu(adapterIdx > 0 ? { adapter: process.argv[adapterIdx + 1]! } : {});
const program = compile(model, { mode: 'train', batch, seq, ...(lora ? {} : { fullFinetune: true }), target: targetFor(gpu) });
const exec = await createExecutor(program, { backend: 'webgpu', gpu });
if (!(exec instanceof GpuExecutor)) throw new Error('expected the webgpu executor');
const base = initBaseWeights(model, 0);
setWeights(exec, base);
if (lora) setWeights(exec, initAdapterWeights(model, base, 1));

// Deterministic token ids; labels are the ids themselves (shifted by feedTokens).
const ids = Int32Array.from({ length: batch * seq }, (_, i) => (i * 7919 + 13) % 256);
feedTokens(exec, ids, batch, seq, ids);
let t = 0;
exec.setInput('step', Int32Array.of(0));
const step = () => {
  exec.setInput(OPTIM_INPUT, optimHyper(1e-4, ++t, DEFAULT_ADAMW));
  exec.run();
};
const sync = () => exec.read('loss');

console.log(`${spec} ${lora ? 'LoRA' : 'full fine-tune'} batch ${batch} seq ${seq} on ${gpu.adapterName}`);
console.log(`dispatches per step: ${exec.stats.dispatchesPerRun}, kernels: ${exec.stats.kernels}`);
const wholeMs = await timeWholeStep(step, sync, arg('steps', 5));
if (!flag('no-kernels')) {
  const profile = await profileKernels(exec.program, arg('reps', 3));
  console.log(formatProfile(profile));
}
console.log(`whole step (run + read loss): ${wholeMs.toFixed(1)} ms, loss ${(await exec.read('loss'))[0]!.toFixed(4)}`);
exec.destroy();
process.exit(0);
