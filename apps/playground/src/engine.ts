// Everything the playground asks of the compiler and the runtime, in one module: the page's other
// files never import compiler/ or runtime/ directly. Browser-safe (runtime/core.ts and the shipped
// tasks) and also run by Node: test/browser compares a page-trained adapter with trainAdapter() here
// on Dawn, and the browser bench times timeTrainSteps() on both sides.
import {
  BatchLoader,
  ByteTokenizer,
  Generator,
  adapterWeights,
  checkSpec,
  compile,
  createExecutor,
  executorTarget,
  formatDiagnostics,
  formatPlanBytes,
  formatSummary,
  HfFolder,
  initAdapterWeights,
  mergeAdapterWeights,
  packPadded,
  parseSafetensors,
  printGraph,
  readAdapter,
  readAdapterFromExecutor,
  readBaseWeights,
  setWeights,
  streamBaseWeights,
  stripAdapters,
  tokenizeExample,
  trainLoop,
  writeAdapter,
  type Adapter,
  type AdapterFiles,
  type CheckResult,
  type CheckedModel,
  type FolderSource,
  type Executor,
  type GpuContext,
  type StepInfo,
  type WeightMap,
} from '../../../runtime/core.ts';
import { demoTask, type TaskExample } from '../../tasks/index.ts';
import { scoreTask } from '../../tasks/score.ts';

export { createGpu, NO_ADAPTER_HELP, UserError, ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, parseSafetensors } from '../../../runtime/core.ts';
export type { Adapter, AdapterFiles, ByteSource, CheckResult, CheckedModel, Diagnostic, FolderSource, GpuContext, HfFolder, StepInfo, WeightMap } from '../../../runtime/core.ts';

/** The spec the page opens with (dsl-examples/char-gpt.rf) and the name diagnostics give it. */
export const SPEC_FILE = 'char-gpt.rf';
/** The pretrained base weights of char-gpt.rf, in apps/playground/public (made by make-base.ts). */
export const BASE_ASSET = 'char-gpt-base.safetensors';

/** The adapter task: the demo's name -> country lookup, which the frozen base cannot answer. */
export const TASK = demoTask('lookup');

export interface TrainSettings {
  steps: number;
  lr: number;
  seed: number;
  batch: number;
  seq: number;
  /** Training examples generated from the seed. */
  examples: number;
}

/** The demo's LoRA run (apps/demo/demo.ts step 3). */
export const DEFAULT_SETTINGS: TrainSettings = { steps: 200, lr: 1e-2, seed: 0, batch: 16, seq: 32, examples: 2000 };
const ADAMW = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 };

// ---- spec: diagnostics, summary, compiled graph and memory plan

/** Parses and checks spec text: diagnostics with file:line:col and E-codes, as `rankfold check` prints them. */
export function checkText(text: string, file = SPEC_FILE): CheckResult & { formatted: string } {
  const result = checkSpec(text, file);
  const formatted = result.model ? formatSummary(result.model) : formatDiagnostics(result.diagnostics, result.source);
  return { ...result, formatted };
}

export interface CompiledView {
  /** `rankfold compile --emit ir`. */
  ir: string;
  /** `rankfold compile --emit plan`. */
  plan: string;
  nodes: number;
}

/** The compiled graph (after autodiff, AdamW and the passes for 'train') and its memory plan. */
export function compiledView(model: CheckedModel, mode: 'train' | 'eval', batch: number, seq: number): CompiledView {
  const program = compile(model, { mode: mode === 'train' && model.lora.length === 0 ? 'eval' : mode, batch, seq, stopAfter: 'plan' });
  return { ir: printGraph(program.graph), plan: formatPlanBytes(program.plan), nodes: program.graph.nodes.length };
}

/**
 * The shape the playground trains at: the spec's train-block batch, and rows of DEFAULT_SETTINGS.seq
 * tokens (the task's prompts and answers are short; the spec's seq is for its pretraining text).
 */
export function trainShape(model: CheckedModel): { batch: number; seq: number } {
  return { batch: model.train?.batch ?? DEFAULT_SETTINGS.batch, seq: DEFAULT_SETTINGS.seq };
}

// ---- weights

/** The base weights a model needs, read from safetensors bytes (shapes checked against the spec). */
export function baseFromBytes(model: CheckedModel, bytes: Uint8Array, source = BASE_ASSET): WeightMap {
  return readBaseWeights(model, parseSafetensors(bytes, source));
}

export interface Session {
  gpu: GpuContext;
  /** The spec with its LoRA adapters. */
  model: CheckedModel;
  base: WeightMap;
}

// ---- training

/** The training rows: examples generated from the seed, one per row, padded to seq. */
export function trainRows(s: TrainSettings) {
  const tok = new ByteTokenizer();
  return packPadded(TASK.generate(s.examples, s.seed + 7).map((e) => tokenizeExample(tok, e, { appendEos: false })), s.seq);
}

async function trainExecutor(session: Session, s: TrainSettings): Promise<Executor> {
  const o = { backend: 'webgpu' as const, gpu: session.gpu };
  const exec = await createExecutor(compile(session.model, { mode: 'train', batch: s.batch, seq: s.seq, adamw: ADAMW, target: executorTarget(o) }), o);
  setWeights(exec, session.base);
  setWeights(exec, initAdapterWeights(session.model, session.base, s.seed));
  return exec;
}

export interface TrainResult {
  adapter: Adapter;
  history: StepInfo[];
  /** Whether shouldStop ended the run early. */
  stopped: boolean;
}

class Stopped extends Error {}

/**
 * Trains the LoRA adapter from the seed: the same initial adapter, data and order for the same
 * settings, in a page or in Node. onStep sees every step's loss (each read waits for the GPU; the
 * page wants a live curve); shouldStop ends the run after the current step and keeps what it learnt.
 */
export async function trainAdapter(session: Session, s: TrainSettings, onStep?: (info: StepInfo) => void | Promise<void>, shouldStop?: () => boolean): Promise<TrainResult> {
  const exec = await trainExecutor(session, s);
  const history: StepInfo[] = [];
  let stopped = false;
  try {
    await trainLoop(
      exec,
      new BatchLoader(trainRows(s), { batchSize: s.batch, seed: s.seed }),
      { steps: s.steps, schedule: { kind: 'cosine', lr: s.lr, warmupSteps: Math.ceil(s.steps / 20), totalSteps: s.steps }, adamw: ADAMW, logEvery: 1, evalEvery: 0 },
      {
        onStep: async (info) => {
          history.push(info);
          await onStep?.(info);
          if (shouldStop?.()) throw new Stopped();
        },
      },
    ).catch((err: unknown) => {
      if (!(err instanceof Stopped)) throw err;
      stopped = true;
    });
    return { adapter: await readAdapterFromExecutor(exec, session.model), history, stopped };
  } finally {
    exec.destroy();
  }
}

/**
 * Milliseconds per training step, after `warmup` steps (pipelines compiled, buffers warm): the
 * browser bench runs this in the page and in Node on the same adapter and data. Reads the loss only
 * at the end, as `rankfold train` does between log points.
 */
export async function timeTrainSteps(session: Session, s: TrainSettings, warmup: number, steps: number): Promise<{ msPerStep: number; loss: number }> {
  const exec = await trainExecutor(session, s);
  try {
    const loader = new BatchLoader(trainRows(s), { batchSize: s.batch, seed: s.seed });
    const options = (n: number) => ({ steps: n, schedule: { kind: 'constant' as const, lr: s.lr, warmupSteps: 0, totalSteps: n }, adamw: ADAMW, logEvery: n, evalEvery: 0 });
    await trainLoop(exec, loader, options(warmup));
    const start = performance.now();
    const history = await trainLoop(exec, loader, options(steps));
    return { msPerStep: (performance.now() - start) / steps, loss: history.at(-1)!.loss };
  } finally {
    exec.destroy();
  }
}

// ---- answers: before, after, merged

/** Prompts to show: held-out draws of the task (the demo's evaluation seed). */
export function sampleExamples(count: number, seed = 0): TaskExample[] {
  return TASK.generate(count, seed + 1_000_003);
}

export interface Answers {
  predictions: string[];
  accuracy: number;
}

/** Greedy answers of the model to the examples' prompts (the first line of each continuation). */
export async function answer(gpu: GpuContext, model: CheckedModel, weights: WeightMap[], examples: TaskExample[]): Promise<Answers> {
  const ctx = Number(model.params['ctx'] ?? 64);
  const gen = await Generator.create(model, weights, { backend: 'webgpu', gpu, batch: Math.min(16, examples.length), cacheLen: ctx });
  try {
    const score = await scoreTask(gen, new ByteTokenizer(), TASK, examples);
    return { predictions: score.predictions.map((p) => p.split('\n')[0]!), accuracy: score.accuracy };
  } finally {
    gen.destroy();
  }
}

/** The base model's answers with a fresh (zero-B) adapter: what the frozen base says. */
export function beforeWeights(session: Session, seed: number): WeightMap[] {
  return [session.base, initAdapterWeights(session.model, session.base, seed)];
}

/** An adapter's weights under the model's parameter names (shapes checked). */
export function adapterToWeights(model: CheckedModel, adapter: Adapter, source = 'the adapter'): WeightMap {
  return adapterWeights(model, adapter, source);
}

/** The adapter folded into the base: a plain model (no adapters) with merged weights. */
export function mergedModel(session: Session, adapter: Adapter): { model: CheckedModel; weights: WeightMap } {
  return { model: stripAdapters(session.model), weights: mergeAdapterWeights(session.model, session.base, adapterToWeights(session.model, adapter)) };
}

// ---- adapter files (PEFT: adapter_config.json + adapter_model.safetensors)

export function adapterFiles(adapter: Adapter): AdapterFiles {
  return writeAdapter(adapter);
}

/** Reads an adapter's two files and checks it fits the model (modules and shapes). */
export function adapterFromFiles(model: CheckedModel, files: AdapterFiles, source: string): Adapter {
  const adapter = readAdapter(files, source);
  adapterWeights(model, adapter, source);
  return adapter;
}

// ---- a Hugging Face model folder

/** The shipped spec checked against a folder's config.json (its `config` block binds the sizes). */
export function modelForConfig(specText: string, specFile: string, config: Record<string, unknown>): CheckedModel {
  // A CompileError's message is the diagnostics as `rankfold check` prints them.
  return compile({ text: specText, file: specFile }, { config, stopAfter: 'elaborate' }).model;
}

/** Opens and validates a folder (config, index, every shard header) as Node's ModelFolder does. */
export function openFolder(src: FolderSource): Promise<HfFolder> {
  return HfFolder.openSource(src);
}

/** The model's base weights from the folder, one tensor at a time, shapes checked, as float32. */
export function folderWeights(model: CheckedModel, folder: HfFolder): Promise<WeightMap> {
  return streamBaseWeights(model, folder);
}

/** The prompt a folder's model continues in the page (token ids: the page reads no tokenizer). */
export const FOLDER_PROMPT = [1, 5, 9, 13];

/** Greedy continuation (token ids) of a prompt of token ids: the folder's model runs. */
export async function continueIds(gpu: GpuContext, model: CheckedModel, weights: WeightMap, prompt: number[], maxNewTokens: number): Promise<number[]> {
  const gen = await Generator.create(model, [weights], { backend: 'webgpu', gpu, batch: 1, cacheLen: prompt.length + maxNewTokens });
  try {
    return (await gen.generate([prompt], { maxNewTokens, temperature: 0 }))[0]!;
  } finally {
    gen.destroy();
  }
}

// ---- charts

/** The live loss curve as SVG (Vega-Lite, the same module that draws `train`'s loss.svg); loaded on first use. */
export async function lossChartSvg(history: readonly StepInfo[], title: string): Promise<string> {
  const { lineChartSvg } = await import('../../../runtime/report/charts.ts');
  return lineChartSvg({ title, xLabel: 'step', yLabel: 'training loss', xInteger: true, width: 520, height: 220, series: [{ name: 'LoRA (adapter only, base frozen)', x: history.map((h) => h.step + 1), y: history.map((h) => h.loss) }] });
}
