// Finished adaptation runs, one file each under DIR/runs/, so that an interrupted
// `rankfold experiments` (the full run takes hours on a CPU driver) resumes where it stopped
// instead of starting over. A run is reused only when everything that decided it is unchanged:
// the file name carries a hash of the pretrained base's cache key, the adaptation settings, the
// sequence length and the task's training and evaluation examples, plus the task, seed and
// configuration. Adapters the later items need (subspace, merged inference) are kept beside it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import type { TaskExample } from '../tasks/types.ts';
import { writeFileAtomic } from '../../runtime/io/atomic.ts';
import { readSafetensorsFile, writeSafetensorsFile } from '../../runtime/io/node-fs.ts';
import { weightTensors, type WeightMap } from '../../runtime/model/weights.ts';
import type { AdaptSettings } from './settings.ts';
import type { AdaptRun } from './types.ts';

export const RUNS_DIR = 'runs';

export interface StoredRun {
  run: AdaptRun;
  /** The trained adapter, when it was saved (only for runs a later item needs). */
  weights?: WeightMap;
}

export interface JobContext {
  baseKey: string;
  adapt: AdaptSettings;
  seq: number;
}

export class JobStore {
  readonly dir: string;
  private readonly context: string;

  constructor(outDir: string, context: JobContext) {
    this.dir = join(outDir, RUNS_DIR);
    this.context = JSON.stringify(context);
  }

  /** The stored run of this job, or undefined when it has not finished under these settings. */
  load(task: string, seed: number, configId: string, data: TaskExamples, needWeights: boolean): StoredRun | undefined {
    const stem = this.stem(task, seed, configId, data);
    const json = join(this.dir, `${stem}.json`);
    const tensors = join(this.dir, `${stem}.safetensors`);
    if (!existsSync(json) || (needWeights && !existsSync(tensors))) return undefined;
    try {
      const run = JSON.parse(readFileSync(json, 'utf8')) as AdaptRun;
      if (!needWeights) return { run };
      const file = readSafetensorsFile(tensors);
      return { run, weights: new Map(file.names.map((n) => [n, file.getFloat32(n)])) };
    } catch {
      return undefined; // unreadable (e.g. from another release): train it again
    }
  }

  /** Weights first, then the JSON that marks the job finished (each written atomically). */
  save(run: AdaptRun, data: TaskExamples, saved?: { model: CheckedModel; weights: WeightMap }): void {
    mkdirSync(this.dir, { recursive: true });
    const stem = this.stem(run.task, run.seed, run.config, data);
    if (saved) writeSafetensorsFile(join(this.dir, `${stem}.safetensors`), weightTensors(saved.model, saved.weights), { rankfold_experiment: 'adapter' });
    writeFileAtomic(join(this.dir, `${stem}.json`), JSON.stringify(run, null, 1));
  }

  private stem(task: string, seed: number, configId: string, data: TaskExamples): string {
    const hash = createHash('sha256').update(this.context);
    for (const e of [...data.train, ...data.eval]) hash.update(`${e.prompt}\u0000${e.completion}\u0001`);
    const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
    return `${safe(task)}-seed${seed}-${safe(configId)}-${hash.digest('hex').slice(0, 12)}`;
  }
}

export interface TaskExamples {
  train: readonly TaskExample[];
  eval: readonly TaskExample[];
}
