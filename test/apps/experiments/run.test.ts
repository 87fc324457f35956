// The whole `rankfold experiments` pipeline on a toy budget: both tasks, two seeds, the full
// fine-tuning reference and every item, so the full mode's code paths (per-seed aggregation,
// wikisql scoring, several tasks) run in CI even though the real full run takes hours; then a
// rerun into the same folder, which must resume rather than start over.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../compiler/errors.ts';
import { rewriteReport, runExperiments } from '../../../apps/experiments/run.ts';
import { adapterConfig, fullSettings, type ExperimentSettings } from '../../../apps/experiments/settings.ts';
import { gpuTest } from '../../helpers/gpu.ts';

function toySettings(): ExperimentSettings {
  const full = fullSettings();
  return {
    ...full,
    seeds: [0, 1],
    model: { ...full.model, overrides: { ...full.model.overrides, layers: 1 } },
    pretrain: { ...full.pretrain, steps: 2, batch: 2, warmup: 1, corpusChars: 3000 },
    adapt: { ...full.adapt, steps: 2, batch: 2, warmup: 1, trainExamples: 12, evalExamples: 6 },
    tasks: ['wikisql', 'nli'],
    rankConfigs: [adapterConfig(['Wq', 'Wv'], 1), adapterConfig(['Wq', 'Wv'], 8), adapterConfig(['Wq', 'Wv'], 64), adapterConfig(['Wq', 'Wv'], 1, 3)],
    budgetConfigs: [adapterConfig(['Wq'], 8), adapterConfig(['Wq', 'Wv'], 4)],
    fullFinetuneBaseline: true,
    timing: { warmup: 1, reps: 2 },
    forwardReps: 2,
  };
}

describe('rankfold experiments', () => {
  it('refuses an --out that is a file, before touching the GPU', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rankfold-experiments-')), 'report.md');
    writeFileSync(file, 'keep me');
    await expect(runExperiments({ quick: true, out: file, log: () => {} })).rejects.toThrow(UserError);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
  });

  gpuTest('runs every item for two tasks and two seeds and writes a report that can be rewritten', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rankfold-experiments-'));
    const r = await runExperiments({ quick: false, out, settings: toySettings(), log: () => {} });
    // 2 tasks x 2 seeds x (6 adapter configurations, one with its own budget, + full fine-tuning).
    expect(r.adaptation).toHaveLength(28);
    expect(r.adaptation.filter((x) => x.config === 'WqWv-r1@3').map((x) => [x.steps, x.history.at(-1)?.step])).toEqual(Array(4).fill([3, 3]));
    expect(r.adaptation.filter((x) => x.config === 'WqWv-r1').map((x) => x.steps)).toEqual([2, 2, 2, 2]);
    for (const run of r.adaptation) {
      expect(run.scoredBy).toBe(run.task === 'nli' ? 'likelihood' : 'generation');
      expect(run.total).toBe(6);
      expect(run.accuracy).toBeGreaterThanOrEqual(0);
    }
    expect(r.subspace).toHaveLength(4); // per task and seed
    expect(r.inference?.sameGenerations).toBe(6);
    expect(r.dataSplit['wikisql']).toMatchObject({ eval: 6, train: 12 });
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('Run: **full**, 2 seed(s)');
    expect(report).not.toContain('NaN');
    expect(report).toMatch(/### wikisql \(exact match\)/);
    expect(report).toMatch(/\| full fine-tuning \| [\d.]+ ± [\d.]+/);
    expect(existsSync(join(out, 'rank-wikisql.svg'))).toBe(true);
    // A rerun (as after an interruption) reuses the cached base model and every finished run,
    // and trains only what is missing: here one run whose record was removed.
    const runsDir = join(out, 'runs');
    const lost = readdirSync(runsDir).find((f) => f.startsWith('nli-seed0-WqWv-r8-') && f.endsWith('.json'))!;
    rmSync(join(runsDir, lost));
    const again = await runExperiments({ quick: false, out, settings: { ...toySettings(), tasks: ['nli'], seeds: [0] }, log: () => {} });
    expect(again.base.cached).toBe(true);
    expect(again.reusedRuns).toBe(6);
    expect(existsSync(join(runsDir, lost))).toBe(true);
    const before = r.adaptation.filter((x) => x.task === 'nli' && x.seed === 0 && x.config !== 'WqWv-r8');
    expect(again.adaptation.filter((x) => x.config !== 'WqWv-r8')).toEqual(before);
    // The stored r=64 adapter feeds the subspace item; retraining r=8 with the same seed gives the same A.
    expect(again.subspace[0]!.grids.map((g) => g.values)).toEqual(r.subspace.find((x) => x.task === 'nli' && x.seed === 0)!.grids.map((g) => g.values));
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('6 of the 7 adaptation runs were finished by an earlier');
    expect((await rewriteReport(out)).length).toBeGreaterThan(1);
  }, 300_000);
});
