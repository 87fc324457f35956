// Many adapters over one loaded base, as PEFT's PeftModel holds them (load_adapter, set_adapter,
// disable / enable, delete_adapter): each adapter keeps its own ranks, target modules and
// settings; one compiled graph holds them all (compiler/lower/lower-lora.ts: each named adapter's
// term is multiplied by a 0/1 gate), so switching adapters is a small weight upload, not a
// recompile. Several active adapters are summed, as PEFT sums its active adapters.
// What PEFT's loader writes into the shared base happens here too, and stays when an adapter is
// disabled or deleted (PEFT warns about it): a PiSSA/OLoRA adapter's residual, trained biases
// (bias = "all" | "lora_only"; PEFT allows one such adapter), saved embeddings. modules_to_save
// copies are per adapter: the active adapter's copy runs, the base module when none is active.
import type { CheckedModel, LoraTarget, NamedLora, Op, Weight } from '../../compiler/check/model.ts';
import { countParams } from '../../compiler/check/index.ts';
import { UserError } from '../../compiler/errors.ts';
import { adapterTensors, loraGateName } from '../../compiler/lora/index.ts';
import type { Adapter } from '../io/peft.ts';
import type { WeightMap } from '../model/weights.ts';
import { adaptedShape, applyPeftConfig, isAdaptable, type AdaptableOp } from './apply-peft.ts';
import { adapterWeights, loraTensorsOf, savedModules } from './adapter-weights.ts';
import { stripAdapters } from './merge-model.ts';

interface Entry {
  name: string;
  source: string;
  adapter: Adapter;
  /** The spec re-targeted by this adapter's config. */
  model: CheckedModel;
  /** The adapter's tensors under its named parameters. */
  tensors: WeightMap;
  /** modules_to_save copies, by storage name. */
  copies: WeightMap;
}

const NAME = /^[A-Za-z0-9_-]+$/;

export class AdapterSet {
  private readonly entries = new Map<string, Entry>();
  private activeNames: string[] = [];
  private readonly spec: CheckedModel;
  /** The shared base, with what adapters' loaders wrote into it. */
  private readonly base: WeightMap;
  /** Original values of the modules_to_save weights, for when no adapter with a copy is active. */
  private readonly originals: WeightMap = new Map();
  private cachedModel?: CheckedModel;

  /** `spec` is the model without adapters (its own `lora` statements are ignored); `base` its weights. */
  constructor(spec: CheckedModel, base: WeightMap) {
    this.spec = stripAdapters(spec);
    this.base = new Map(base);
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  /** The active adapters, in the order they were added. */
  get active(): string[] {
    return this.names.filter((n) => this.activeNames.includes(n));
  }

  /**
   * Loads an adapter under `name` (PEFT's load_adapter). The first adapter becomes active, as with
   * PeftModel.from_pretrained; later ones are inactive until enabled.
   */
  add(name: string, adapter: Adapter, source = name): void {
    if (!NAME.test(name) || name === '__base__') throw new UserError(`adapter name "${name}" must be letters, digits, '_' or '-' (and not "__base__")`);
    if (this.entries.has(name)) throw new UserError(`an adapter named "${name}" is already loaded`);
    const model = applyPeftConfig(this.spec, adapter.config, `${source}/adapter_config.json`);
    if (adapter.config.bias !== 'none') {
      const other = [...this.entries.values()].find((e) => e.adapter.config.bias !== 'none');
      if (other) throw new UserError(`${source}: LoraModel supports only 1 adapter with bias. When using multiple adapters, set bias to 'none' for all adapters. ("${other.name}" has bias="${other.adapter.config.bias}"; PEFT's error)`);
    }
    const flat = adapterWeights(model, adapter, source, { base: this.base });
    const copyNames = new Set([...savedModules(model)].flatMap((m) => model.weights.filter((w) => w.module === m && w.role !== 'adapter').map((w) => w.tiedTo ?? w.name)));
    const tensors: WeightMap = new Map();
    const copies: WeightMap = new Map();
    for (const op of model.ops) {
      if (!isAdaptable(op) || !op.lora) continue;
      for (const [k, v] of loraTensorsOf(op, op.lora, adapter.tensors.get(op.module)!, source, name)) tensors.set(k, v);
    }
    for (const [k, v] of flat) {
      if (copyNames.has(k)) copies.set(k, v);
      else if (this.base.has(k)) this.base.set(k, v); // residual, trained biases, saved embeddings: into the shared base
    }
    for (const k of copies.keys()) if (!this.originals.has(k)) this.originals.set(k, this.base.get(k)!);
    this.entries.set(name, { name, source, adapter, model, tensors, copies });
    if (this.entries.size === 1) this.activeNames = [name];
    this.cachedModel = undefined;
  }

  /** PEFT's delete_adapter: the remaining active adapters stay; if none remain, the first by name becomes active. */
  delete(name: string): void {
    if (!this.entries.delete(name)) throw new UserError(`Adapter ${name} does not exist`);
    this.activeNames = this.activeNames.filter((n) => n !== name);
    if (this.activeNames.length === 0 && this.entries.size > 0) this.activeNames = [[...this.entries.keys()].sort()[0]!];
    this.cachedModel = undefined;
  }

  /** PEFT's set_adapter: exactly these adapters are active ([] runs the base). */
  setActive(names: string[]): void {
    for (const n of names) if (!this.entries.has(n)) throw new UserError(`Adapter ${n} does not exist`);
    const withCopies = names.filter((n) => this.entries.get(n)!.copies.size > 0);
    for (const a of withCopies) {
      for (const b of withCopies) {
        if (a < b && [...this.entries.get(a)!.copies.keys()].some((k) => this.entries.get(b)!.copies.has(k))) {
          throw new UserError(`adapters "${a}" and "${b}" both have a modules_to_save copy of the same module; only one of them can be active (PEFT: "Only one adapter can be set at a time for modules_to_save")`);
        }
      }
    }
    this.activeNames = [...new Set(names)];
  }

  enable(name: string): void {
    this.setActive([...this.activeNames, name]);
  }

  disable(name: string): void {
    if (!this.entries.has(name)) throw new UserError(`Adapter ${name} does not exist`);
    this.activeNames = this.activeNames.filter((n) => n !== name);
  }

  /**
   * The model with every loaded adapter on its modules (op.adapters, gated). It changes only when
   * adapters are added or deleted; enabling and disabling keep it.
   */
  model(): CheckedModel {
    if (this.cachedModel) return this.cachedModel;
    const named = new Map<string, NamedLora[]>();
    for (const e of this.entries.values()) {
      for (const op of e.model.ops) {
        if (!isAdaptable(op) || !op.lora) continue;
        named.set(op.module, [...(named.get(op.module) ?? []), { name: e.name, config: op.lora }]);
      }
    }
    const lora: LoraTarget[] = [];
    const adapters: Weight[] = [];
    const ops: Op[] = this.spec.ops.map((op) => {
      if (!isAdaptable(op) || !named.has(op.module)) return op;
      const list = named.get(op.module)!;
      const shape = adaptedShape(op);
      for (const { name, config } of list) {
        lora.push({ module: op.module, ...shape, config, adapter: name });
        for (const t of adapterTensors(op.module, shape.kind, shape.inFeatures, shape.outFeatures, config, name)) {
          adapters.push({ name: t.name, module: op.module, shape: t.shape, layout: t.shape.length === 1 ? 'vector' : 'linear', role: 'adapter', numel: t.shape.reduce((a, b) => a * b, 1) });
        }
      }
      return { ...op, adapters: list } as AdaptableOp;
    });
    const weights = [...this.spec.weights, ...adapters];
    this.cachedModel = { ...this.spec, ops, weights, lora, counts: countParams(weights) };
    return this.cachedModel;
  }

  /** Everything the model's graph needs: the base, every adapter's tensors, and the current switches. */
  weights(): WeightMap {
    const out: WeightMap = new Map(this.base);
    for (const e of this.entries.values()) for (const [k, v] of e.tensors) out.set(k, v);
    for (const [k, v] of this.switchWeights()) out.set(k, v);
    return out;
  }

  /** What changes with the active set: the gates, and the modules_to_save weights (copy or original). */
  switchWeights(): WeightMap {
    const out: WeightMap = new Map();
    const active = new Set(this.activeNames);
    const model = this.model();
    for (const op of model.ops) {
      if (!isAdaptable(op) || !op.adapters) continue;
      const n = adaptedShape(op).outFeatures;
      for (const a of op.adapters) out.set(loraGateName(op.module, a.name), new Float32Array(n).fill(active.has(a.name) ? 1 : 0));
    }
    for (const [k, v] of this.originals) out.set(k, v);
    for (const e of this.entries.values()) if (active.has(e.name)) for (const [k, v] of e.copies) out.set(k, v);
    return out;
  }
}
