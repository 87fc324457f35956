// Whole-model merge and unmerge (PEFT's merge_and_unload / unmerge_adapter): every adapted linear
// weight becomes W0 + scaling·B·A (DoRA: rescaled to its magnitude); the rest is unchanged.
import type { CheckedModel, Op } from '../../compiler/check/model.ts';
import { countParams } from '../../compiler/check/index.ts';
import { loraParamNames } from '../../compiler/lora/keys.ts';
import { mergeLora, unmergeLora, type LoraFactors } from '../../compiler/lora/merge-math.ts';
import type { WeightMap } from '../model/weights.ts';

type LinearOp = Extract<Op, { op: 'linear' }>;

function factorsOf(op: LinearOp, lora: WeightMap): LoraFactors {
  const names = loraParamNames(op.module);
  const a = lora.get(names.a);
  const b = lora.get(names.b);
  if (!a || !b) throw new Error(`no adapter weights for ${op.module}`);
  const f: LoraFactors = {
    a,
    b,
    rank: op.lora!.rank,
    inFeatures: op.inFeatures,
    outFeatures: op.outFeatures,
    scaling: op.lora!.scaling,
    fanInFanOut: op.layout === 'conv1d',
  };
  const magnitude = lora.get(names.magnitude);
  if (op.lora!.dora) {
    if (!magnitude) throw new Error(`no DoRA magnitude for ${op.module}`);
    f.magnitude = magnitude;
  }
  return f;
}

function adapted(model: CheckedModel): LinearOp[] {
  return model.ops.filter((o): o is LinearOp => o.op === 'linear' && o.lora !== undefined);
}

/** Merged base weights; DoRA factors are kept so `unmergeAdapterWeights` can invert exactly. */
export function mergeAdapterWeights(model: CheckedModel, base: WeightMap, lora: WeightMap, doraFactors?: Map<string, Float64Array>): WeightMap {
  const out: WeightMap = new Map(base);
  for (const op of adapted(model)) {
    const w0 = out.get(op.weight);
    if (!w0) throw new Error(`no base weight ${op.weight}`);
    const { weight, doraFactor } = mergeLora(w0, factorsOf(op, lora));
    out.set(op.weight, weight);
    if (doraFactor) doraFactors?.set(op.weight, doraFactor);
  }
  return out;
}

export function unmergeAdapterWeights(model: CheckedModel, merged: WeightMap, lora: WeightMap, doraFactors?: Map<string, Float64Array>): WeightMap {
  const out: WeightMap = new Map(merged);
  for (const op of adapted(model)) {
    out.set(op.weight, unmergeLora(out.get(op.weight)!, factorsOf(op, lora), doraFactors?.get(op.weight)));
  }
  return out;
}

/** The same model without adapters (what a merged checkpoint runs as). */
export function stripAdapters(model: CheckedModel): CheckedModel {
  const ops = model.ops.map((op) => {
    if (op.op !== 'linear' || !op.lora) return op;
    const { lora: _drop, ...rest } = op;
    return rest;
  });
  const weights = model.weights.filter((w) => w.role !== 'adapter');
  return { ...model, ops, weights, lora: [], counts: countParams(weights) };
}
