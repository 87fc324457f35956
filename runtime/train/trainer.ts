// The training loop: feeds batches and optimizer hyper-parameters to a compiled training step and
// reads back only the loss, and only every `logEvery` steps (each read waits for the GPU). AdamW's
// update runs inside the step's graph, so parameters never leave the device while training.
import type { Batch, BatchLoader, DataCursor } from '../data/loader.ts';
import { UserError } from '../../compiler/errors.ts';
import type { Executor } from '../exec/executor.ts';
import { feedTokens } from '../model/feeds.ts';
import { OPTIM_INPUT, optimFlags, optimHyper, type AdamWSettings } from '../../compiler/optim/adamw.ts';
import { learningRate, type ScheduleOptions } from './schedule.ts';

export type { AdamWSettings };

export interface TrainLoopOptions {
  steps: number;
  schedule: ScheduleOptions;
  adamw: AdamWSettings;
  /** Read the loss every this many steps (and at the last step). */
  logEvery: number;
  /** Run evaluation every this many steps (0 = never). */
  evalEvery: number;
  /** First step to run (resume); the schedule and bias corrections continue from it. */
  startStep?: number;
}

export interface StepInfo {
  step: number;
  loss: number;
  lr: number;
  tokens: number;
  elapsedMs: number;
}

export interface TrainCallbacks {
  onStep?(info: StepInfo): void | Promise<void>;
  /** Called every evalEvery steps; returns the held-out loss to log. */
  evaluate?(step: number): Promise<number>;
  onEval?(step: number, loss: number): void | Promise<void>;
  /** Called after a step whose loss was read and finite: a safe point to checkpoint. */
  onGoodStep?(step: number, cursor: DataCursor): void | Promise<void>;
}

/** The loss read back is NaN or ±Inf: training stops (a UserError, so any caller reports it in one line). */
export class NonFiniteLossError extends UserError {
  constructor(
    /** 0-based step. */
    readonly step: number,
    readonly loss: number,
    /** Which loss: the training loss, or the held-out loss. */
    readonly what = 'loss',
  ) {
    super(`${what} became ${loss} at step ${step + 1}; training stopped`);
    this.name = 'NonFiniteLossError';
  }
}

/** Writes one batch (ids, positions, shifted labels). Exported for evaluation and benchmarks. */
export function feedBatch(exec: Executor, batch: Batch): void {
  feedTokens(exec, batch.ids, batch.batchSize, batch.seqLen, batch.labels);
}

export async function trainLoop(exec: Executor, loader: BatchLoader, o: TrainLoopOptions, cb: TrainCallbacks = {}): Promise<StepInfo[]> {
  const history: StepInfo[] = [];
  const start = performance.now();
  // With gradient accumulation one optimizer step runs `accum` micro-batches; the graph sums their
  // gradients and AdamW applies the mean on the last one (see optimFlags).
  const accum = o.adamw.gradAccum ?? 1;
  let tokens = 0;
  for (let step = o.startStep ?? 0; step < o.steps; step++) {
    const lr = learningRate(o.schedule, step);
    const last = step === o.steps - 1;
    const logged = (step + 1) % o.logEvery === 0 || last;
    let loss = 0;
    for (let micro = 0; micro < accum; micro++) {
      const batch = loader.next();
      feedBatch(exec, batch);
      exec.setInput(OPTIM_INPUT, optimHyper(lr, step + 1, o.adamw, accum > 1 ? optimFlags(micro, accum) : 0));
      exec.setInput('step', Int32Array.of(step * accum + micro));
      exec.run();
      tokens += batch.batchSize * batch.seqLen;
      // The loss read back is the forward pass's, before the update; only logged steps wait for it.
      if (logged) loss += (await exec.read('loss'))[0]! / accum;
    }
    if (logged) {
      if (!Number.isFinite(loss)) throw new NonFiniteLossError(step, loss);
      const info = { step, loss, lr, tokens, elapsedMs: performance.now() - start };
      history.push(info);
      await cb.onStep?.(info);
      await cb.onGoodStep?.(step, loader.cursor);
    }
    if (o.evalEvery > 0 && cb.evaluate && ((step + 1) % o.evalEvery === 0 || last)) {
      const evalLoss = await cb.evaluate(step);
      await cb.onEval?.(step, evalLoss);
    }
  }
  return history;
}
