// Re-targets a checked model's adapters from a PEFT adapter_config.json, with PEFT's semantics
// (compiler/lora): which modules get LoRA (Linear, Conv1D and Embedding layers, by target_modules,
// exclude_modules, layers_to_transform / layers_pattern, modules_to_save), their rank and alpha
// (rank_pattern / alpha_pattern), rsLoRA, DoRA, lora_bias, the init, and which base weights train
// in full (bias = "all" | "lora_only", modules_to_save). The spec's own `lora` statements are
// replaced, so one llama.rf serves any PEFT adapter.
import type { CheckedModel, LoraConfig, Op, Weight } from '../../compiler/check/model.ts';
import { countParams } from '../../compiler/check/index.ts';
import { UserError } from '../../compiler/errors.ts';
import {
  adapterTensors,
  checkTrainable,
  initFromPeft,
  loraConfigFor,
  selectModules,
  taskModulesToSave,
  type LoraInit,
  type ModuleInfo,
  type PeftConfig,
} from '../../compiler/lora/index.ts';

type LinearOp = Extract<Op, { op: 'linear' }>;
type EmbeddingOp = Extract<Op, { op: 'embedding' | 'position_embedding' }>;
export type AdaptableOp = LinearOp | EmbeddingOp;

export function isAdaptable(op: Op): op is AdaptableOp {
  return op.op === 'linear' || op.op === 'embedding' || op.op === 'position_embedding';
}

/** The kind of LoRA an op takes, and its [in, out] as PEFT's factors see them (an embedding: [num, dim]). */
export function adaptedShape(op: AdaptableOp): { kind: 'linear' | 'embedding'; inFeatures: number; outFeatures: number } {
  return op.op === 'linear' ? { kind: 'linear', inFeatures: op.inFeatures, outFeatures: op.outFeatures } : { kind: 'embedding', inFeatures: op.num, outFeatures: op.dim };
}

/** The model's modules as PEFT's named_modules() lists them (leaves; targets.ts derives the containers). */
export function moduleInfos(model: CheckedModel): ModuleInfo[] {
  const out: ModuleInfo[] = [];
  for (const op of model.ops) {
    if (!('module' in op)) continue;
    if (op.op === 'linear') out.push({ name: op.module, kind: 'linear', type: op.layout, isOutputHead: op.head });
    else if (op.op === 'embedding' || op.op === 'position_embedding') out.push({ name: op.module, kind: 'embedding', type: 'embedding' });
    else out.push({ name: op.module, kind: 'other', type: op.op });
  }
  return out;
}

/**
 * PEFT's Embedding layer has no other init than its own: A = 0 and B ~ N(0, 1) for every truthy
 * init_lora_weights (gaussian, pissa, olora included), both N(0, 1) for false.
 */
function embeddingInit(init: LoraInit): LoraInit {
  return init === 'random' ? 'random' : 'default';
}

export interface ApplyPeftOptions {
  /** The adapter is about to be trained: refuse what Rankfold cannot train (checkTrainable). */
  training?: boolean;
  /** Called with PEFT's warnings (e.g. exclude_modules that excluded nothing). */
  warn?: (message: string) => void;
}

export function applyPeftConfig(model: CheckedModel, config: PeftConfig, source = 'adapter_config.json', o: ApplyPeftOptions = {}): CheckedModel {
  if (o.training) checkTrainable(config, source);
  const parsedInit = initFromPeft(config.init_lora_weights, o.training === true);
  if (typeof parsedInit !== 'string') throw new UserError(`${source}: "init_lora_weights" ${parsedInit.error}`);
  const modulesToSave = [...new Set([...(config.modules_to_save ?? []), ...taskModulesToSave(config.task_type)])];
  const selection = selectModules(moduleInfos(model), config, modulesToSave, source);
  for (const w of selection.warnings) o.warn?.(w);

  const ops: Op[] = model.ops.map((op) => {
    if (!isAdaptable(op)) return op;
    const { lora: _old, adapters: _named, ...rest } = op;
    const kind = selection.targets.get(op.module);
    if (kind === undefined) return rest as AdaptableOp;
    const lora: LoraConfig = loraConfigFor(op.module, config, kind === 'embedding' ? embeddingInit(parsedInit) : parsedInit);
    if (kind === 'embedding' && lora.loraBias) throw new UserError(`${source}: lora_bias=true is not supported for Embedding ("${op.module}"), as in PEFT`);
    return { ...rest, lora } as AdaptableOp;
  });
  const targets = ops.filter((o): o is AdaptableOp => isAdaptable(o) && o.lora !== undefined);

  const adapters: Weight[] = [];
  for (const o of targets) {
    const { kind, inFeatures, outFeatures } = adaptedShape(o);
    for (const t of adapterTensors(o.module, kind, inFeatures, outFeatures, o.lora!)) {
      adapters.push({ name: t.name, module: o.module, shape: t.shape, layout: t.shape.length === 1 ? 'vector' : 'linear', role: 'adapter', numel: t.shape.reduce((a, b) => a * b, 1) });
    }
  }
  // PEFT freezes every non-adapter weight, except modules_to_save (trained copies) and biases with
  // bias="all" (every bias) or bias="lora_only" (the biases of LoRA-adapted layers).
  const saved = new Set(selection.modulesToSave);
  const trains = (w: Weight) =>
    saved.has(w.module) ||
    (w.name.endsWith('.bias') && w.layout === 'vector' && (config.bias === 'all' || (config.bias === 'lora_only' && selection.targets.has(w.module))));
  const base = model.weights.filter((w) => w.role !== 'adapter').map((w) => ({ ...w, role: trains(w) ? ('trainable' as const) : ('frozen' as const) }));
  checkTiedWeights(base, selection.targets, saved, config, source);
  const weights = [...base, ...adapters];
  return {
    ...model,
    ops,
    weights,
    lora: targets.map((o) => ({ module: o.module, ...adaptedShape(o), config: o.lora! })),
    adapterOptions: { bias: config.bias, modulesToSave },
    counts: countParams(weights),
  };
}

/**
 * A weight shared by two modules (an output head tied to the token embedding) cannot become a
 * separate trained copy here, and with ensure_weight_tying PEFT would share one adapter between
 * the two modules: both are refused by name.
 */
function checkTiedWeights(base: Weight[], targets: Map<string, unknown>, saved: Set<string>, config: PeftConfig, source: string): void {
  for (const w of base) {
    if (w.tiedTo === undefined) continue;
    const owner = base.find((x) => x.name === w.tiedTo);
    const modules = [w.module, owner?.module].filter((m): m is string => m !== undefined);
    const inSaved = modules.find((m) => saved.has(m));
    if (inSaved !== undefined) {
      throw new UserError(`${source}: modules_to_save includes "${inSaved}", whose weight is tied (${w.name} = ${w.tiedTo}); Rankfold cannot train a separate copy of a tied weight`);
    }
    if (config.ensure_weight_tying === true && modules.some((m) => targets.has(m))) {
      throw new UserError(`${source}: "ensure_weight_tying" is true and the tied pair ${modules.join(' / ')} is adapted; Rankfold does not share one adapter between tied modules`);
    }
  }
}
