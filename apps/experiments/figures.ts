// The report's SVG figures (Vega-Lite, runtime/report/charts.ts), each a function of results.json: loss curves, accuracy against
// rank, accuracy at a fixed parameter budget, memory by category, and subspace-similarity heatmaps.
import { barChartSvg, heatmapSvg, lineChartSvg, type Series } from '../../runtime/report/charts.ts';
import { accuracies, chanceAccuracy, labelOf } from './findings.ts';
import { fp16 } from './scale.ts';
import { rankGroup } from './settings.ts';
import { mean, median, std } from './stats.ts';
import type { ExperimentResults } from './types.ts';

export type Figures = Map<string, { svg: string; caption: string }>;

const GB = 1e9;

function memoryAtScaleFigure(r: ExperimentResults): Promise<string> {
  const cats: [string, (t: Record<string, number>) => number][] = [
    ['weights', (t) => (t.frozen_weights ?? 0) + (t.trainable_weights ?? 0) + (t.adapter_weights ?? 0)],
    ['gradients', (t) => t.gradients ?? 0],
    ['optimizer state', (t) => t.optimizer_state ?? 0],
    [`activations (b=${r.scale.batch}, seq ${r.scale.seq})`, (t) => (t.activations ?? 0) + (t.scratch ?? 0) + (t.inputs ?? 0)],
  ];
  return barChartSvg({
    title: 'GPT-3 175B training memory by category (fp16 equivalent)',
    yLabel: 'GB',
    series: ['full fine-tuning', 'LoRA r=4 Wq,Wv'],
    groups: cats.map(([label, f]) => ({ label, values: [fp16(f(r.scale.full.totals)) / GB, fp16(f(r.scale.lora.totals)) / GB] })),
  });
}

function measuredMemoryFigure(r: ExperimentResults): Promise<string> | undefined {
  const e = r.efficiency;
  if (!e) return undefined;
  const cats = ['frozen_weights', 'trainable_weights', 'adapter_weights', 'gradients', 'optimizer_state', 'activations', 'kernel_scratch', 'readback'] as const;
  return barChartSvg({
    title: `Measured GPU bytes of one training step (${e.batch}×${e.seq})`,
    yLabel: 'kB',
    series: ['full fine-tuning', `LoRA ${labelOf(e.config.id)}`],
    groups: cats.map((c) => ({ label: c.replace('_', ' '), values: [(e.full.bytes[c] ?? 0) / 1e3, (e.lora.bytes[c] ?? 0) / 1e3] })),
  });
}

function lossFigure(title: string, curves: { name: string; points: { step: number; loss: number }[] }[]): Promise<string> {
  const series: Series[] = curves.map((c) => ({ name: c.name, x: c.points.map((p) => p.step), y: c.points.map((p) => p.loss) }));
  return lineChartSvg({ title, xLabel: 'step', xInteger: true, yLabel: 'training loss (nats/token)', series, logY: true });
}

function rankFigure(r: ExperimentResults, task: string): Promise<string> {
  const groups = new Map<string, { x: number[]; y: number[] }>();
  for (const c of r.settings.rankConfigs) {
    const key = rankGroup(c);
    const g = groups.get(key) ?? { x: [], y: [] };
    g.x.push(Math.log2(c.r));
    g.y.push(mean(accuracies(r.adaptation, task, c.id)));
    groups.set(key, g);
  }
  const series: Series[] = [...groups].map(([name, g]) => ({ name, ...g }));
  const xs = series.flatMap((s) => Array.from(s.x));
  const full = accuracies(r.adaptation, task, 'full');
  if (full.length) series.push({ name: 'full fine-tuning', x: [Math.min(...xs), Math.max(...xs)], y: [mean(full), mean(full)], color: '#888' });
  series.push({ name: 'chance', x: [Math.min(...xs), Math.max(...xs)], y: [chanceAccuracy(task), chanceAccuracy(task)], color: '#ccc' });
  return lineChartSvg({ title: `${task}: accuracy vs LoRA rank (mean over seeds)`, xLabel: 'log2 r', yLabel: 'accuracy', series });
}

function budgetFigure(r: ExperimentResults, task: string): Promise<string> {
  const ids = r.settings.budgetConfigs.map((c) => c.id);
  return barChartSvg({
    title: `${task}: accuracy at one parameter budget`,
    yLabel: 'accuracy',
    series: ['accuracy'],
    yMax: 1,
    reference: { value: chanceAccuracy(task), label: 'chance' },
    groups: ids.map((id) => {
      const acc = accuracies(r.adaptation, task, id);
      return { label: labelOf(id), values: [mean(acc)], errors: [std(acc)] };
    }),
  });
}

function inferenceFigure(r: ExperimentResults): Promise<string> | undefined {
  const inf = r.inference;
  if (!inf) return undefined;
  const base = median(inf.forwardMs.base);
  return barChartSvg({
    title: `Forward pass time relative to the base model (${inf.batch}×${inf.seq})`,
    yLabel: 'median time / base model',
    series: ['relative time'],
    reference: { value: 1, label: 'base model' },
    groups: (['base', 'merged', 'unmerged'] as const).map((k) => ({ label: k === 'unmerged' ? 'adapter (unmerged)' : k, values: [median(inf.forwardMs[k]) / base] })),
  });
}

export async function buildFigures(r: ExperimentResults): Promise<Figures> {
  const figs: Figures = new Map();
  figs.set('memory-gpt3.svg', { svg: await memoryAtScaleFigure(r), caption: 'GPT-3 175B memory plan by category, full fine-tuning vs LoRA (half of our f32 bytes)' });
  const mem = measuredMemoryFigure(r);
  if (mem) figs.set('memory-measured.svg', { svg: await mem, caption: 'GPU bytes allocated by the runtime for one training step, by category' });
  figs.set('pretrain-loss.svg', { svg: await lossFigure('Base model pretraining (full fine-tuning on the base corpus)', [{ name: 'pretraining', points: r.base.history }]), caption: 'Pretraining loss of the base model' });
  const seed = r.settings.seeds[0];
  for (const task of r.settings.tasks) {
    const curves = r.settings.rankConfigs.map((c) => ({ name: labelOf(c.id), points: r.adaptation.find((a) => a.task === task && a.config === c.id && a.seed === seed)?.history ?? [] }));
    figs.set(`loss-${task}.svg`, { svg: await lossFigure(`${task}: adaptation loss by configuration (seed ${seed})`, curves), caption: `Training loss on ${task}, seed ${seed}` });
    figs.set(`rank-${task}.svg`, { svg: await rankFigure(r, task), caption: `Accuracy on ${task} against rank` });
    figs.set(`budget-${task}.svg`, { svg: await budgetFigure(r, task), caption: `Accuracy on ${task} at one parameter budget (error bars: one standard deviation over seeds)` });
  }
  for (const s of r.subspace.filter((x) => x.seed === seed)) {
    for (const g of s.grids) {
      const name = `subspace-${s.task}-${g.module.replace(/[^a-z0-9]+/gi, '-')}.svg`;
      const svg = await heatmapSvg({
        values: g.values,
        rows: g.r1,
        cols: g.r2,
        min: 0,
        max: 1,
        title: `φ(A r=${g.r1}, A r=${g.r2}) ${g.module}`,
        xLabel: `j (top-j directions of A, r=${g.r2})`,
        yLabel: `i (r=${g.r1})`,
      });
      figs.set(name, { svg, caption: `Normalized subspace similarity, ${s.task}, ${g.module}` });
    }
  }
  const inf = inferenceFigure(r);
  if (inf) figs.set('inference.svg', { svg: await inf, caption: 'Forward-pass latency of merged and unmerged models relative to the base model' });
  return figs;
}
