// The report writer is a pure function of results.json: these tests feed it a synthetic run and
// check the markdown, the figures and the verdict rules, with no GPU and no training.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findings, standardError } from '../../../apps/experiments/findings.ts';
import { writeReport } from '../../../apps/experiments/report.ts';
import { memoryAtScale } from '../../../apps/experiments/scale.ts';
import { adapterConfig, omittedConfigs, quickSettings, uniqueConfigs, type ExperimentSettings } from '../../../apps/experiments/settings.ts';
import { formatBytes, markdownTable, mean, meanStd, median, std } from '../../../apps/experiments/stats.ts';
import type { AdaptRun, ExperimentResults } from '../../../apps/experiments/types.ts';

function fixture(accuracyOf: (config: string, seed: number) => number, more: Partial<ExperimentSettings> = {}, partialOf?: (config: string) => number): ExperimentResults {
  const settings = { ...quickSettings(), seeds: [0, 1], ...more };
  const adaptation: AdaptRun[] = [];
  for (const seed of settings.seeds) {
    for (const c of uniqueConfigs(settings)) {
      const acc = accuracyOf(c.id, seed);
      adaptation.push({
        ...(partialOf ? { partialAccuracy: partialOf(c.id) } : {}),
        task: settings.tasks[0]!, config: c.id, seed, trainableParams: 1024 * c.r, accuracy: acc, scoredBy: 'likelihood', generatedAccuracy: acc / 2, correct: Math.round(acc * 96), total: 96,
        finalLoss: 0.5, history: [{ step: 10, loss: 2 }, { step: 20, loss: 1 }], trainMs: 1000, evalMs: 100,
        samples: [{ prompt: 'p: a | b -> ', expected: 'neutral', generated: 'neutral' }],
      });
    }
  }
  const grid = (r1: number, r2: number) => Array.from({ length: r1 * r2 }, (_, k) => (k === 0 ? 0.8 : 0.1));
  const bytes = { trainable_weights: 556_032, gradients: 556_032, optimizer_state: 1_112_064, activations: 3_000_000 };
  return {
    version: 2,
    settings,
    device: 'test adapter',
    startedAt: '2026-01-01T00:00:00.000Z',
    totalWallMs: 400_000,
    model: { name: 'char_gpt', params: { d: 64, layers: 2 }, baseParams: 139_008, adapterParams: {} },
    scale: memoryAtScale({ seq: 64 }),
    base: { history: [{ step: 10, loss: 3 }, { step: 20, loss: 2 }], wallMs: 60_000, cached: false, corpusChars: 200_000, zeroShot: { nli: 0 } },
    efficiency: {
      config: uniqueConfigs(settings).find((c) => c.id === 'WqWv-r8')!,
      batch: 8,
      seq: 96,
      full: { peakBytes: 6_000_000, bytes, dispatches: 185, trainableParams: 139_008 },
      lora: { peakBytes: 4_000_000, bytes: { frozen_weights: 556_032, adapter_weights: 16_384, activations: 3_000_000 }, dispatches: 99, trainableParams: 4096 },
      checkpoint: { fullModelBytes: 560_000, adapterWeightsBytes: 17_000, adapterConfigBytes: 900 },
      stepMs: { full: [300, 310, 320], lora: [250, 260, 240] },
    },
    adaptation,
    subspace: [{ task: 'nli', seed: 0, grids: [{ module: 'blocks.0.attn.q_proj', r1: 8, r2: 64, cols: 64, values: grid(8, 64), singular1: [], singular2: [] }] }],
    inference: {
      task: 'nli', config: 'WqWv-r8', batch: 8, seq: 96, maxAbsLogitDiff: 2e-6, maxAbsLogit: 12, sameGenerations: 96, generations: 96,
      forwardMs: { base: [10, 11, 10], merged: [10, 10, 11], unmerged: [13, 14, 13] }, dispatches: { plain: 40, adapter: 52 }, generateMs: { merged: 5000, unmerged: 6000 },
    },
    dataSplit: { nli: { eval: 96, train: 1000, evalCandidates: 4800 } },
  };
}

describe('experiment statistics', () => {
  it('computes mean, sample std and median', () => {
    expect(mean([1, 2, 3])).toBe(2);
    expect(std([1, 2, 3])).toBeCloseTo(1);
    expect(std([5])).toBeNaN();
    expect(median([3, 1, 2, 10])).toBe(2.5);
    expect(meanStd([0.5])).toBe('0.500');
    expect(meanStd([0.4, 0.6])).toBe('0.500 ± 0.141');
  });

  it('formats bytes in decimal units and escapes table cells', () => {
    expect(formatBytes(349.4e9)).toBe('349 GB');
    expect(formatBytes(1.2e12)).toBe('1.20 TB');
    expect(formatBytes(512)).toBe('512 B');
    expect(markdownTable(['a', 'b'], [['x|y', '1']], ['l', 'r'])).toBe('| a | b |\n| --- | ---: |\n| x\\|y | 1 |\n');
  });
});

describe('report', () => {
  it('writes report.md with every item and the figures it links', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rankfold-report-'));
    const r = fixture((id) => (id === 'WqWv-r1' ? 0.6 : id.startsWith('Wq-') ? 0.45 : 0.62));
    const files = await writeReport(r, dir);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    for (const heading of ['## Summary', '## 1. Memory at paper scale', '## 2. Memory and checkpoint', '## 3. Step time', '## 4. Rank', '## 5. Which weights', '## 6. Subspace', '## 7. Merged', 'Where small scale agrees']) {
      expect(md).toContain(heading);
    }
    expect(md).toContain('18,874,368');
    expect(md).toContain('f32');
    expect(md).toContain('--quick leaves out');
    for (const c of omittedConfigs(r.settings)) expect(md).toContain(`${c.targets.join('+')} r=${c.r}`);
    // Every linked figure exists and is an SVG with a title; every written SVG is linked.
    const linked = [...md.matchAll(/\]\(([^)]+\.svg)\)/g)].map((m) => m[1]!);
    expect(linked.length).toBeGreaterThan(5);
    const svgs = readdirSync(dir).filter((f) => f.endsWith('.svg'));
    expect(new Set(linked)).toEqual(new Set(svgs));
    for (const f of svgs) {
      const svg = readFileSync(join(dir, f), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('</svg>');
      expect(svg).not.toContain('NaN');
    }
    expect(files).toHaveLength(svgs.length + 1);
  });

  it('decides verdicts from the numbers', () => {
    const good = findings(fixture((id) => (id === 'WqWv-r1' ? 0.6 : id.startsWith('Wq-') ? 0.45 : 0.62)));
    const verdict = (item: number, r = good) => r.filter((f) => f.item === item).map((f) => f.verdict);
    expect(verdict(1)).toEqual(['agrees', 'agrees']);
    expect(verdict(2)).toEqual(['partly agrees', 'partly agrees']);
    expect(verdict(4)).toEqual(['agrees']);
    expect(verdict(5)).toEqual(['agrees']);
    expect(verdict(6)).toEqual(['agrees']);
    expect(verdict(7)).toEqual(['agrees']);
    // Rank 1 far behind the best rank: the paper's claim is not reproduced, and the report says so.
    const bad = findings(fixture((id) => (id === 'WqWv-r1' ? 0.4 : 0.8)));
    expect(verdict(4, bad)).toEqual(['disagrees']);
    expect(bad.find((f) => f.item === 4)!.ours).toContain('no smaller rank is within the noise of the best');
    const r4 = findings(fixture((id) => ({ 'WqWv-r1': 0.4, 'WqWv-r4': 0.78 })[id] ?? 0.8)).find((f) => f.item === 4)!;
    expect(r4.ours).toContain('best r=8: 0.800 (gap 0.400, noise ±0.030; smallest rank within the noise of the best: r=4)');
    // Everything at chance: no conclusion either way.
    const chance = findings(fixture(() => 0.34));
    expect(verdict(4, chance)).toEqual(['inconclusive']);
    expect(verdict(5, chance)).toEqual(['inconclusive']);
    // Differences within two standard errors over seeds are not taken as evidence either way.
    const multi = (id: string) => id.startsWith('WqWv') || id.startsWith('WqWkWvWo');
    const noisyAhead = findings(fixture((id, seed) => (multi(id) ? [0.5, 0.6][seed]! : 0.53)));
    expect(verdict(5, noisyAhead)).toEqual(['partly agrees']);
    const noisyBehind = findings(fixture((id, seed) => (multi(id) ? [0.45, 0.55][seed]! : 0.52)));
    expect(verdict(5, noisyBehind)).toEqual(['inconclusive']);
    const clearlyBehind = findings(fixture((id) => (multi(id) ? 0.45 : 0.7)));
    expect(verdict(5, clearlyBehind)).toEqual(['disagrees']);
  });

  it("takes item 4's verdict at the longer budget when some rank configurations have their own steps", async () => {
    const long = [adapterConfig(['Wq', 'Wv'], 1, 1500), adapterConfig(['Wq', 'Wv'], 64, 1500)];
    const r = fixture((id) => ({ 'WqWv-r1': 0.4, 'WqWv-r1@1500': 0.79 })[id] ?? 0.8, { rankConfigs: [...quickSettings().rankConfigs, ...long] });
    const item4 = findings(r).filter((f) => f.item === 4);
    expect(item4.map((f) => f.verdict)).toEqual(['agrees']);
    expect(item4[0]!.ours).toContain('1500 steps: r=1: 0.790, best r=64: 0.800');
    expect(item4[0]!.ours).toContain('300 steps: r=1: 0.400');
    const dir = mkdtempSync(join(tmpdir(), 'rankfold-report-'));
    await writeReport(r, dir);
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report).toMatch(/\| Wq\+Wv, 1500 steps \| 0\.790 ± 0\.000 \| — \| — \| 0\.800 ± 0\.000 \|/);
    expect(report).toContain('300 steps per run (and 1500 for Wq+Wv r=1, Wq+Wv r=64: item 4\'s longer budget)');
  });

  it('decides wikisql on the query shape when exact match is at chance for every configuration', async () => {
    const shape = (id: string) => (id === 'WqWv-r1' ? 0.2 : 0.9);
    const r = fixture(() => 0, { tasks: ['wikisql'] }, shape);
    r.base.zeroShot = { wikisql: 0 };
    const item4 = findings(r).filter((f) => f.item === 4);
    expect(item4.map((f) => [f.claim.slice(0, 28), f.verdict])).toEqual([['Rank (wikisql, query shape):', 'disagrees']]);
    expect(item4[0]!.why).toContain('does not copy an unseen name');
    // With exact match away from chance, exact match decides and the shape is only shown.
    const exact = findings(fixture((id) => (id === 'WqWv-r1' ? 0.5 : 0.52), { tasks: ['wikisql'] }, shape)).filter((f) => f.item === 4);
    expect(exact.map((f) => [f.claim.slice(0, 28), f.verdict])).toEqual([['Rank (wikisql, exact match):', 'agrees']]);
    const dir = mkdtempSync(join(tmpdir(), 'rankfold-report-'));
    await writeReport(r, dir);
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report).toContain('wikisql, query shape (the query with its compared value masked');
    expect(report).toMatch(/\| weights \| adapter parameters \| exact match \| query shape \| final training loss \|/);
    // The fixture has no full fine-tuning run, so the note does not claim one.
    expect(report).toContain('**wikisql: exact match is at chance for every configuration** (best 0.000; the query with its compared value masked');
    expect(report).toContain('decided on the query shape (best 0.900)');
    // With a full fine-tuning run at chance too, the note says it is included.
    r.adaptation.push({ ...r.adaptation[0]!, config: 'full' });
    const withFull = mkdtempSync(join(tmpdir(), 'rankfold-report-'));
    await writeReport(r, withFull);
    expect(readFileSync(join(withFull, 'report.md'), 'utf8')).toContain('at chance for every configuration, full fine-tuning included**');
    // A task whose exact match ranks configurations gets no such note.
    const ranked = mkdtempSync(join(tmpdir(), 'rankfold-report-'));
    await writeReport(fixture((id) => (id === 'WqWv-r1' ? 0.5 : 0.52), { tasks: ['wikisql'] }, shape), ranked);
    expect(readFileSync(join(ranked, 'report.md'), 'utf8')).not.toContain('exact match is at chance');
  });

  it('takes the noise of one run from its evaluation set, of several from the spread over seeds', () => {
    const run = (accuracy: number, total: number) => ({ ...fixture(() => 0).adaptation[0]!, accuracy, total });
    expect(standardError([run(0.5, 100)])).toBeCloseTo(0.05);
    expect(standardError([run(0.4, 96), run(0.6, 96)])).toBeCloseTo(std([0.4, 0.6]) / Math.SQRT2);
    expect(standardError([])).toBeNaN();
  });

});
