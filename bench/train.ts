// Sections 3 and 4: one training step of the benchmark transformer (forward, backward, AdamW) —
// ours with LoRA, ours with full fine-tuning, tfjs with the same LoRA — with peak memory, and our
// dispatches and pipeline creations per step after warm-up (the target for pipelines is zero).
import { autodiff, compileGraph, optimizer, passes } from '../compiler/compile.ts';
import { optimHyper } from '../compiler/optim/adamw.ts';
import type { Graph } from '../compiler/ir/types.ts';
import type { Target } from '../compiler/target.ts';
import type { GpuContext } from '../runtime/device/device.ts';
import { pipelinesCreated } from '../runtime/device/pipeline-cache.ts';
import { GpuProgram } from '../runtime/device/program.ts';
import type { TrainRow } from './format.ts';
import { batchInputs, buildModelGraph, initParam, modelParamCount, paramSpecs, type Mode, type ModelConfig } from './model.ts';
import { buildTfModel } from './tf-model.ts';
import type { TfWebgpu } from './tf.ts';
import { timeInterleaved, type TimingOptions, type Variant } from './timing.ts';

const ADAMW = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
export const LR = 1e-4;

export function trainGraph(cfg: ModelConfig, mode: Mode, fuse = true): Graph {
  const g = buildModelGraph(cfg, mode);
  return passes(optimizer(autodiff(g), ADAMW), { fuse });
}

export function trainTiming(quick: boolean): TimingOptions {
  return { warmup: 1, reps: quick ? 9 : 7, minSampleMs: 0, maxInner: 1 };
}

interface TrainRunner extends Variant {
  /** After timing: the row (reads the loss back, frees nothing shared). */
  /** Called once every runner is built and warm: pipeline counts start here. */
  markWarm(): void;
  finish(): Promise<TrainRow>;
  dispose(): void;
}

/** Ours: compiled, parameters uploaded, one warm-up step run (its loss is the initial loss). */
export async function oursTrainRunner(gpu: GpuContext, target: Target, cfg: ModelConfig, mode: Mode, fuse = true): Promise<TrainRunner> {
  const graph = trainGraph(cfg, mode, fuse);
  const program = await GpuProgram.create(gpu, compileGraph(graph, { target }));
  for (const s of paramSpecs(cfg, mode)) program.setParam(s.name, initParam(s));
  for (const [name, data] of Object.entries(batchInputs(cfg))) program.setInput(name, data);
  let t = 0;
  const step = (): void => {
    program.setInput('optim', optimHyper(LR, ++t, ADAMW));
    program.run();
  };
  step(); // the first run: anything lazy happens here; its loss is the initial weights' loss
  const initialLoss = (await program.read('loss'))[0];
  let pipelinesBefore = 0;
  let stepsBefore = 0;
  return {
    step,
    markWarm() {
      pipelinesBefore = pipelinesCreated(gpu.device);
      stepsBefore = t;
    },
    sync: () => gpu.device.queue.onSubmittedWorkDone(),
    async finish() {
      const stats = program.stats;
      // The device-wide counter: any pipeline compiled since warm-up, by this or another program, counts.
      const during = (pipelinesCreated(gpu.device) - pipelinesBefore) / Math.max(t - stepsBefore, 1);
      return {
        name: `ours ${mode === 'lora' ? 'LoRA' : 'full fine-tune'}${fuse ? '' : ' (unfused)'}`,
        ms: NaN,
        peakBytes: stats.peakBytes,
        dispatches: stats.dispatchesPerRun,
        pipelinesPerStep: Math.max(stats.pipelinesCreatedLastRun, during),
        trainableParams: modelParamCount(cfg, mode).trainable,
        initialLoss,
        loss: (await program.read('loss'))[0],
      };
    },
    dispose: () => program.destroy(),
  };
}

/** tfjs: the same model, Adam over the trainable variables; one warm-up step run. */
export async function tfjsTrainRunner(tfw: TfWebgpu, cfg: ModelConfig, mode: Mode): Promise<TrainRunner> {
  const { tf } = tfw;
  const model = buildTfModel(tf, cfg, mode, LR);
  const initialLoss = await model.loss();
  model.step();
  await tfw.sync();
  let pipelinesBefore = 0;
  let steps = 0;
  return {
    markWarm() {
      pipelinesBefore = tfw.pipelines();
      steps = 0;
    },
    step: () => {
      model.step();
      steps++;
    },
    sync: () => tfw.sync(),
    async finish() {
      const pipelinesDuring = tfw.pipelines() - pipelinesBefore;
      // Peak tensor bytes of one step (weights, Adam moments and every intermediate), measured
      // apart from the timed steps because profiling times each kernel.
      const profile = await tf.profile(() => {
        model.step();
      });
      await tfw.sync();
      const memory = tf.memory() as { numBytesAllocatedInGPU?: number };
      const row: TrainRow = {
        name: `tfjs ${mode === 'lora' ? 'LoRA' : 'full fine-tune'}`,
        ms: NaN,
        peakBytes: profile.peakBytes,
        dispatches: profile.kernels.length,
        pipelinesPerStep: pipelinesDuring / Math.max(steps, 1),
        trainableParams: model.trainableParams,
        initialLoss,
        loss: await model.loss(),
      };
      if (memory.numBytesAllocatedInGPU !== undefined) row.gpuAllocatedBytes = memory.numBytesAllocatedInGPU;
      return row;
    },
    dispose: () => model.dispose(),
  };
}

/** Ours LoRA, ours full fine-tuning and (with tfw) tfjs LoRA, timed round-robin. */
export async function benchTrain(gpu: GpuContext, target: Target, tfw: TfWebgpu | undefined, cfg: ModelConfig, quick: boolean): Promise<TrainRow[]> {
  const runners = [await oursTrainRunner(gpu, target, cfg, 'lora'), await oursTrainRunner(gpu, target, cfg, 'full')];
  if (tfw) runners.push(await tfjsTrainRunner(tfw, cfg, 'lora'));
  for (const r of runners) r.markWarm();
  const timings = await timeInterleaved(runners, trainTiming(quick));
  const rows: TrainRow[] = [];
  for (const [i, r] of runners.entries()) rows.push({ ...(await r.finish()), ms: timings[i]!.ms });
  for (const r of runners) r.dispose();
  return rows;
}
