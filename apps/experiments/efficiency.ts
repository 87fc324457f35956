// Items 2 and 3 on the model we actually train: peak GPU bytes from the runtime's own allocation
// accounting (GpuProgram.stats) for a full fine-tuning step vs a LoRA step, the sizes of the files
// each one saves, and step time. Both executors live side by side and their steps are interleaved
// (alternating which goes first), so a busy machine slows both alike and the ratio stays fair.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { OPTIM_INPUT, optimHyper } from '../../compiler/optim/adamw.ts';
import type { Rows } from '../../runtime/data/dataset.ts';
import { BatchLoader } from '../../runtime/data/loader.ts';
import type { Executor } from '../../runtime/exec/executor.ts';
import type { GpuContext } from '../../runtime/device/device.ts';
import type { ProgramStats } from '../../runtime/device/program.ts';
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME } from '../../runtime/io/peft.ts';
import { writeAdapterDir, writeSafetensorsFile } from '../../runtime/io/node-fs.ts';
import { DEFAULT_ADAMW } from '../../compiler/compile.ts';
import { baseWeights, setWeights, type WeightMap } from '../../runtime/model/weights.ts';
import { readAdapterFromExecutor } from '../../runtime/adapters/adapter-weights.ts';
import { feedBatch } from '../../runtime/train/trainer.ts';
import { freshAdapter, loraModel, readParams, trainGraphExecutor } from './lab.ts';
import type { AdapterConfig, ExperimentSettings } from './settings.ts';
import type { EfficiencyResult, MemoryMeasure } from './types.ts';

function statsOf(exec: Executor): ProgramStats {
  const stats = (exec as { stats?: ProgramStats }).stats;
  if (!stats) throw new Error('memory accounting needs the webgpu backend');
  return stats;
}

function measure(exec: Executor, trainableParams: number): MemoryMeasure {
  const s = statsOf(exec);
  return { peakBytes: s.peakBytes, bytes: { ...s.bytes }, dispatches: s.dispatchesPerRun, trainableParams };
}

/** One synchronized optimizer step; the loss readback is the synchronization point (as in trainLoop). */
async function timedStep(exec: Executor, t: number, lr: number): Promise<number> {
  const t0 = performance.now();
  exec.setInput(OPTIM_INPUT, optimHyper(lr, t, DEFAULT_ADAMW));
  exec.run();
  await exec.read('loss');
  return performance.now() - t0;
}

export async function measureEfficiency(
  gpu: GpuContext,
  plain: CheckedModel,
  base: WeightMap,
  config: AdapterConfig,
  rows: Rows,
  s: ExperimentSettings,
  dir: string,
): Promise<EfficiencyResult> {
  const { batch, lr } = s.adapt;
  const seq = rows.seqLen;
  const lora = loraModel(plain, config, s.adapt.alpha);
  const fullExec = await trainGraphExecutor(gpu, plain, batch, seq, true);
  const loraExec = await trainGraphExecutor(gpu, lora, batch, seq, false);
  try {
    setWeights(fullExec, base);
    setWeights(loraExec, base);
    setWeights(loraExec, freshAdapter(lora, base, 0));
    // The same batch for both, every step: the comparison is about the step, not the data.
    const b = new BatchLoader(rows, { batchSize: batch, seed: 0 }).next();
    feedBatch(fullExec, b);
    feedBatch(loraExec, b);
    const stepMs = { full: [] as number[], lora: [] as number[] };
    const { warmup, reps } = s.timing;
    for (let t = 1; t <= warmup + reps; t++) {
      const pair = t % 2 === 0 ? (['full', 'lora'] as const) : (['lora', 'full'] as const);
      for (const which of pair) {
        const ms = await timedStep(which === 'full' ? fullExec : loraExec, t, which === 'full' ? s.adapt.fullLr : lr);
        if (t > warmup) stepMs[which].push(ms);
      }
    }

    const ckDir = join(dir, 'checkpoints');
    mkdirSync(ckDir, { recursive: true });
    // A full fine-tuning run saves every weight; its size does not depend on the values.
    const trained = await readParams(fullExec, ['trainable']);
    const shapes = new Map(baseWeights(plain).map((w) => [w.name, w.shape]));
    const fullFile = join(ckDir, 'full-model.safetensors');
    writeSafetensorsFile(fullFile, new Map([...trained].map(([n, data]) => [n, { shape: shapes.get(n)!, data }])), { format: 'pt' });
    const adapterDir = join(ckDir, `adapter-${config.id}`);
    writeAdapterDir(adapterDir, await readAdapterFromExecutor(loraExec, lora));
    return {
      config,
      batch,
      seq,
      full: measure(fullExec, plain.counts.base),
      lora: measure(loraExec, lora.counts.adapter),
      checkpoint: {
        fullModelBytes: statSync(fullFile).size,
        adapterWeightsBytes: statSync(join(adapterDir, ADAPTER_WEIGHTS_NAME)).size,
        adapterConfigBytes: statSync(join(adapterDir, ADAPTER_CONFIG_NAME)).size,
      },
      stepMs,
    };
  } finally {
    fullExec.destroy();
    loraExec.destroy();
  }
}
