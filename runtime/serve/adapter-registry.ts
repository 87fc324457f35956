// The adapters a server holds, by name, each in one slot of the stacked adapter buffers of the
// serving graphs (compiler MultiAdapterOptions: per targeted module, lora_A.stacked [slots, R, in]
// and lora_B.stacked [slots, out, R]). Loading reads a PEFT folder with PEFT's semantics
// (target_modules, rank_pattern, alpha_pattern, use_rslora), checks it fits the graph (its modules
// among the stacked targets, ranks <= R), and writes its factors into a free slot of every
// executor: A zero-padded to R rows, B times the adapter's scaling, zero-padded to R columns, and
// zeros for stacked modules the adapter does not target. Unloading removes the name at once and
// frees the slot when the last request using it finishes (vLLM's and S-LoRA's adapter slots).
import type { CheckedModel, Op } from '../../compiler/check/model.ts';
import { UserError } from '../../compiler/errors.ts';
import { isStackedTarget, stackedLoraNames, type MultiAdapterOptions } from '../../compiler/lower/lower-model.ts';
import { loraParamNames } from '../../compiler/lora/keys.ts';
import { mutatesBase, type LoraInit } from '../../compiler/lora/lora-config.ts';
import { adapterWeights } from '../adapters/adapter-weights.ts';
import { applyPeftConfig } from '../adapters/apply-peft.ts';
import { paramNames, type Executor } from '../exec/executor.ts';
import { readAdapterDir } from '../io/node-fs.ts';
import { ADAPTER_CONFIG_NAME } from '../io/peft.ts';

type Linear = Extract<Op, { op: 'linear' }>;

/** Names clients may use for adapters: what OpenAI model ids look like, without spaces or slashes first. */
export const ADAPTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export interface AdapterInfo {
  name: string;
  /** The folder it was read from. */
  path: string;
  slot: number;
  /** Rank per adapted module (max over modules). */
  rank: number;
  modules: number;
  /** Requests using it now. */
  active: number;
  loadedAt: number;
}

export class AdapterError extends UserError {
  constructor(
    message: string,
    /** What an HTTP layer answers: 400 bad adapter, 404 unknown name, 409 name taken or no free slot. */
    readonly status: 400 | 404 | 409,
  ) {
    super(message);
    this.name = 'AdapterError';
  }
}

interface Entry extends AdapterInfo {
  removed: boolean;
}

export class AdapterRegistry {
  /** Stacked modules of the graph, in op order. */
  readonly modules: Linear[];
  private readonly byName = new Map<string, Entry>();
  /** Slot -> its adapter (removed ones stay until their requests finish). */
  private readonly slots: (Entry | undefined)[];
  /** Per executor, the stacked parameters its graph kept (a prefill graph drops the last layer's queries). */
  private readonly held: Set<string>[];

  constructor(
    /** The served model without adapters. */
    private readonly model: CheckedModel,
    readonly options: MultiAdapterOptions,
    /** Every executor whose graph holds the stacked buffers (decode and prefill): each gets every write. */
    private readonly executors: Executor[],
  ) {
    this.modules = model.ops.filter((o): o is Linear => o.op === 'linear' && isStackedTarget(options.targets, o.module, o.head));
    this.slots = new Array(options.slots).fill(undefined);
    this.held = executors.map((e) => new Set(paramNames(e.graph)));
    // Zeros everywhere: the interpreter needs every parameter set, and a fresh slot holds no adapter.
    for (const m of this.modules) {
      const names = stackedLoraNames(m.module);
      this.each(names.a, (e) => e.setParam(names.a, new Float32Array(options.slots * options.maxRank * m.inFeatures)));
      this.each(names.b, (e) => e.setParam(names.b, new Float32Array(options.slots * m.outFeatures * options.maxRank)));
    }
  }

  /** Runs `write` on every executor whose graph has the parameter `name`. */
  private each(name: string, write: (e: Executor) => void): void {
    this.executors.forEach((e, i) => {
      if (this.held[i]!.has(name)) write(e);
    });
  }

  /** The stacked parameters of the graphs (two per module). */
  stackedParamNames(): string[] {
    return this.modules.flatMap((m) => Object.values(stackedLoraNames(m.module)));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  list(): AdapterInfo[] {
    return [...this.byName.values()].map(({ removed: _, ...info }) => ({ ...info }));
  }

  /** Reads a PEFT adapter folder into a free slot under `name`. */
  load(name: string, dir: string): AdapterInfo {
    if (!ADAPTER_NAME.test(name)) throw new AdapterError(`adapter name ${JSON.stringify(name)} must be 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit`, 400);
    if (this.byName.has(name)) throw new AdapterError(`an adapter named "${name}" is already loaded (unload it first)`, 409);
    const slot = this.slots.findIndex((s) => s === undefined);
    if (slot < 0) throw new AdapterError(`no free adapter slot: all ${this.options.slots} are in use (--max-loras ${this.options.slots}); unload one first`, 409);
    const { factors, rank } = this.read(dir);
    this.write(slot, factors);
    const entry: Entry = { name, path: dir, slot, rank, modules: factors.size, active: 0, loadedAt: Math.floor(Date.now() / 1000), removed: false };
    this.byName.set(name, entry);
    this.slots[slot] = entry;
    return this.info(entry);
  }

  /** Removes `name` now; its slot is freed once no request uses it. Returns the requests still using it. */
  unload(name: string): { active: number } {
    const e = this.byName.get(name);
    if (!e) throw new AdapterError(`no adapter named "${name}"`, 404);
    this.byName.delete(name);
    e.removed = true;
    if (e.active === 0) this.slots[e.slot] = undefined;
    return { active: e.active };
  }

  /** The slot of `name` for one more request (release it when the request ends). */
  acquire(name: string): number {
    const e = this.byName.get(name);
    if (!e) throw new AdapterError(`no adapter named "${name}"`, 404);
    e.active++;
    return e.slot;
  }

  release(slot: number): void {
    const e = this.slots[slot];
    if (!e || e.active === 0) throw new Error(`adapter slot ${slot} released more often than acquired`);
    e.active--;
    if (e.removed && e.active === 0) this.slots[slot] = undefined;
  }

  private info(e: Entry): AdapterInfo {
    const { removed: _, ...info } = e;
    return { ...info };
  }

  /** The adapter's per-module factors, checked against the graph: A [r, in], B·scaling [out, r]. */
  private read(dir: string): { factors: Map<string, { a: Float32Array; b: Float32Array; rank: number }>; rank: number } {
    let adapter;
    try {
      adapter = readAdapterDir(dir);
    } catch (err) {
      throw new AdapterError((err as Error).message, 400);
    }
    const fail = (why: string): never => {
      throw new AdapterError(`${dir}: ${why}`, 400);
    };
    const c = adapter.config;
    // What would change the base per request (not a low-rank term) cannot share the batch.
    if (c.use_dora) fail('DoRA adapters (use_dora) are not served: their magnitude rescales the base output per adapter, which a batched low-rank product does not');
    if (c.lora_bias) fail('adapters with lora_bias are not served (a per-adapter bias on lora_B)');
    if ((c.modules_to_save ?? []).length > 0) fail(`adapters with modules_to_save (${c.modules_to_save!.join(', ')}) are not served: their trained copies replace base modules per adapter`);
    if (c.bias !== undefined && c.bias !== 'none') fail(`adapters that train biases (bias="${c.bias}") are not served: the biases would replace the base's per adapter`);
    if (typeof c.init_lora_weights === 'string' && mutatesBase(c.init_lora_weights as LoraInit)) {
      fail(`init_lora_weights "${c.init_lora_weights}" adapters change the base weights (a residual); convert the adapter to plain LoRA (PEFT's path_initial_model_for_weight_conversion) to serve it`);
    }
    if (adapter.others.size > 0) fail(`holds tensors other than LoRA factors (${[...adapter.others.keys()].slice(0, 3).join(', ')}${adapter.others.size > 3 ? ', ...' : ''}), which serving would have to swap per request`);
    let model: CheckedModel;
    try {
      model = applyPeftConfig(this.model, c, `${dir}/${ADAPTER_CONFIG_NAME}`);
    } catch (err) {
      throw new AdapterError((err as Error).message, 400);
    }
    const embeddings = model.lora.filter((l) => l.kind === 'embedding').map((l) => l.module);
    if (embeddings.length > 0) fail(`adapts the embedding ${embeddings.join(', ')}; serving batches LoRA on linear layers only`);
    const stacked = new Set(this.modules.map((m) => m.module));
    const outside = model.lora.filter((l) => !stacked.has(l.module)).map((l) => l.module);
    if (outside.length > 0) {
      fail(`targets ${outside.slice(0, 3).join(', ')}${outside.length > 3 ? ` and ${outside.length - 3} more` : ''}, which the server has no adapter slots for (--lora-targets ${this.options.targets.join(',')})`);
    }
    const targeted = new Set(model.lora.map((l) => l.module));
    const stray = [...adapter.tensors.keys()].filter((m) => !targeted.has(m));
    if (stray.length > 0) fail(`has LoRA weights for ${stray.slice(0, 3).join(', ')}, which its config's target_modules do not select for this model (or which are not linear layers)`);
    const high = model.lora.filter((l) => l.config.rank > this.options.maxRank);
    if (high.length > 0) fail(`rank ${high[0]!.config.rank} (${high[0]!.module}) exceeds the server's maximum rank ${this.options.maxRank} (--max-lora-rank)`);
    let weights;
    try {
      weights = adapterWeights(model, adapter, dir);
    } catch (err) {
      throw new AdapterError((err as Error).message, 400);
    }
    const factors = new Map<string, { a: Float32Array; b: Float32Array; rank: number }>();
    for (const l of model.lora) {
      const names = loraParamNames(l.module);
      const b = Float32Array.from(weights.get(names.b)!, (v) => v * l.config.scaling);
      factors.set(l.module, { a: weights.get(names.a)!, b, rank: l.config.rank });
    }
    return { factors, rank: Math.max(...model.lora.map((l) => l.config.rank)) };
  }

  /** Writes one slot of every stacked buffer of every executor (zeros for modules the adapter skips). */
  private write(slot: number, factors: Map<string, { a: Float32Array; b: Float32Array; rank: number }>): void {
    const R = this.options.maxRank;
    for (const m of this.modules) {
      const f = factors.get(m.module);
      const a = new Float32Array(R * m.inFeatures);
      const b = new Float32Array(m.outFeatures * R);
      if (f) {
        a.set(f.a); // rows r..R-1 stay zero
        for (let n = 0; n < m.outFeatures; n++) for (let i = 0; i < f.rank; i++) b[n * R + i] = f.b[n * f.rank + i]!;
      }
      const names = stackedLoraNames(m.module);
      this.each(names.a, (e) => e.setParam(names.a, a, slot * R * m.inFeatures));
      this.each(names.b, (e) => e.setParam(names.b, b, slot * m.outFeatures * R));
    }
  }
}

/** The modules PEFT's config selects in `model` (for choosing the stacked targets from the adapters given at start). */
export function adapterTargets(model: CheckedModel, dir: string): { modules: string[]; rank: number } {
  const adapter = readAdapterDir(dir);
  const m = applyPeftConfig(model, adapter.config, `${dir}/${ADAPTER_CONFIG_NAME}`);
  return { modules: m.lora.map((l) => l.module), rank: Math.max(...m.lora.map((l) => l.config.rank)) };
}
