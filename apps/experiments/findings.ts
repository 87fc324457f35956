// The report's verdicts: for each paper claim, what the paper says, what we measured and whether
// the two agree, decided from the numbers by fixed rules (stated next to each verdict) rather than
// written by hand, so a run that disagrees with the paper says so.
import { getTask } from '../tasks/index.ts';
import { configLabel, uniqueConfigs, fullSettings, type AdapterConfig } from './settings.ts';
import { fp16, PAPER_SCALE } from './scale.ts';
import { formatBytes, formatCount, mean, median, std } from './stats.ts';
import type { AdaptRun, ExperimentResults } from './types.ts';

export type Verdict = 'agrees' | 'partly agrees' | 'disagrees' | 'inconclusive' | 'not measured';

export interface Finding {
  item: number;
  claim: string;
  paper: string;
  ours: string;
  verdict: Verdict;
  why: string;
}

/** Chance accuracy of a task's metric (NLI: three balanced labels; exact-match SQL: zero). */
export function chanceAccuracy(task: string): number {
  return task === 'nli' ? 1 / 3 : 0;
}

/** "3000 steps (26 min)": how long the base model was pretrained. */
export function pretrainBudget(r: ExperimentResults): string {
  return `${r.settings.pretrain.steps} steps (${Math.max(1, Math.round(r.base.wallMs / 60_000))} min)`;
}

export function configById(id: string): AdapterConfig | undefined {
  return uniqueConfigs(fullSettings()).find((c) => c.id === id);
}

export function labelOf(id: string): string {
  if (id === 'full') return 'full fine-tuning';
  const c = configById(id);
  return c ? configLabel(c) : id;
}

/** Accuracies of one (task, config) over seeds. */
export function accuracies(runs: readonly AdaptRun[], task: string, config: string): number[] {
  return runs.filter((r) => r.task === task && r.config === config).map((r) => r.accuracy);
}

function scaleFindings(r: ExperimentResults): Finding[] {
  const { scale } = r;
  const full = fp16(scale.full.modelStateBytes);
  const lora = fp16(scale.lora.modelStateBytes);
  const near = (a: number, b: number, tol: number) => Math.abs(a / b - 1) <= tol;
  const ratioOurs = full / lora;
  const ratioPaper = PAPER_SCALE.fullFinetuneVramBytes / PAPER_SCALE.loraVramBytes;
  const memVerdict: Verdict = near(lora, PAPER_SCALE.loraVramBytes, 0.1) && near(full, PAPER_SCALE.fullFinetuneVramBytes, 0.25) ? 'agrees' : near(lora, PAPER_SCALE.loraVramBytes, 0.1) ? 'partly agrees' : 'disagrees';
  const adapterFp16 = scale.adapterParams * 2;
  return [
    {
      item: 1,
      claim: 'GPT-3 175B training memory, full fine-tuning (Adam) vs LoRA r=4 on Wq, Wv',
      paper: '1.2 TB vs 350 GB',
      ours: `${formatBytes(full)} vs ${formatBytes(lora)} (fp16-equivalent weights, gradients and Adam state; f32 plan: ${formatBytes(scale.full.modelStateBytes)} vs ${formatBytes(scale.lora.modelStateBytes)})`,
      verdict: memVerdict,
      why: `LoRA keeps only the frozen weights plus a tiny adapter, which is the paper's 350 GB. Full fine-tuning adds a gradient and two Adam moments per weight: 4× the weights at one precision, ${ratioOurs.toFixed(1)}× the LoRA figure against the paper's ${ratioPaper.toFixed(1)}×. The paper does not break its 1.2 TB down; 2 bytes for each of weight, gradient and both moments is ${formatBytes(full)}. Rule: agrees when LoRA is within 10% and full fine-tuning within 25% of the paper.`,
    },
    {
      item: 1,
      claim: 'Adapter size for GPT-3 175B, r=4 on Wq, Wv',
      paper: '18M parameters, 35 MB',
      ours: `${formatCount(scale.adapterParams)} parameters, ${formatBytes(adapterFp16)} at fp16 (${(adapterFp16 / 2 ** 20).toFixed(1)} MiB; ${formatBytes(scale.adapterParams * 4)} as f32)`,
      verdict: near(adapterFp16 / 2 ** 20, PAPER_SCALE.adapterBytes / 1e6, 0.1) ? 'agrees' : 'partly agrees',
      why: `96 layers × 2 matrices × (r·12288 + 12288·r) = ${formatCount(scale.adapterParams)} exactly; the paper's "35MB" matches fp16 storage counted in MiB. Rule: agrees within 10%.`,
    },
  ];
}

function efficiencyFindings(r: ExperimentResults): Finding[] {
  const e = r.efficiency;
  if (!e) return [];
  const memRatio = e.full.peakBytes / e.lora.peakBytes;
  const ckRatio = e.checkpoint.fullModelBytes / e.checkpoint.adapterWeightsBytes;
  const tFull = median(e.stepMs.full);
  const tLora = median(e.stepMs.lora);
  const speed = tFull / tLora;
  const b = e.full.bytes;
  const state = (b.trainable_weights ?? 0) + (b.gradients ?? 0) + (b.optimizer_state ?? 0);
  return [
    {
      item: 2,
      claim: 'Training memory of a model we train (peak GPU bytes)',
      paper: 'up to 3× less (1.2 TB → 350 GB at 175B)',
      ours: `${formatBytes(e.full.peakBytes)} → ${formatBytes(e.lora.peakBytes)} (${memRatio.toFixed(2)}× less)`,
      verdict: memRatio >= 2.5 ? 'agrees' : memRatio > 1.1 ? 'partly agrees' : 'disagrees',
      why: `The saving is the gradients and Adam moments of the frozen weights. In our ${formatCount(r.model.baseParams)}-parameter model they are ${formatBytes(state)} of full fine-tuning's ${formatBytes(e.full.peakBytes)} peak; activations and scratch for a ${e.batch}×${e.seq} batch are the rest and LoRA needs nearly as many. At 175B weights dominate, so the saving approaches the paper's. Rule: agrees at ≥2.5×, partly above 1.1×.`,
    },
    {
      item: 2,
      claim: 'Checkpoint size: whole model vs adapter file',
      paper: '10,000× smaller (350 GB → 35 MB)',
      ours: `${formatBytes(e.checkpoint.fullModelBytes)} → ${formatBytes(e.checkpoint.adapterWeightsBytes)} (${ckRatio.toFixed(0)}× smaller)`,
      verdict: ckRatio > 10 ? 'partly agrees' : 'disagrees',
      why: `The ratio is the parameter ratio, ${formatCount(r.model.baseParams)} / ${formatCount(e.lora.trainableParams)}, so it grows with width/rank: at 175B and r=4 it is ~9,250×, at width 64 and r=8 it cannot reach 10,000×. The direction holds; the magnitude is a property of scale. Rule: partly agrees above 10×.`,
    },
    {
      item: 3,
      claim: 'Training step time, LoRA vs full fine-tuning (same model and batch)',
      paper: '25% faster (GPT-3 175B)',
      ours: `median ${tFull.toFixed(0)} ms vs ${tLora.toFixed(0)} ms per step (LoRA ${((speed - 1) * 100).toFixed(0)}% ${speed >= 1 ? 'faster' : 'slower'}; ${e.full.dispatches} vs ${e.lora.dispatches} dispatches)`,
      verdict: speed >= 1.15 ? 'agrees' : speed >= 1.03 ? 'partly agrees' : 'disagrees',
      why: `LoRA skips the weight gradients and Adam updates of frozen weights (${e.full.dispatches} vs ${e.lora.dispatches} kernel dispatches a step) but adds small low-rank products. ${speed >= 1.15 ? `At width ${String(r.model.params['d'])} on a CPU Vulkan driver the saving is mostly fewer kernel launches rather than the large-matmul FLOPs behind the paper's figure, so the agreement is in direction more than in mechanism.` : `At width ${String(r.model.params['d'])} on a CPU Vulkan driver the step is bound by per-kernel overhead and attention, not by the matmuls LoRA saves, so the paper's gain (from large matmuls) need not appear.`} Rule: agrees at ≥15% faster, partly at ≥3%.`,
    },
  ];
}

/** True when every one of the given configurations scores within 0.05 of chance (or below it). */
export function nearChance(runs: readonly AdaptRun[], task: string, configs: readonly string[]): boolean {
  const chance = chanceAccuracy(task);
  const best = Math.max(...runs.filter((x) => x.task === task && configs.includes(x.config)).map((x) => mean(accuracies(runs, task, x.config))));
  return best < chance + 0.05;
}

/**
 * Standard error of a configuration's mean accuracy: over seeds when there are several, else the
 * binomial error of one run's accuracy on its evaluation set (sqrt(p(1-p)/n)).
 */
export function standardError(runs: readonly AdaptRun[]): number {
  if (runs.length >= 2) return std(runs.map((x) => x.accuracy)) / Math.sqrt(runs.length);
  const one = runs[0];
  if (!one || one.total === 0) return NaN;
  return Math.sqrt((one.accuracy * (1 - one.accuracy)) / one.total);
}

/** Two standard errors of the difference between two configurations' mean accuracies. */
function noiseOfDifference(runs: readonly AdaptRun[], a: string, b: string): number {
  const se = (id: string) => standardError(runs.filter((x) => x.config === id));
  return 2 * Math.hypot(se(a), se(b));
}

/**
 * The runs a comparison is scored on: the task's main score, unless every configuration compared is
 * near chance on it and the task has a looser score (Task.partial), which then decides instead.
 * `note` says so in the finding.
 */
function scoredRuns(all: readonly AdaptRun[], task: string, ids: readonly string[]): { runs: AdaptRun[]; metric: string; note: string } {
  const runs = all.filter((x) => x.task === task);
  const partial = getTask(task).partial;
  const compared = runs.filter((x) => ids.includes(x.config));
  if (!partial || !nearChance(runs, task, ids) || compared.length === 0 || compared.some((x) => x.partialAccuracy === undefined)) {
    return { runs, metric: task === 'nli' ? 'accuracy' : 'exact match', note: '' };
  }
  return {
    runs: runs.map((x) => ({ ...x, accuracy: x.partialAccuracy ?? NaN })),
    metric: partial.name,
    note: `Exact match is within 0.05 of chance for every configuration compared, so it cannot rank them; the verdict is taken on the ${partial.name} instead (${partial.explains ?? 'the task\'s looser score'}). `,
  };
}

/** Smallest rank against the best rank among Wq+Wv configurations with the same step budget. */
function rankGap(runs: readonly AdaptRun[], task: string, configs: readonly AdapterConfig[]) {
  const qv = configs.map((c) => ({ c, acc: accuracies(runs, task, c.id) })).filter((x) => x.acc.length > 0);
  if (qv.length < 2) return undefined;
  const small = qv.reduce((a, x) => (x.c.r < a.c.r ? x : a));
  const best = qv.reduce((a, x) => (mean(x.acc) > mean(a.acc) ? x : a));
  const noise = Math.max(0.03, noiseOfDifference(runs, best.c.id, small.c.id));
  const gap = mean(best.acc) - mean(small.acc);
  // The smallest rank within the noise of the best, which the paper's claim is about in spirit.
  const within = [...qv].sort((a, b) => a.c.r - b.c.r).find((x) => mean(best.acc) - mean(x.acc) <= Math.max(0.03, noiseOfDifference(runs, best.c.id, x.c.id)));
  const enough = !within || within.c.r === small.c.r ? '' : within.c.r === best.c.r ? '; no smaller rank is within the noise of the best' : `; smallest rank within the noise of the best: r=${within.c.r}`;
  const text = `r=${small.c.r}: ${mean(small.acc).toFixed(3)}, best r=${best.c.r}: ${mean(best.acc).toFixed(3)} (gap ${gap.toFixed(3)}, noise ±${noise.toFixed(3)}${enough})`;
  return { small, best, noise, gap, text, ids: qv.map((x) => x.c.id) };
}

function rankFindings(r: ExperimentResults): Finding[] {
  const out: Finding[] = [];
  const s = r.settings;
  const qv = s.rankConfigs.filter((c) => c.targets.join() === 'Wq,Wv');
  for (const task of s.tasks) {
    const { runs, metric, note } = scoredRuns(r.adaptation, task, qv.map((c) => c.id));
    const short = rankGap(runs, task, qv.filter((c) => !c.steps));
    const longSteps = qv.find((c) => c.steps)?.steps;
    const long = rankGap(runs, task, qv.filter((c) => c.steps));
    // The paper compares ranks trained to convergence: the longer budget decides when it ran.
    const decisive = long ?? short;
    if (!decisive) continue;
    const { gap, noise } = decisive;
    out.push({
      item: 4,
      claim: `Rank (${task}, ${metric}): a very small r on Wq+Wv is already competitive`,
      paper: 'r=1 within ~1 point of r=64 on WikiSQL and MultiNLI (Table 6)',
      ours: long ? `${longSteps} steps: ${long.text}${short ? `; ${s.adapt.steps} steps: ${short.text}` : ''}` : decisive.text,
      verdict: nearChance(runs, task, decisive.ids) ? 'inconclusive' : gap <= noise ? 'agrees' : gap <= 2 * noise ? 'partly agrees' : 'disagrees',
      why: `${note}${long ? `The verdict is taken at ${longSteps} steps (r=1 and r=64 only), the closest this run comes to the paper's training to convergence; at ${s.adapt.steps} steps a higher rank can simply fit faster.` : `Each adapter trains for ${s.adapt.steps} steps where the paper trains to convergence: a higher rank can simply fit faster in a short run.`} r=64 equals the width here (a full-rank update). The paper's finding rests on a base model that already represents the task, so the update it needs has a low intrinsic rank; a ${formatCount(r.model.baseParams)}-parameter base pretrained for ${pretrainBudget(r)} has to learn more of the task's features in the adapter itself, which takes rank or steps. Rule: agrees when the smallest rank is within the noise of the best rank (max(0.03, two standard errors of the difference: over seeds, or binomial on the evaluation set for one seed)), partly within twice that; inconclusive when every configuration compared is within 0.05 of chance (${chanceAccuracy(task).toFixed(2)}) or below it.`,
    });
  }
  return out;
}

function budgetFindings(r: ExperimentResults): Finding[] {
  const out: Finding[] = [];
  for (const task of r.settings.tasks) {
    const ids = r.settings.budgetConfigs.map((c) => c.id);
    const { runs, metric, note } = scoredRuns(r.adaptation, task, ids);
    const score = (id: string) => mean(accuracies(runs, task, id));
    const multi = ids.filter((id) => configById(id)!.targets.length > 1);
    const single = ids.filter((id) => configById(id)!.targets.length === 1);
    if (multi.length === 0 || single.length === 0) continue;
    const bestMulti = multi.reduce((a, id) => (score(id) > score(a) ? id : a));
    const bestSingle = single.reduce((a, id) => (score(id) > score(a) ? id : a));
    const margin = score(bestMulti) - score(bestSingle);
    const noise = noiseOfDifference(runs, bestMulti, bestSingle);
    out.push({
      item: 5,
      claim: `Which weights (${task}, ${metric}): at a fixed budget, adapting several matrices beats one matrix at a higher rank`,
      paper: 'Wq+Wv r=4 and all four r=2 best; Wq or Wk alone worst (Table 5)',
      ours: `best multi: ${labelOf(bestMulti)} ${score(bestMulti).toFixed(3)}; best single: ${labelOf(bestSingle)} ${score(bestSingle).toFixed(3)} (margin ${margin.toFixed(3)}, noise ±${noise.toFixed(3)})`,
      verdict: nearChance(runs, task, ids) ? 'inconclusive' : margin > noise ? 'agrees' : margin > 0 ? 'partly agrees' : margin < -noise ? 'disagrees' : 'inconclusive',
      why: `${note}Rule: agrees when the best multi-matrix configuration beats the best single-matrix one by more than the noise (two standard errors of the difference: over seeds, or binomial on the evaluation set for one seed), partly when it is ahead by less than that, disagrees when it is behind by more; otherwise, or when every configuration compared is within 0.05 of chance (${chanceAccuracy(task).toFixed(2)}) or below it, inconclusive.`,
    });
  }
  return out;
}

function subspaceFindings(r: ExperimentResults): Finding[] {
  const grids = r.subspace.flatMap((s) => s.grids);
  if (grids.length === 0) return [];
  const top = grids.map((g) => g.values[0]!);
  const cols = grids[0]!.cols;
  const random = 1 / cols;
  const m = mean(top);
  return [
    {
      item: 6,
      claim: 'Subspace similarity: the top direction of A at r=8 is shared with A at r=64',
      paper: 'φ(1, 1) > 0.5 for Wq and Wv; other directions near noise (Figure 3)',
      ours: `φ(1, 1) = ${m.toFixed(3)} on average over ${grids.length} module(s) (random ${cols}-dim directions: ${random.toFixed(3)})`,
      verdict: m > 0.5 ? 'agrees' : m > 5 * random ? 'partly agrees' : 'disagrees',
      why: `Rule: agrees above 0.5, partly above 5× the random baseline 1/d. With d=${cols} and r=64 the large adapter spans the whole input space, so φ(i, 64) = 1 for every i; only small j are informative.`,
    },
  ];
}

function inferenceFindings(r: ExperimentResults): Finding[] {
  const inf = r.inference;
  if (!inf) return [];
  const base = median(inf.forwardMs.base);
  const merged = median(inf.forwardMs.merged) / base;
  const unmerged = median(inf.forwardMs.unmerged) / base;
  const rel = inf.maxAbsLogitDiff / Math.max(inf.maxAbsLogit, 1e-30);
  return [
    {
      item: 7,
      claim: 'Merged weights add no inference latency and give the same outputs',
      paper: 'no additional inference latency (W = W0 + BA)',
      ours: `merged ${merged.toFixed(2)}× and unmerged ${unmerged.toFixed(2)}× the base model's forward time; max |Δlogit| ${inf.maxAbsLogitDiff.toExponential(1)}; ${inf.sameGenerations}/${inf.generations} identical generations`,
      verdict: Math.abs(merged - 1) <= 0.1 && rel < 1e-4 && inf.sameGenerations >= inf.generations * 0.98 ? 'agrees' : 'partly agrees',
      why: `The merged model runs the base model's graph (${inf.dispatches.plain} dispatches), so equal latency holds by construction and the measurement checks it; differences between base and merged are timing noise of a shared CPU. The unmerged model has ${inf.dispatches.adapter} dispatches (Rankfold fuses each low-rank product into its frozen matmul's kernel) but more arithmetic. Rule: agrees when merged is within 10% of base, logits agree to 1e-4 relative and ≥98% of generations are identical.`,
    },
  ];
}

export function findings(r: ExperimentResults): Finding[] {
  return [...scaleFindings(r), ...efficiencyFindings(r), ...rankFindings(r), ...budgetFindings(r), ...subspaceFindings(r), ...inferenceFindings(r)];
}
