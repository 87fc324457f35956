// A whole LoRA run scripted against Rankfold's public API, without the CLI:
//   npx tsx --conditions=rankfold-source dsl-examples/scripted-train.ts [--backend webgpu|interp] [--steps N] [--out DIR]
// (the condition makes `rankfold` resolve to this checkout's sources instead of its build in dist/)
// It trains adapters on char-gpt.rf for the synthetic "demo" task (lowercase word -> upper case),
// saves them in PEFT's format, reloads them and generates. `rankfold train` does the same with
// checkpoints, evaluation and a loss log on top.
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  BatchLoader,
  ByteTokenizer,
  Generator,
  adapterWeights,
  compile,
  createExecutor,
  executorTarget,
  createGpu,
  initAdapterWeights,
  initBaseWeights,
  loadSpec,
  readAdapterDir,
  readAdapterFromExecutor,
  setWeights,
  trainLoop,
  writeAdapterDir,
  EXAMPLES_DIR,
  type BackendName,
} from 'rankfold';
// The synthetic tasks belong to the demo app, not to the library.
import { getTask } from '../apps/tasks/index.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'interp' },
    steps: { type: 'string', default: '60' },
    out: { type: 'string', default: path.join(os.tmpdir(), 'rankfold-scripted-adapter') },
  },
});
const backend = values.backend as BackendName;
const steps = Number(values.steps);
const [batch, seq, seed] = [8, 32, 0];

// 1. The model: the spec's `lora targets` decide which layers get adapters.
const model = loadSpec(path.join(EXAMPLES_DIR, 'char-gpt.rf'));
const gpu = backend === 'webgpu' ? await createGpu() : undefined;

// 2. Data: prompt/completion pairs, one padded row each; labels are -100 on the prompt, so only
// the completion is learned (labels are unshifted, as in Hugging Face).
const tok = new ByteTokenizer();
const examples = getTask('demo').generate(256, seed);
const ids = new Int32Array(examples.length * seq);
const labels = new Int32Array(examples.length * seq).fill(-100);
examples.forEach((ex, r) => {
  const p = tok.encode(ex.prompt);
  const c = tok.encode(ex.completion);
  [...p, ...c].slice(0, seq).forEach((t, i) => (ids[r * seq + i] = t));
  c.forEach((t, i) => p.length + i < seq && (labels[r * seq + p.length + i] = t));
});
const loader = new BatchLoader({ count: examples.length, seqLen: seq, ids, labels }, { batchSize: batch, seed });

// 3. A compiled training step (forward, backward for the adapters, AdamW: compile's stages, with
// kernels for this device's target) with weights loaded. The base here is a random init; pass real
// weights with readBaseWeights(model, readSafetensorsFile(f)).
const adamw = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };
const backendOptions = { backend, gpu };
const program = compile(model, { mode: 'train', batch, seq, adamw, target: executorTarget(backendOptions) });
const exec = await createExecutor(program, backendOptions);
const base = initBaseWeights(model, seed);
setWeights(exec, base);
setWeights(exec, initAdapterWeights(model, base, seed + 1));

// 4. Train: warm-up then cosine decay; the loss is read back every 10 steps.
const history = await trainLoop(
  exec,
  loader,
  { steps, schedule: { kind: 'cosine', lr: 3e-3, warmupSteps: 5, totalSteps: steps }, adamw, logEvery: 10, evalEvery: 0 },
  { onStep: (s) => console.log(`step ${s.step + 1}/${steps}  loss ${s.loss.toFixed(4)}  lr ${s.lr.toExponential(2)}`) },
);
console.log(`loss ${history[0]!.loss.toFixed(4)} -> ${history[history.length - 1]!.loss.toFixed(4)}`);

// 5. Save in PEFT's format (adapter_config.json + adapter_model.safetensors) and read it back.
writeAdapterDir(values.out!, await readAdapterFromExecutor(exec, model));
exec.destroy();
const adapter = readAdapterDir(values.out!);
console.log(`saved ${adapter.tensors.size} adapted modules to ${values.out}`);

// 6. Generate with the reloaded adapter over the same base (KV cache, greedy).
const prompt = examples[0]!.prompt;
const gen = await Generator.create(model, [base, adapterWeights(model, adapter, values.out!)], { backend, gpu, batch: 1, cacheLen: seq });
const [out] = await gen.generate([tok.encode(prompt)], { maxNewTokens: 10, stopToken: 10 });
console.log(`${prompt}${tok.decode(out!).trimEnd()}   (expected ${examples[0]!.completion.trim()})`);
gen.destroy();
gpu?.device.destroy();
