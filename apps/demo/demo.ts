// The main job (`npm run demo`): pretrain the tiny char-level GPT of dsl-examples/char-gpt.rf on a
// generated corpus, freeze it, teach it a new task with a LoRA adapter, and show the difference.
// Everything runs through the same compiler and runtime a user's own spec would.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { packConcat, packPadded, tokenizeExample } from '../../runtime/data/dataset.ts';
import { BatchLoader } from '../../runtime/data/loader.ts';
import { demoTask, generateBaseCorpus } from '../tasks/index.ts';
import { ByteTokenizer } from '../../runtime/data/tokenizer.ts';
import type { Executor } from '../../runtime/exec/executor.ts';
import { Generator } from '../../runtime/generate/generator.ts';
import { scoreTask, type TaskScore } from '../tasks/score.ts';
import type { GpuContext } from '../../runtime/device/device.ts';
import { commitFiles, requireOwnable } from '../../runtime/io/atomic.ts';
import { writeAdapterDir } from '../../runtime/io/node-fs.ts';
import { OutputDir } from '../../runtime/io/output-dir.ts';
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME } from '../../runtime/io/peft.ts';
import { serializeSafetensors } from '../../runtime/io/safetensors.ts';
import { compile } from '../../compiler/compile.ts';
import { createExecutor, executorTarget, type ExecutorOptions } from '../../runtime/exec/create.ts';
import { loadSpec, EXAMPLES_DIR } from '../../runtime/model/load-spec.ts';
import { mergeAdapterWeights, stripAdapters } from '../../runtime/adapters/merge-model.ts';
import { initBaseWeights, setWeights, weightTensors, type WeightMap } from '../../runtime/model/weights.ts';
import { adapterWeights, readAdapterFromExecutor } from '../../runtime/adapters/adapter-weights.ts';
import { initAdapterWeights } from '../../runtime/adapters/init.ts';
import { TrainingProgress } from '../../runtime/report/progress.ts';
import { lineChartSvg } from '../../runtime/report/charts.ts';
import { trainLoop, type StepInfo } from '../../runtime/train/trainer.ts';

export interface DemoOptions {
  out: string;
  gpu?: GpuContext;
  backend: 'webgpu' | 'interp';
  seed: number;
  pretrainSteps: number;
  loraSteps: number;
  log: (line: string) => void;
}

export interface DemoResult {
  before: TaskScore;
  after: TaskScore;
  merged: TaskScore;
  adapterBytes: number;
  modelBytes: number;
}

const ADAMW = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 };

async function train(exec: Executor, loader: BatchLoader, steps: number, lr: number, label: string, quiet = false): Promise<StepInfo[]> {
  const progress = quiet ? undefined : new TrainingProgress({ total: steps, label });
  try {
    return await trainLoop(
      exec,
      loader,
      { steps, schedule: { kind: 'cosine', lr, warmupSteps: Math.ceil(steps / 20), totalSteps: steps }, adamw: ADAMW, logEvery: 10, evalEvery: 0 },
      { onStep: (i) => progress?.update(i.step + 1, { loss: i.loss, tokens: i.tokens }) },
    );
  } finally {
    progress?.stop();
  }
}

async function paramsOf(exec: Executor, names: Iterable<string>): Promise<WeightMap> {
  const out: WeightMap = new Map();
  for (const n of names) out.set(n, await exec.getParam(n));
  return out;
}

/**
 * Step 1 of the demo: trains every weight of the base model (no adapters) on the generated corpus
 * from GPT-2-style initial weights. The playground's shipped base model comes from here too
 * (apps/playground/make-base.ts).
 */
export async function pretrainBase(base: CheckedModel, exec: ExecutorOptions, o: { seed: number; steps: number; quiet?: boolean }): Promise<{ weights: WeightMap; history: StepInfo[]; corpusChars: number }> {
  const tok = new ByteTokenizer();
  const ctx = Number(base.params['ctx'] ?? 64);
  const corpus = generateBaseCorpus({ seed: o.seed, minChars: 300_000 });
  const rows = packConcat([tokenizeExample(tok, { text: corpus }, { appendEos: false })], ctx);
  const batch = 16;
  const pre = await createExecutor(compile(base, { mode: 'train', batch, seq: ctx, fullFinetune: true, adamw: ADAMW, target: executorTarget(exec) }), exec);
  try {
    const init = initBaseWeights(base, o.seed);
    setWeights(pre, init);
    const history = await train(pre, new BatchLoader(rows, { batchSize: batch, seed: o.seed }), o.steps, 3e-3, 'pretrain', o.quiet);
    return { weights: await paramsOf(pre, init.keys()), history, corpusChars: corpus.length };
  } finally {
    pre.destroy();
  }
}

/** What the demo writes into --out (and ADAPTER_DIR/ holds a PEFT adapter). */
const DEMO_FILES = ['base.safetensors', 'merged.safetensors', 'loss.csv', 'loss.svg'];
const ADAPTER_DIR = 'adapter';

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  // Held for the run: locked, cleaned of what a killed demo left, removed again if it fails empty.
  const outDir = OutputDir.open(o.out, 'rankfold demo', [ADAPTER_DIR]);
  let ok = false;
  try {
    requireOwnable(o.out, DEMO_FILES);
    requireOwnable(join(o.out, ADAPTER_DIR), [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME]);
    const result = await demoInto(o);
    ok = true;
    return result;
  } finally {
    outDir.close({ failed: !ok });
  }
}

async function demoInto(o: DemoOptions): Promise<DemoResult> {
  const exec: ExecutorOptions = { backend: o.backend, ...(o.gpu ? { gpu: o.gpu } : {}) };
  const target = executorTarget(exec);
  const tok = new ByteTokenizer();
  const spec = join(EXAMPLES_DIR, 'char-gpt.rf');
  const adapted: CheckedModel = loadSpec(spec);
  const base = stripAdapters(adapted);
  const ctx = Number(base.params['ctx'] ?? 64);
  o.log(`model: ${spec} (${base.counts.base.toLocaleString()} parameters; LoRA on ${adapted.lora.length} projections adds ${adapted.counts.adapter.toLocaleString()})`);

  // 1. Pretrain the whole base model on the generated corpus.
  o.log(`\n1. pretraining the base model on about 300k characters of generated text`);
  const { weights: baseWeights, history: preLog } = await pretrainBase(base, exec, { seed: o.seed, steps: o.pretrainSteps });
  const batch = 16;
  commitFiles(o.out, { 'base.safetensors': serializeSafetensors(weightTensors(base, baseWeights)) });

  // 2. The new task, before adaptation.
  // A new fact table (name -> country) the base never saw: what a LoRA on q and v can learn quickly.
  const task = demoTask('lookup');
  const evalSet = task.generate(48, o.seed + 1_000_003);
  const gen = await Generator.create(adapted, [baseWeights, initAdapterWeights(adapted, baseWeights, o.seed)], { ...exec, batch: 16, cacheLen: ctx });
  o.log(`\n2. task: ${task.description}`);
  const before = await scoreTask(gen, tok, task, evalSet);
  o.log(`   frozen base model: ${(before.accuracy * 100).toFixed(0)}% exact match`);

  // 3. Train only the LoRA adapter (the base stays frozen: no gradients or optimizer state for it).
  const seq = 32;
  const trainRows = packPadded(task.generate(2000, o.seed + 7).map((e) => tokenizeExample(tok, e, { appendEos: false })), seq);
  const lora = await createExecutor(compile(adapted, { mode: 'train', batch, seq, adamw: ADAMW, target }), exec);
  setWeights(lora, baseWeights);
  setWeights(lora, initAdapterWeights(adapted, baseWeights, o.seed));
  o.log(`\n3. training a rank-${adapted.lora[0]?.config.rank} LoRA adapter (${adapted.counts.adapter.toLocaleString()} trainable parameters, base frozen)`);
  const loraLog = await train(lora, new BatchLoader(trainRows, { batchSize: batch, seed: o.seed }), o.loraSteps, 1e-2, 'lora');
  const adapter = await readAdapterFromExecutor(lora, adapted);
  const loraWeights = adapterWeights(adapted, adapter, 'the trained adapter', { base: baseWeights });
  lora.destroy();

  gen.setWeights(loraWeights);
  const after = await scoreTask(gen, tok, task, evalSet);
  o.log(`   with the adapter: ${(after.accuracy * 100).toFixed(0)}% exact match`);
  o.log('\n   prompt          before      after');
  for (let i = 0; i < 6; i++) {
    const show = (s: string) => JSON.stringify(s.split('\n')[0]).padEnd(11);
    o.log(`   ${evalSet[i]!.prompt.padEnd(15)} ${show(before.predictions[i]!)} ${show(after.predictions[i]!)}`);
  }
  gen.destroy();

  // 4. Merge: the adapter folded into the base weights runs as a plain model, same answers.
  const merged = mergeAdapterWeights(adapted, baseWeights, loraWeights);
  const plainGen = await Generator.create(base, [merged], { ...exec, batch: 16, cacheLen: ctx });
  const mergedScore = await scoreTask(plainGen, tok, task, evalSet);
  plainGen.destroy();
  const same = mergedScore.predictions.every((p, i) => p === after.predictions[i]);
  o.log(`\n4. merged model: ${(mergedScore.accuracy * 100).toFixed(0)}% exact match; same answers as base + adapter: ${same ? 'yes' : 'NO'}`);

  writeAdapterDir(join(o.out, ADAPTER_DIR), adapter);
  commitFiles(o.out, {
    'merged.safetensors': serializeSafetensors(weightTensors(base, merged)),
    'loss.csv': ['phase,step,loss', ...preLog.map((s) => `pretrain,${s.step + 1},${s.loss}`), ...loraLog.map((s) => `lora,${s.step + 1},${s.loss}`)].join('\n') + '\n',
    'loss.svg': await lineChartSvg({
      title: 'char-gpt: pretraining, then LoRA on a new task',
      xLabel: 'step',
      xInteger: true,
      yLabel: 'training loss',
      series: [
        { name: 'pretrain (all weights)', x: preLog.map((s) => s.step + 1), y: preLog.map((s) => s.loss) },
        { name: 'LoRA (adapter only)', x: loraLog.map((s) => o.pretrainSteps + s.step + 1), y: loraLog.map((s) => s.loss) },
      ],
    }),
  });
  const adapterBytes = statSync(join(o.out, 'adapter', 'adapter_model.safetensors')).size;
  const modelBytes = statSync(join(o.out, 'merged.safetensors')).size;
  o.log(`\nwrote ${o.out}/: adapter/ (${(adapterBytes / 1024).toFixed(1)} KiB), merged.safetensors (${(modelBytes / 1024).toFixed(0)} KiB), base.safetensors, loss.csv, loss.svg`);
  return { before, after, merged: mergedScore, adapterBytes, modelBytes };
}
