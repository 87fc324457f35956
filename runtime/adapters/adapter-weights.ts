// A PEFT adapter against a model (re-targeted by applyPeftConfig): its tensors under the graph's
// parameter names, checked against the model's shapes, with everything PEFT's loader does to the
// base (PiSSA/OLoRA residual, then the saved base tensors: trained biases, modules_to_save copies,
// full embeddings, which PEFT's load_state_dict writes over the base); and the reverse: an
// executor's trained adapter as PEFT saves it, and the PEFT config that describes a spec's adapters.
import type { CheckedModel, Weight } from '../../compiler/check/model.ts';
import { UserError } from '../../compiler/errors.ts';
import {
  baseWeightKey,
  initToPeft,
  makePeftConfig,
  modulesToSaveLeaves,
  mutatesBase,
  parseBaseKey,
  pyEscape,
  selectModules,
  withContainers,
  type LoraConfig,
  type PeftConfig,
} from '../../compiler/lora/index.ts';
import type { Executor } from '../exec/executor.ts';
import { getWeight } from '../exec/weight-slots.ts';
import type { Adapter, FloatTensor, LoraModuleWeights } from '../io/peft.ts';
import { sameShape, type WeightMap } from '../model/weights.ts';
import { adaptedShape, isAdaptable, moduleInfos, type AdaptableOp } from './apply-peft.ts';
import { residualBase } from './init.ts';
import { loraKey, loraParamNames, type LoraPart } from '../../compiler/lora/keys.ts';
import { requireFinite } from '../model/finite.ts';

/** Base weights trained besides the LoRA factors (bias "all" / "lora_only", modules_to_save). */
export function trainableBaseWeights(model: CheckedModel): Weight[] {
  return model.weights.filter((w) => w.role === 'trainable' && w.tiedTo === undefined);
}

/** The leaf modules trained in full (modules_to_save), from the model's adapter options. */
export function savedModules(model: CheckedModel): Set<string> {
  return new Set(modulesToSaveLeaves(withContainers(moduleInfos(model)), model.adapterOptions?.modulesToSave ?? []));
}

function adaptedOps(model: CheckedModel): AdaptableOp[] {
  return model.ops.filter((o): o is AdaptableOp => isAdaptable(o) && o.lora !== undefined);
}

/** The key PEFT saves a trained base weight under (`<module>.base_layer.<leaf>` inside a LoRA layer). */
function trainedKey(model: CheckedModel, w: Weight): string {
  const wrapped = adaptedOps(model).some((o) => o.module === w.module);
  return baseWeightKey(w.name, wrapped ? w.module : undefined);
}

export interface AdapterWeightsOptions {
  /**
   * The base weights the adapter is applied to. Needed when the adapter's init replaces the base
   * by a residual (PiSSA, OLoRA): the residual is computed from them, as PEFT's loader does.
   */
  base?: WeightMap;
  /** The executor already holds the residual base (a resumed run initialized it): leave it out. */
  residualInPlace?: boolean;
}

/**
 * Everything to set into an executor (after the base weights) for this adapter: the LoRA tensors
 * under our parameter names, the residual base of PiSSA / OLoRA layers, and the base tensors the
 * adapter file carries, under their storage names. Refuses tensors that match nothing.
 */
export function adapterWeights(model: CheckedModel, adapter: Adapter, source: string, o: AdapterWeightsOptions = {}): WeightMap {
  const out: WeightMap = new Map();
  if (!o.residualInPlace && adaptedOps(model).some((op) => op.op === 'linear' && mutatesBase(op.lora!.init))) {
    if (!o.base) throw new Error(`adapterWeights: ${source} is a PiSSA/OLoRA adapter; pass the base weights to compute the residual`);
    for (const [k, v] of residualBase(model, o.base)) out.set(k, v);
  }
  for (const [k, v] of baseOverrides(model, adapter, source)) out.set(k, v);
  for (const op of adaptedOps(model)) {
    const t = adapter.tensors.get(op.module);
    if (!t) throw new UserError(`${source}: no LoRA weights for module "${op.module}"`);
    for (const [k, v] of loraTensorsOf(op, op.lora!, t, source)) out.set(k, v);
  }
  for (const module of adapter.tensors.keys()) {
    if (!adaptedOps(model).some((op) => op.module === module)) throw new UserError(`${source}: LoRA weights for "${module}", which the config does not adapt in ${model.file}`);
  }
  return out;
}

/** One module's LoRA tensors under our names (of a named adapter with `adapterName`), shape-checked. */
export function loraTensorsOf(op: AdaptableOp, cfg: LoraConfig, t: LoraModuleWeights, source: string, adapterName?: string): WeightMap {
  const { kind, inFeatures, outFeatures } = adaptedShape(op);
  const names = loraParamNames(op.module, kind, adapterName);
  const out: WeightMap = new Map();
  const expect = (what: string, part: LoraPart, got: FloatTensor | undefined, want: number[]) => {
    if (!got) throw new UserError(`${source}: "${op.module}" has no ${what}`);
    if (!sameShape(got.shape, want)) throw new UserError(`${source}: ${op.module} ${what} has shape [${got.shape.join(', ')}], expected [${want.join(', ')}]`);
    requireFinite(got.data, source, loraKey(op.module, part), got.shape);
    return got.data;
  };
  if (t.kind !== kind) throw new UserError(`${source}: "${op.module}" is ${kind === 'embedding' ? 'an embedding' : 'a linear layer'} but the adapter holds ${t.kind === 'embedding' ? 'lora_embedding_A/B' : 'lora_A/B'} for it`);
  const emb = kind === 'embedding';
  out.set(names.a, expect('lora_A', emb ? 'embA' : 'A', t.A, [cfg.rank, inFeatures]));
  out.set(names.b, expect('lora_B', emb ? 'embB' : 'B', t.B, [outFeatures, cfg.rank]));
  if (cfg.loraBias) out.set(names.biasB, expect('lora_B bias (lora_bias)', 'biasB', t.biasB, [outFeatures]));
  else if (t.biasB) throw new UserError(`${source}: "${op.module}" has a lora_B bias but the config has lora_bias=false`);
  if (cfg.dora) out.set(names.magnitude, expect('DoRA magnitude', 'magnitude', t.magnitude, [outFeatures]));
  return out;
}

/**
 * The base tensors saved in the adapter, under our storage names: what PEFT's load_state_dict
 * writes over the base (trained biases, modules_to_save copies, embeddings saved with
 * save_embedding_layers). A `base_layer` key needs the module to be LoRA-adapted (PEFT ignores it
 * otherwise); the plain key of an adapted module's bias is accepted too (older files). A
 * modules_to_save copy must be present (PEFT's loader raises a KeyError without it).
 */
export function baseOverrides(model: CheckedModel, adapter: Adapter, source: string): WeightMap {
  const out: WeightMap = new Map();
  const adapted = new Set(adaptedOps(model).map((o) => o.module));
  for (const [key, t] of adapter.others) {
    const k = parseBaseKey(key);
    if (k === undefined) throw new UserError(`${source}: tensor "${key}" is neither a LoRA tensor nor a base-model tensor (no "base_model.model." prefix)`);
    if (k.kind === 'ignored') continue;
    const w = model.weights.find((x) => x.name === k.name && x.role !== 'adapter');
    if (!w) throw new UserError(`${source}: tensor "${key}" matches no weight of ${model.file}`);
    if (k.baseLayer && !adapted.has(w.module)) throw new UserError(`${source}: tensor "${key}" belongs to a LoRA-adapted "${w.module}", but this config does not adapt it`);
    if (!sameShape(t.shape, w.shape)) throw new UserError(`${source}: tensor "${key}" has shape [${t.shape.join(', ')}], but ${model.file} has [${w.shape.join(', ')}]`);
    requireFinite(t.data, source, key, t.shape);
    out.set(w.tiedTo ?? w.name, t.data);
  }
  for (const m of savedModules(model)) {
    for (const w of model.weights.filter((x) => x.module === m && x.role !== 'adapter')) {
      if (!out.has(w.tiedTo ?? w.name)) throw new UserError(`${source}: modules_to_save "${m}" has no saved ${w.name} (${baseWeightKey(w.name)})`);
    }
  }
  return out;
}

/** The PEFT config that describes the model's adapters (explicit target list and patterns). */
export function peftConfigFor(model: CheckedModel, extra: Partial<PeftConfig> = {}): PeftConfig {
  const targets = model.lora;
  if (targets.length === 0) throw new UserError(`${model.file}: the model has no LoRA adapters to save`);
  const first = targets[0]!;
  // PEFT has one value of these per adapter; the spec may not give two.
  for (const t of targets) {
    for (const f of ['dropout', 'init', 'rslora', 'dora', 'loraBias'] as const) {
      if (t.config[f] !== first.config[f] && !(f === 'init' && (t.kind === 'embedding' || first.kind === 'embedding'))) {
        throw new UserError(`${model.file}: LoRA ${f} differs between "${first.module}" (${first.config[f]}) and "${t.module}" (${t.config[f]}); a PEFT adapter has one ${f} for all modules`);
      }
    }
  }
  const linearFirst = targets.find((t) => t.kind === 'linear') ?? first;
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const t of targets) {
    // Per-module overrides as PEFT patterns keyed by the full module name (matched with (.*\.)?KEY$).
    if (t.config.rank !== first.config.rank) rankPattern[pyEscape(t.module)] = t.config.rank;
    if (t.config.alpha !== first.config.alpha) alphaPattern[pyEscape(t.module)] = t.config.alpha;
  }
  const opts = model.adapterOptions ?? { bias: 'none', modulesToSave: [] };
  const hasHead = model.inputs.some((i) => i.kind === 'tokens') && model.ops.some((o) => o.op === 'linear' && o.head);
  const base: Partial<PeftConfig> = {
    r: first.config.rank,
    lora_alpha: first.config.alpha,
    lora_dropout: first.config.dropout,
    use_rslora: first.config.rslora,
    use_dora: first.config.dora,
    lora_bias: first.config.loraBias,
    init_lora_weights: initToPeft(linearFirst.config.init),
    fan_in_fan_out: model.ops.some((o) => o.op === 'linear' && o.lora !== undefined && o.layout === 'conv1d'),
    rank_pattern: rankPattern,
    alpha_pattern: alphaPattern,
    bias: opts.bias,
    modules_to_save: opts.modulesToSave.length > 0 ? [...opts.modulesToSave] : null,
    task_type: hasHead ? 'CAUSAL_LM' : null,
  };
  // Suffix names when PEFT's matcher picks exactly our modules with them; else the full names.
  const wanted = targets.map((t) => t.module);
  const lastPart = (module: string) => module.slice(module.lastIndexOf('.') + 1);
  for (const target_modules of [[...new Set(wanted.map(lastPart))], wanted]) {
    const candidate = makePeftConfig({ ...base, target_modules, ...extra } as Partial<PeftConfig>);
    if (picksExactly(model, candidate, wanted)) return candidate;
  }
  // Never reached for a valid spec: full names select exactly themselves unless one is a suffix of another module.
  return makePeftConfig({ ...base, target_modules: `(${wanted.map(pyEscape).join('|')})`, ...extra } as Partial<PeftConfig>);
}

function picksExactly(model: CheckedModel, config: PeftConfig, wanted: string[]): boolean {
  try {
    const sel = selectModules(moduleInfos(model), config, config.modules_to_save ?? [], 'candidate');
    return sel.targets.size === wanted.length && wanted.every((m) => sel.targets.has(m));
  } catch {
    return false;
  }
}

/** Reads the adapter's parameters back from an executor into PEFT's form (trained base weights under PEFT's keys). */
export async function readAdapterFromExecutor(exec: Executor, model: CheckedModel, config?: PeftConfig): Promise<Adapter> {
  const tensors = new Map<string, LoraModuleWeights>();
  for (const op of adaptedOps(model)) {
    const cfg = op.lora!;
    const { kind, inFeatures, outFeatures } = adaptedShape(op);
    const names = loraParamNames(op.module, kind);
    const entry: LoraModuleWeights = {
      kind,
      A: { shape: [cfg.rank, inFeatures], data: await exec.getParam(names.a) },
      B: { shape: [outFeatures, cfg.rank], data: await exec.getParam(names.b) },
    };
    if (cfg.dora) entry.magnitude = { shape: [outFeatures], data: await exec.getParam(names.magnitude) };
    if (cfg.loraBias) entry.biasB = { shape: [outFeatures], data: await exec.getParam(names.biasB) };
    tensors.set(op.module, entry);
  }
  const others = new Map<string, FloatTensor>();
  // getWeight joins a trained copy the compiler split into row chunks (modules_to_save of an embedding).
  for (const w of trainableBaseWeights(model)) others.set(trainedKey(model, w), { shape: w.shape, data: await getWeight(exec, w.name) });
  return { config: config ?? peftConfigFor(model), tensors, others };
}
