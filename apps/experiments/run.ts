// `rankfold experiments`: runs the seven measurements in order and writes DIR/results.json (the raw
// numbers), DIR/report.md and its SVG figures. The pretrained base model is cached in DIR and each
// finished adaptation run in DIR/runs/, so a rerun after an interruption skips what was done. The
// report can be rewritten from results.json alone (reportOnly).
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../runtime/io/atomic.ts';
import { ensureOutputDir } from '../../runtime/io/node-fs.ts';
import { requireGpuFileSizeLimit } from '../../runtime/io/fs-errors.ts';
import { join } from 'node:path';
import { createGpu } from '../../runtime/device/device.ts';
import { formatDuration } from '../../runtime/report/progress.ts';
import { UserError } from '../../compiler/errors.ts';
import { runAdaptation, subspaceOf, SUBSPACE_PAIR, taskData } from './adaptation.ts';
import { pretrainedBase } from './base-model.ts';
import { measureEfficiency } from './efficiency.ts';
import { compareMerged } from './inference.ts';
import { JobStore, RUNS_DIR } from './job-store.ts';
import { evaluateTask, plainModel, taskRows } from './lab.ts';
import { writeReport } from './report.ts';
import { memoryAtScale } from './scale.ts';
import { adapterConfig, fullSettings, quickSettings, uniqueConfigs, type ExperimentSettings } from './settings.ts';
import type { ExperimentResults } from './types.ts';

export const RESULTS_NAME = 'results.json';
export const REPORT_NAME = 'report.md';

export interface RunOptions {
  quick: boolean;
  out: string;
  log?: (line: string) => void;
  /** Replace settings (tests and ad-hoc studies); the report states whatever was used. */
  settings?: ExperimentSettings;
}

/** The adapter whose merge is checked in item 7, and whose memory and speed items 2-3 measure. */
const REFERENCE_CONFIG = adapterConfig(['Wq', 'Wv'], 8);

export async function runExperiments(o: RunOptions): Promise<ExperimentResults> {
  const log = o.log ?? ((line: string) => console.log(line));
  const s = o.settings ?? (o.quick ? quickSettings() : fullSettings());
  const t0 = performance.now();
  const clock = () => `[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
  ensureOutputDir(o.out);
  log(`${clock()} rankfold experiments (${s.mode}): ${s.tasks.join(', ')}, seeds ${s.seeds.join(', ')}, ${uniqueConfigs(s).length} adapter configurations`);

  log(`${clock()} 1. memory at paper scale: compiling ${'gpt3-175b.rf'} for full fine-tuning and LoRA (nothing is allocated)`);
  const scale = memoryAtScale();

  const gpu = await createGpu();
  try {
    requireGpuFileSizeLimit(gpu.adapterName); // a CPU driver under `ulimit -f` would die with a Bus error
    const plain = plainModel(s.model);
    log(`${clock()} base model: ${plain.name} ${JSON.stringify(s.model.overrides)}, ${plain.counts.base.toLocaleString('en-US')} parameters, on ${gpu.adapterName}`);
    let lastLog = 0;
    let firstStep: { step: number; at: number } | undefined; // a resumed pretraining starts past 0
    const base = await pretrainedBase(gpu, plain, s.model, s.pretrain, s.seq, o.out, (i) => {
      const now = performance.now();
      firstStep ??= { step: i.step, at: now };
      if (now - lastLog > 15_000 || i.step + 1 === s.pretrain.steps) {
        lastLog = now;
        const rate = i.step > firstStep.step ? (now - firstStep.at) / (i.step - firstStep.step) : NaN;
        const left = i.step + 1 < s.pretrain.steps && Number.isFinite(rate) ? `, about ${formatDuration(((s.pretrain.steps - i.step - 1) * rate) / 1000)} left` : '';
        log(`${clock()}   pretraining step ${i.step + 1}/${s.pretrain.steps}, loss ${i.loss.toFixed(3)}${left}`);
      }
    });
    log(`${clock()} base model ${base.cached ? `loaded from ${base.file}` : `pretrained and saved to ${base.file}`} (final loss ${base.history.at(-1)?.loss.toFixed(3)})`);

    // Each task's held-out split, drawn once and shared by every item.
    const data = new Map(s.tasks.map((name) => [name, taskData(name, s)] as const));
    const zeroShot: Record<string, number> = {};
    for (const [name, d] of data) {
      zeroShot[name] = (await evaluateTask(gpu, plain, [base.weights], d.task, d.eval, s.seq)).accuracy;
    }
    log(`${clock()} base model before adaptation: ${Object.entries(zeroShot).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);

    log(`${clock()} 2-3. memory, checkpoint size and step time: full fine-tuning vs LoRA ${REFERENCE_CONFIG.id}`);
    const first = data.get(s.tasks[0]!)!;
    const efficiency = await measureEfficiency(gpu, plain, base.weights, REFERENCE_CONFIG, taskRows(first.train, s.seq), s, o.out);

    log(`${clock()} 4-5. adapting: ${s.tasks.length} task(s) x ${s.seeds.length} seed(s) x ${uniqueConfigs(s).length + (s.fullFinetuneBaseline ? 1 : 0)} run(s), ${s.adapt.steps} steps each${ownBudget(s)} (each saved in ${join(o.out, RUNS_DIR)} as it ends: rerun to resume)`);
    const keepIds = new Set<string>([...SUBSPACE_PAIR, REFERENCE_CONFIG.id]);
    const { runs, kept, reused } = await runAdaptation(gpu, plain, base.weights, s, data, {
      log: (line) => log(`${clock()}${line}`),
      keep: (_task, _seed, id) => keepIds.has(id),
      store: new JobStore(o.out, { baseKey: base.key, adapt: s.adapt, seq: s.seq }),
    });

    log(`${clock()} 6. subspace similarity of A (r=8 vs r=64, Wq+Wv)`);
    const subspace = [];
    for (const name of s.tasks) {
      for (const seed of s.seeds) {
        const find = (id: string) => kept.find((k) => k.task === name && k.seed === seed && k.config.id === id);
        const small = find(SUBSPACE_PAIR[0]);
        const large = find(SUBSPACE_PAIR[1]);
        if (small && large) subspace.push(subspaceOf(small, large));
      }
    }

    log(`${clock()} 7. merged vs unmerged inference`);
    const ref = kept.find((k) => k.config.id === REFERENCE_CONFIG.id && k.task === s.tasks[0] && k.seed === s.seeds[0]);
    let inference;
    if (ref) {
      const d = data.get(ref.task)!;
      inference = await compareMerged(gpu, plain, ref.model, ref.config.id, base.weights, ref.weights, d.task, d.eval, taskRows(d.eval, s.seq), {
        batch: s.adapt.batch,
        warmup: s.timing.warmup,
        reps: s.forwardReps,
      });
    }

    const adapterParams: Record<string, number> = {};
    for (const r of runs) adapterParams[r.config] = r.trainableParams;
    const results: ExperimentResults = {
      version: 2,
      settings: s,
      device: gpu.adapterName,
      startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
      totalWallMs: performance.now() - t0,
      model: { name: plain.name, params: plain.params, baseParams: plain.counts.base, adapterParams },
      scale,
      base: { history: base.history, wallMs: base.wallMs, cached: base.cached, corpusChars: base.corpusChars, zeroShot },
      efficiency,
      adaptation: runs,
      ...(reused > 0 ? { reusedRuns: reused } : {}),
      subspace,
      ...(inference ? { inference } : {}),
      dataSplit: Object.fromEntries([...data].map(([k, d]) => [k, { eval: d.eval.length, train: d.train.length, evalCandidates: d.evalCandidates }])),
    };
    writeFileAtomic(join(o.out, RESULTS_NAME), JSON.stringify(results, null, 1));
    const files = await writeReport(results, o.out);
    log(`${clock()} wrote ${join(o.out, REPORT_NAME)}, ${RESULTS_NAME} and ${files.length - 1} figure(s)`);
    return results;
  } finally {
    gpu.device.destroy();
  }
}

/** ", 2 with 1500" when some configurations have their own step budget (item 4's longer one). */
function ownBudget(s: ExperimentSettings): string {
  const own = uniqueConfigs(s).filter((c) => c.steps);
  return own.length ? `, ${own.length} with ${[...new Set(own.map((c) => c.steps))].join('/')}` : '';
}

/** Rewrites report.md and the figures from DIR/results.json without running anything. */
export async function rewriteReport(dir: string): Promise<string[]> {
  const file = join(dir, RESULTS_NAME);
  if (!existsSync(file)) throw new UserError(`${file}: no such file (run \`rankfold experiments --out ${dir}\` first)`);
  const results = JSON.parse(readFileSync(file, 'utf8')) as ExperimentResults;
  if (results.version !== 2) throw new UserError(`${file}: results version ${String(results.version)} is not this release's (2); rerun \`rankfold experiments\``);
  return writeReport(results, dir);
}
