// Whole-model merge and unmerge (PEFT's merge_and_unload / unmerge_adapter), for every adapter
// kind: each adapted linear weight becomes W + scaling·B·A (Conv1D: its transpose; DoRA: rescaled
// to its magnitude), each adapted embedding W + (B·A)ᵀ·scaling, a lora_bias is added to the base
// bias (bias + scaling·lora_B.bias); the base tensors the adapter carries (modules_to_save copies,
// trained biases, a PiSSA/OLoRA residual) replace the base first, as PEFT's loader writes them
// before merging. The rest is unchanged.
import type { CheckedModel } from '../../compiler/check/model.ts';
import { countParams } from '../../compiler/check/index.ts';
import { UserError } from '../../compiler/errors.ts';
import { loraParamNames, mergeLora, mutatesBase, unmergeLora, type LoraFactors } from '../../compiler/lora/index.ts';
import type { Adapter } from '../io/peft.ts';
import type { WeightMap } from '../model/weights.ts';
import { adaptedShape, applyPeftConfig, isAdaptable, type AdaptableOp } from './apply-peft.ts';
import { adapterWeights, baseOverrides } from './adapter-weights.ts';
import { storageName } from './init.ts';

function adapted(model: CheckedModel): AdaptableOp[] {
  return model.ops.filter((o): o is AdaptableOp => isAdaptable(o) && o.lora !== undefined);
}

function factorsOf(op: AdaptableOp, lora: WeightMap): LoraFactors {
  const cfg = op.lora!;
  const { kind, inFeatures, outFeatures } = adaptedShape(op);
  const names = loraParamNames(op.module, kind);
  const a = lora.get(names.a);
  const b = lora.get(names.b);
  if (!a || !b) throw new Error(`no adapter weights for ${op.module}`);
  // An embedding table [num, dim] is stored like a Conv1D weight of the map num -> dim.
  const f: LoraFactors = { a, b, rank: cfg.rank, inFeatures, outFeatures, scaling: cfg.scaling, fanInFanOut: kind === 'embedding' || (op.op === 'linear' && op.layout === 'conv1d') };
  if (cfg.dora) {
    const magnitude = lora.get(names.magnitude);
    if (!magnitude) throw new Error(`no DoRA magnitude for ${op.module}`);
    f.magnitude = magnitude;
  }
  return f;
}

/** lora_bias: the base bias moves by ±scaling·lora_B.bias (PEFT refuses layers without a bias). */
function shiftBias(op: AdaptableOp, out: WeightMap, lora: WeightMap, sign: 1 | -1): void {
  if (!op.lora!.loraBias) return;
  if (op.op !== 'linear' || op.bias === undefined) {
    throw new UserError(`cannot merge "${op.module}": lora_bias=true but the layer has no bias (PEFT: "Impossible to merge LoRA with \`lora_bias=True\` because the base layer has no bias.")`);
  }
  const bias = out.get(op.bias)!;
  const biasB = lora.get(loraParamNames(op.module).biasB)!;
  out.set(op.bias, Float32Array.from(bias, (v, i) => v + sign * op.lora!.scaling * biasB[i]!));
}

/**
 * Merged base weights from the base and an adapter's weights (adapterWeights: LoRA tensors plus
 * the base tensors it replaces). DoRA factors are kept in `doraFactors` so that
 * `unmergeAdapterWeights` can invert exactly (PEFT caches them the same way).
 */
export function mergeAdapterWeights(model: CheckedModel, base: WeightMap, lora: WeightMap, doraFactors?: Map<string, Float64Array>): WeightMap {
  const out: WeightMap = new Map(base);
  for (const [name, value] of lora) if (out.has(name)) out.set(name, value);
  for (const op of adapted(model)) {
    const name = storageName(model, op.weight);
    const w0 = out.get(name);
    if (!w0) throw new Error(`no base weight ${name}`);
    const { weight, doraFactor } = mergeLora(w0, factorsOf(op, lora));
    out.set(name, weight);
    if (doraFactor) doraFactors?.set(name, doraFactor);
    shiftBias(op, out, lora, 1);
  }
  return out;
}

/** The inverse of mergeAdapterWeights for the LoRA part (the replaced base tensors are not restored). */
export function unmergeAdapterWeights(model: CheckedModel, merged: WeightMap, lora: WeightMap, doraFactors?: Map<string, Float64Array>): WeightMap {
  const out: WeightMap = new Map(merged);
  for (const op of [...adapted(model)].reverse()) {
    const name = storageName(model, op.weight);
    out.set(name, unmergeLora(out.get(name)!, factorsOf(op, lora), doraFactors?.get(name)));
    shiftBias(op, out, lora, -1);
  }
  return out;
}

/**
 * The base weights (storage names) that merging or unmerging this adapter changes: every adapted
 * weight, the biases a lora_bias shifts, and the base tensors the adapter replaces (modules_to_save
 * copies, trained biases). The rest of the base passes through unchanged, so a merge on files needs
 * only these in memory. `model` is the spec re-targeted by the adapter (applyPeftConfig).
 */
export function mergeTouches(model: CheckedModel, adapter: Adapter, source: string): Set<string> {
  const out = new Set<string>();
  for (const op of adapted(model)) {
    out.add(storageName(model, op.weight));
    if (op.lora!.loraBias && op.op === 'linear' && op.bias !== undefined) out.add(op.bias);
  }
  for (const name of baseOverrides(model, adapter, source).keys()) out.add(name);
  return out;
}

/** The same model without adapters (what a merged checkpoint runs as). */
export function stripAdapters(model: CheckedModel): CheckedModel {
  const ops = model.ops.map((op) => {
    if (!isAdaptable(op) || (!op.lora && !op.adapters)) return op;
    const { lora: _drop, adapters: _named, ...rest } = op;
    return rest as typeof op;
  });
  const weights = model.weights.filter((w) => w.role !== 'adapter');
  const { adapterOptions: _opts, ...rest } = model;
  return { ...rest, ops, weights, lora: [], counts: countParams(weights) };
}

export interface MergeResult {
  /** The spec re-targeted by the adapter's config. */
  adapted: CheckedModel;
  /** The plain model the merged weights run as. */
  plain: CheckedModel;
  weights: WeightMap;
}

/** PEFT's merge_and_unload of one adapter directory's contents into base weights. */
export function mergeAdapter(spec: CheckedModel, base: WeightMap, adapter: Adapter, source: string): MergeResult {
  const model = applyPeftConfig(spec, adapter.config, `${source}/adapter_config.json`);
  const lora = adapterWeights(model, adapter, source, { base });
  return { adapted: model, plain: stripAdapters(model), weights: mergeAdapterWeights(model, base, lora) };
}

/**
 * Why merged weights cannot be turned back into the base exactly: what a merge overwrote
 * (modules_to_save copies, trained biases, a PiSSA/OLoRA residual) and DoRA, whose merge divides
 * by a norm that the merged file no longer holds. Undefined when unmerge is exact.
 */
export function unmergeRefusal(model: CheckedModel, adapter: Adapter, source: string): string | undefined {
  const c = adapter.config;
  if (c.use_dora) return `${source} is a DoRA adapter: its merge rescales each row by magnitude / ‖W + ΔW‖, a norm the merged weights no longer hold (PEFT unmerges DoRA only from its in-memory cache)`;
  if (adapted(model).some((op) => mutatesBase(op.lora!.init))) return `${source} uses init_lora_weights=${JSON.stringify(c.init_lora_weights)}: the merged weights hold the residual of the base, and the base's top-r part is not in the adapter`;
  const replaced = [...baseOverrides(model, adapter, source).keys()];
  if (replaced.length > 0) return `${source} replaces base tensors on merge (${replaced.slice(0, 3).join(', ')}${replaced.length > 3 ? ', ...' : ''}: modules_to_save copies or trained biases); their original values are not in the merged weights`;
  return undefined;
}

/** PEFT's unmerge of one adapter from merged weights: W − ΔW (and bias − scaling·lora_B.bias). */
export function unmergeAdapter(spec: CheckedModel, merged: WeightMap, adapter: Adapter, source: string): MergeResult {
  const model = applyPeftConfig(spec, adapter.config, `${source}/adapter_config.json`);
  const why = unmergeRefusal(model, adapter, source);
  if (why) throw new UserError(`cannot unmerge: ${why}`);
  const lora = adapterWeights(model, adapter, source);
  return { adapted: model, plain: stripAdapters(model), weights: unmergeAdapterWeights(model, merged, lora) };
}
