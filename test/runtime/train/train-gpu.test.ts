// One end-to-end training run on the WebGPU backend (Dawn; lavapipe on CPU-only machines): the
// compiled step, AdamW state read back for the checkpoint, and an adapter that loads again. The
// interpreter runs the same job as the oracle for the first losses.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect } from 'vitest';
import { readAdapterDir, readCheckpointDir } from '../../../runtime/io/node-fs.ts';
import { runTrainJob, type TrainJobOptions } from '../../../runtime/train/train-job.ts';
import { gpuTest } from '../../helpers/gpu.ts';
import { CHAR_GPT, TINY_SET, tmpDir, writeJsonl } from './fixtures.ts';

describe('train on webgpu', () => {
  gpuTest('trains, checkpoints and saves an adapter matching the interpreter', async (gpu) => {
    const dir = tmpDir('gpu-train');
    const data = writeJsonl(dir);
    const o: TrainJobOptions = { spec: CHAR_GPT, set: TINY_SET, data, out: '', backend: 'webgpu', gpu, batch: 2, seq: 16, steps: 4, lr: 1e-2, warmup: 0, evalEvery: 2, saveEvery: 2 };
    const g = await runTrainJob({ ...o, out: path.join(dir, 'gpu') });
    const c = await runTrainJob({ ...o, backend: 'interp', out: path.join(dir, 'cpu') });
    expect(g.history).toHaveLength(4);
    g.history.forEach((h, i) => {
      expect(h.loss).toBeCloseTo(c.history[i]!.loss, 3);
      if (h.eval_loss !== undefined) expect(h.eval_loss).toBeCloseTo(c.history[i]!.eval_loss!, 3);
    });
    const ck = readCheckpointDir(path.join(dir, 'gpu', 'checkpoint'));
    expect(ck.state.step).toBe(4);
    for (const m of ck.moments.values()) expect(m.exp_avg_sq.data.some((v) => v > 0)).toBe(true);
    expect(readAdapterDir(path.join(dir, 'gpu')).tensors.size).toBe(2);
    expect(fs.existsSync(path.join(dir, 'gpu', 'loss.svg'))).toBe(true);
  });
});
