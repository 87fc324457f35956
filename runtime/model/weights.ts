// Moving weights between files and an executor: base weights from a Hugging Face safetensors file
// (by name, tied pairs from either name), fresh initializations (GPT-2 style for a base model,
// PEFT's for adapters), and adapters to and from PEFT's in-memory form.
import type { CheckedModel, LoraConfig, Weight } from '../../compiler/check/model.ts';
import { loraParamNames } from '../../compiler/lora/keys.ts';
import { Rng } from '../data/rng.ts';
import { UserError } from '../../compiler/errors.ts';
import type { Executor } from '../exec/executor.ts';
import { paramNames } from '../exec/executor.ts';
import { initToPeft, loraKey, makePeftConfig, pyEscape, PEFT_KEY_PREFIX, type Adapter, type LoraModuleWeights, type PeftConfig } from '../io/peft.ts';
import type { SafetensorsFile } from '../io/safetensors.ts';
import { doraInitialMagnitude } from '../../compiler/lora/merge-math.ts';
import { requireFinite } from './finite.ts';

export type WeightMap = Map<string, Float32Array>;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Base weights of the model (not adapters, not tied aliases), by checkpoint name. */
export function baseWeights(model: CheckedModel): Weight[] {
  return model.weights.filter((w) => w.role !== 'adapter' && w.tiedTo === undefined);
}

/**
 * Reads every base weight the model needs from a safetensors file, checking shapes. A tied
 * weight may be stored under either name of the pair (GPT-2 stores only wte).
 */
export function readBaseWeights(model: CheckedModel, file: SafetensorsFile): WeightMap {
  const out: WeightMap = new Map();
  for (const w of baseWeights(model)) {
    let name = w.name;
    if (!file.has(name)) {
      const alias = model.weights.find((x) => x.tiedTo === w.name && file.has(x.name));
      if (!alias) throw new UserError(`${file.source}: tensor "${w.name}" (shape [${w.shape.join(', ')}]) required by ${model.file} is missing`);
      name = alias.name;
    }
    const info = file.info(name);
    if (!sameShape(info.shape, w.shape)) {
      throw new UserError(`${file.source}: tensor "${name}" has shape [${info.shape.join(', ')}] but ${model.file} expects [${w.shape.join(', ')}]`);
    }
    const data = file.getFloat32(name);
    requireFinite(data, file.source, name, info.shape);
    out.set(w.name, data);
  }
  return out;
}

/** GPT-2's initialization: N(0, 0.02) matrices and embeddings, ones for norm scales, zero biases. */
export function initBaseWeights(model: CheckedModel, seed: number): WeightMap {
  const rng = new Rng(seed);
  const out: WeightMap = new Map();
  for (const w of baseWeights(model)) {
    const data = new Float32Array(w.numel);
    if (w.layout === 'vector') data.fill(w.name.endsWith('.bias') ? 0 : 1);
    else for (let i = 0; i < data.length; i++) data[i] = rng.normal() * 0.02;
    out.set(w.name, data);
  }
  return out;
}

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * bound);
}

/**
 * PEFT's reset_lora_parameters: 'default' = Kaiming-uniform A (a=√5, so bound 1/√in) and zero B;
 * 'gaussian' = A ~ N(0, 1/r), zero B; 'random' (init_lora_weights=False) = both Kaiming-uniform.
 * DoRA's magnitude starts as ‖W0 + scaling·B·A‖ per output row, so the adapted layer starts equal
 * to the base layer.
 */
export function initAdapterWeights(model: CheckedModel, base: WeightMap, seed: number): WeightMap {
  const rng = new Rng(seed);
  const out: WeightMap = new Map();
  for (const op of model.ops) {
    if (op.op !== 'linear' || !op.lora) continue;
    const { rank, init } = op.lora;
    const names = loraParamNames(op.module);
    const a = init === 'gaussian' ? Float32Array.from({ length: rank * op.inFeatures }, () => rng.normal() / rank) : uniform(rng, rank * op.inFeatures, 1 / Math.sqrt(op.inFeatures));
    const b = init === 'random' ? uniform(rng, op.outFeatures * rank, 1 / Math.sqrt(rank)) : new Float32Array(op.outFeatures * rank);
    out.set(names.a, a);
    out.set(names.b, b);
    if (op.lora.dora) {
      const w0 = base.get(op.weight);
      if (!w0) throw new Error(`initAdapterWeights: base weight ${op.weight} is not loaded`);
      const mag = doraInitialMagnitude(w0, { a, b, rank, inFeatures: op.inFeatures, outFeatures: op.outFeatures, scaling: op.lora.scaling, fanInFanOut: op.layout === 'conv1d' });
      out.set(names.magnitude, mag);
    }
  }
  return out;
}

/** Sets every parameter of the executor's graph that `weights` has; returns the names it set. */
export function setWeights(exec: Executor, weights: WeightMap): string[] {
  const set: string[] = [];
  for (const name of paramNames(exec.graph)) {
    const w = weights.get(name);
    if (w) {
      exec.setParam(name, w);
      set.push(name);
    }
  }
  return set;
}

/** Fails naming every parameter of the graph that was never given a value. */
export function requireAllSet(exec: Executor, set: Iterable<string>): void {
  const have = new Set(set);
  const missing = paramNames(exec.graph).filter((n) => !have.has(n));
  if (missing.length > 0) throw new UserError(`no value for parameter(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
}

/** Base weights an adapter trains besides its LoRA factors (PEFT bias="all"/"lora_only"). */
export function trainableBaseWeights(model: CheckedModel): Weight[] {
  return model.weights.filter((w) => w.role === 'trainable' && w.tiedTo === undefined);
}

/** Adapter weights from a PEFT adapter, under our parameter names, checked against the model. */
export function adapterWeights(model: CheckedModel, adapter: Adapter, source: string): WeightMap {
  const out: WeightMap = new Map();
  for (const w of trainableBaseWeights(model)) {
    // PEFT saves trained biases under their full key; without one, the base value stands.
    const saved = adapter.others.get(`${PEFT_KEY_PREFIX}${w.name}`);
    if (saved) {
      if (!sameShape(saved.shape, w.shape)) throw new UserError(`${source}: ${w.name} has shape [${saved.shape.join(', ')}], expected [${w.shape.join(', ')}]`);
      requireFinite(saved.data, source, `${PEFT_KEY_PREFIX}${w.name}`, saved.shape);
      out.set(w.name, saved.data);
    }
  }
  for (const op of model.ops) {
    if (op.op !== 'linear' || !op.lora) continue;
    const t = adapter.tensors.get(op.module);
    if (!t) throw new UserError(`${source}: no LoRA weights for module "${op.module}"`);
    const names = loraParamNames(op.module);
    const expect = (what: string, got: number[], want: number[]) => {
      if (!sameShape(got, want)) throw new UserError(`${source}: ${op.module} ${what} has shape [${got.join(', ')}], expected [${want.join(', ')}]`);
    };
    expect('lora_A', t.A.shape, [op.lora.rank, op.inFeatures]);
    expect('lora_B', t.B.shape, [op.outFeatures, op.lora.rank]);
    requireFinite(t.A.data, source, loraKey(op.module, 'A'), t.A.shape);
    requireFinite(t.B.data, source, loraKey(op.module, 'B'), t.B.shape);
    out.set(names.a, t.A.data);
    out.set(names.b, t.B.data);
    if (op.lora.dora) {
      if (!t.magnitude) throw new UserError(`${source}: DoRA adapter has no magnitude vector for "${op.module}"`);
      expect('DoRA magnitude', t.magnitude.shape, [op.outFeatures]);
      requireFinite(t.magnitude.data, source, loraKey(op.module, 'magnitude'), t.magnitude.shape);
      out.set(names.magnitude, t.magnitude.data);
    }
  }
  return out;
}

/** The PEFT config that describes the model's adapters (explicit target list and patterns). */
export function peftConfigFor(model: CheckedModel, extra: Partial<PeftConfig> = {}): PeftConfig {
  const targets = model.lora;
  if (targets.length === 0) throw new UserError(`${model.file}: the model has no LoRA adapters to save`);
  const first = targets[0]!.config;
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const t of targets) {
    // Per-module overrides as PEFT patterns keyed by the full module name (matched with ^(.*\.)?KEY$).
    if (t.config.rank !== first.rank) rankPattern[pyEscape(t.module)] = t.config.rank;
    if (t.config.alpha !== first.alpha) alphaPattern[pyEscape(t.module)] = t.config.alpha;
  }
  const lastPart = (module: string) => module.slice(module.lastIndexOf('.') + 1);
  const suffixes = [...new Set(targets.map((t) => lastPart(t.module)))];
  const targeted = new Set(targets.map((t) => t.module));
  const linearModules = model.ops.flatMap((o) => (o.op === 'linear' ? [o.module] : []));
  const suffixesPickExactly = linearModules.every((m) => suffixes.includes(lastPart(m)) === targeted.has(m));
  return makePeftConfig({
    r: first.rank,
    lora_alpha: first.alpha,
    lora_dropout: first.dropout,
    use_rslora: first.rslora,
    use_dora: first.dora,
    init_lora_weights: initToPeft(first.init),
    // Suffix names when they pick exactly our modules; otherwise the explicit list of module names.
    target_modules: suffixesPickExactly ? suffixes : targets.map((t) => t.module),
    fan_in_fan_out: model.ops.some((o) => o.op === 'linear' && o.lora !== undefined && o.layout === 'conv1d'),
    rank_pattern: rankPattern,
    alpha_pattern: alphaPattern,
    ...extra,
  } as Partial<PeftConfig>);
}

/** Reads the adapter's parameters back from an executor into PEFT's form. */
export async function readAdapterFromExecutor(exec: Executor, model: CheckedModel, config?: PeftConfig): Promise<Adapter> {
  const tensors = new Map<string, LoraModuleWeights>();
  for (const op of model.ops) {
    if (op.op !== 'linear' || !op.lora) continue;
    const names = loraParamNames(op.module);
    const entry: LoraModuleWeights = {
      kind: 'linear',
      A: { shape: [op.lora.rank, op.inFeatures], data: await exec.getParam(names.a) },
      B: { shape: [op.outFeatures, op.lora.rank], data: await exec.getParam(names.b) },
    };
    if (op.lora.dora) entry.magnitude = { shape: [op.outFeatures], data: await exec.getParam(names.magnitude) };
    tensors.set(op.module, entry);
  }
  const others = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const w of trainableBaseWeights(model)) others.set(`${PEFT_KEY_PREFIX}${w.name}`, { shape: w.shape, data: await exec.getParam(w.name) });
  return { config: config ?? peftConfigFor(model), tensors, others };
}

export type { LoraConfig };

/** Weights with their shapes from the model, ready for writeSafetensorsFile (HF names). */
export function weightTensors(model: CheckedModel, weights: WeightMap): Map<string, { shape: number[]; data: Float32Array }> {
  const shapes = new Map(model.weights.map((w) => [w.name, w.shape]));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, data] of weights) {
    const shape = shapes.get(name);
    if (!shape) throw new Error(`weightTensors: ${model.file} has no weight "${name}"`);
    out.set(name, { shape, data });
  }
  return out;
}
