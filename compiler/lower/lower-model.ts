// Lowering: a checked model (compiler/check/model.ts) becomes an IR graph for a fixed batch and
// sequence length. The walk is one IR subgraph per checked op, in order. LoRA adapters lower to
// primitive ops (dropout, two thin matmuls, a scale and an add) exactly as PEFT computes them
// (lower-lora.ts); the fuse-lowrank pass later turns them into one GEMM with a low-rank epilogue.
import { GraphBuilder, type Value } from '../ir/builder.ts';
import type { Graph, ParamRole } from '../ir/types.ts';
import type { CheckedModel, Op, RopeConfig, Weight } from '../check/model.ts';
import { lowerAdaptedEmbedding, lowerAdaptedLinear, type LoraContext } from './lower-lora.ts';
import { ropeTables } from './rope.ts';

export interface LowerOptions {
  batch: number;
  seq: number;
  /** Train every base weight too (full fine-tuning); adapters are then usually absent. */
  fullFinetune?: boolean;
  /** Add the mean cross-entropy `loss` over the `labels` input (already shifted). Default true. */
  loss?: boolean;
  /**
   * Build a decoding step with a KV cache of `cacheLen` positions: inputs `offset` (i32 [1], the
   * position of the first token) and `positions`, and per-layer cache state that persists across
   * runs. `seq` tokens are processed per run (1 for token-by-token decoding).
   */
  decode?: {
    cacheLen: number;
    /**
     * One KV-cache position per batch row: the `offset` input is i32 [B] instead of [1], so the
     * sequences of a continuous batch can sit at different positions (runtime/serve).
     */
    rowOffsets?: boolean;
    /**
     * The run only fills the KV cache (a prefill whose logits nobody reads): no outputs, the cache
     * writes are the graph's effects, and DCE drops the head and what only it needed.
     */
    kvOnly?: boolean;
  };
  /**
   * Many adapters in one batch (serving): each targeted linear layer gets stacked adapter factors
   * and a gathered_lowrank product selected per batch row by the `adapter_index` input. The
   * model's own LoRA settings must be gone (stripAdapters) when this is set.
   */
  adapters?: MultiAdapterOptions;
  /** Seed of the adapter-dropout masks (they also depend on the `step` input). */
  dropoutSeed?: number;
  /**
   * Training graph: adapter dropout is applied. Evaluation and decoding graphs leave it out, as
   * PyTorch's eval() does (default: false).
   */
  training?: boolean;
}

/**
 * A multi-adapter graph: `slots` adapters of rank up to `maxRank` on the linear layers named by
 * `targets` (full module names, or suffixes as PEFT's target_modules list matches them:
 * "q_proj" matches "model.layers.0.self_attn.q_proj"; "all-linear": every linear layer but the
 * output head). Per targeted module: params `<module>.lora_A.stacked` [slots, maxRank, in] and
 * `<module>.lora_B.stacked` [slots, out, maxRank] (scaling folded into B, ranks zero-padded).
 */
export interface MultiAdapterOptions {
  slots: number;
  maxRank: number;
  targets: readonly string[];
}

/** Per batch row, the adapter slot of a multi-adapter graph (i32 [B]); negative: the base alone. */
export const ADAPTER_INDEX_INPUT = 'adapter_index';

export function stackedLoraNames(module: string): { a: string; b: string } {
  return { a: `${module}.lora_A.stacked`, b: `${module}.lora_B.stacked` };
}

/** Whether a multi-adapter graph's `targets` pick this linear layer. */
export function isStackedTarget(targets: readonly string[], module: string, head: boolean): boolean {
  return targets.some((t) => (t === 'all-linear' ? !head : module === t || module.endsWith(`.${t}`)));
}

export const LABELS_INPUT = 'labels';
export const POSITIONS_INPUT = 'positions';
export const OFFSET_INPUT = 'offset';

export function cacheStateNames(layer: number): { k: string; v: string } {
  return { k: `kv_cache.${layer}.k`, v: `kv_cache.${layer}.v` };
}

class Lowering {
  readonly b = new GraphBuilder();
  private readonly values = new Map<number, Value>();
  private readonly weights = new Map<string, Weight>();
  private attentionLayer = 0;
  private dropoutCount = 0;
  /** One literal per distinct RoPE table (every layer usually shares one). */
  private readonly ropeLiterals = new Map<string, { invFreq: Value; scale: number }>();

  constructor(
    private readonly model: CheckedModel,
    private readonly o: LowerOptions,
  ) {
    for (const w of model.weights) this.weights.set(w.name, w);
  }

  private param(name: string): Value {
    const w = this.weights.get(name);
    if (!w) throw new Error(`lowering: the checked model has no weight "${name}"`);
    // A tied weight is the same tensor as its target: one parameter node, one buffer.
    if (w.tiedTo !== undefined) return this.param(w.tiedTo);
    let role: ParamRole = w.role;
    if (this.o.fullFinetune && role === 'frozen') role = 'trainable';
    return this.b.param(w.name, w.shape, role);
  }

  private value(id: number): Value {
    const v = this.values.get(id);
    if (v === undefined) throw new Error(`lowering: value ${id} used before it is defined`);
    return v;
  }

  private offset(): Value {
    return this.b.input(OFFSET_INPUT, 'i32', [this.o.decode?.rowOffsets ? this.o.batch : 1]);
  }

  run(): Graph {
    const { batch, seq } = this.o;
    const multi = this.o.adapters;
    if (multi) {
      for (const [name, v] of [['slots', multi.slots], ['maxRank', multi.maxRank]] as const) {
        if (!Number.isInteger(v) || v < 1) throw new Error(`lowering: adapters.${name} must be a positive integer, got ${v}`);
      }
      if (this.o.training) throw new Error('lowering: a multi-adapter graph serves adapters; it cannot train them');
      if (this.model.lora.length > 0) throw new Error(`lowering: ${this.model.file} has its own LoRA targets; strip them for a multi-adapter graph`);
      const linear = this.model.ops.filter((o) => o.op === 'linear');
      const unmatched = multi.targets.filter((t) => !linear.some((o) => isStackedTarget([t], o.module, o.head)));
      if (unmatched.length > 0) throw new Error(`lowering: adapters.targets ${unmatched.map((t) => JSON.stringify(t)).join(', ')} match no linear layer of ${this.model.file}`);
    }
    for (const input of this.model.inputs) {
      const shape = this.model.values[input.value]!.shape.map((d) => (d === 'B' ? batch : d === 'T' ? seq : d));
      const dtype = input.kind === 'tokens' ? 'i32' : 'f32';
      this.values.set(input.value, this.b.input(input.kind === 'tokens' ? 'ids' : input.name, dtype, shape));
    }
    for (const op of this.model.ops) {
      const first = this.b.graph.nodes.length;
      this.values.set(op.out, this.lower(op));
      // The checked op's block (its layer) marks every node it lowered to but the leaves.
      if (op.block !== undefined) {
        for (const n of this.b.graph.nodes.slice(first)) if (n.op !== 'input' && n.op !== 'param' && n.op !== 'state') n.block = op.block;
      }
    }
    if (!this.o.decode?.kvOnly) for (const out of this.model.outputs) this.b.output(out.name, this.value(out.value));
    const logits = this.model.outputs[0];
    if ((this.o.loss ?? true) && !this.o.decode && logits) {
      const labels = this.b.input(LABELS_INPUT, 'i32', [batch, seq]);
      this.b.output('loss', this.b.crossEntropy(this.value(logits.value), labels));
    }
    return this.b.graph;
  }

  private lower(op: Op): Value {
    const b = this.b;
    switch (op.op) {
      case 'embedding':
      case 'position_embedding': {
        // Positions are an input (0..T-1 in training, offset+t when decoding) so one graph form
        // serves both; the runtime fills them.
        const ids = op.op === 'embedding' ? this.value(op.ids) : b.input(POSITIONS_INPUT, 'i32', [this.o.batch, this.o.seq]);
        const table = this.param(op.weight);
        const base = b.embedding(table, ids, op.module);
        return op.lora || op.adapters ? lowerAdaptedEmbedding(this.loraContext, op, table, ids, base) : base;
      }
      case 'linear':
        return this.linear(op);
      case 'rmsnorm': {
        // Gemma stores weight − 1: the norm multiplies by (1 + w), computed in f32 like GemmaRMSNorm.
        const w = this.param(op.weight);
        const scale = op.offset === 0 ? w : b.add(w, b.constant(op.offset, b.shape(w)), `${op.module}.weight_plus_${op.offset}`);
        return b.rmsnorm(this.value(op.x), scale, op.eps, op.module);
      }
      case 'layernorm': {
        const w = this.param(op.weight);
        const bias = op.bias !== undefined ? this.param(op.bias) : b.constant(0, b.shape(w));
        return b.layernorm(this.value(op.x), w, bias, op.eps, op.module);
      }
      case 'attention':
        return this.attention(op);
      case 'activation':
        return b.unary(op.fn, this.value(op.x));
      case 'add':
        return b.add(this.value(op.a), this.value(op.b));
      case 'mul':
        return b.mul(this.value(op.a), this.value(op.b));
      case 'scale':
        // torch multiplies by the scalar as an f32 tensor (Gemma: torch.tensor(hidden_size**0.5)).
        return b.scale(this.value(op.x), Math.fround(op.c));
      case 'slice':
        return b.slice(this.value(op.x), -1, op.start, op.end - op.start);
    }
  }

  /**
   * The RoPE table of `rope` for this graph's length: the compiled sequence, or the KV-cache length
   * when decoding (dynamic and longrope depend on it), as one literal shared by every layer using it.
   */
  private ropeTable(rope: RopeConfig): { invFreq: Value; scale: number } {
    const length = this.o.decode ? this.o.decode.cacheLen : this.o.seq;
    const tables = ropeTables(rope, length);
    const key = `${Array.from(tables.invFreq).join(',')}|${tables.attentionFactor}`;
    let found = this.ropeLiterals.get(key);
    if (!found) {
      const name = `rope.inv_freq${this.ropeLiterals.size === 0 ? '' : `.${this.ropeLiterals.size}`}`;
      found = { invFreq: this.b.literal(name, tables.invFreq), scale: Math.fround(tables.attentionFactor) };
      this.ropeLiterals.set(key, found);
    }
    return found;
  }

  private attention(op: Extract<Op, { op: 'attention' }>): Value {
    const b = this.b;
    const layer = this.attentionLayer++;
    let q = this.value(op.q);
    let k = this.value(op.k);
    let v = this.value(op.v);
    const decode = this.o.decode;
    if (op.rope) {
      const { invFreq, scale } = this.ropeTable(op.rope);
      q = b.rope(q, invFreq, { heads: op.heads, headDim: op.headDim, scale }, decode ? this.offset() : undefined);
      k = b.rope(k, invFreq, { heads: op.kvHeads, headDim: op.headDim, scale }, decode ? this.offset() : undefined);
    }
    const attrs = {
      heads: op.heads, kvHeads: op.kvHeads, headDim: op.headDim, scale: 1 / Math.sqrt(op.headDim), causal: op.causal,
      ...(op.window !== null ? { window: op.window } : {}),
    };
    if (!decode) return b.attention(q, k, v, attrs);
    const names = cacheStateNames(layer);
    const shape = [this.o.batch, decode.cacheLen, op.kvHeads * op.headDim];
    const kc = b.cacheUpdate(b.state(names.k, '', shape, 'kv_cache'), k, this.offset());
    const vc = b.cacheUpdate(b.state(names.v, '', shape, 'kv_cache'), v, this.offset());
    if (decode.kvOnly) b.graph.effects.push(kc, vc);
    return b.attention(q, kc, vc, attrs, this.offset());
  }

  private linear(op: Extract<Op, { op: 'linear' }>): Value {
    const b = this.b;
    const x = this.value(op.x);
    const w = this.param(op.weight);
    const conv1d = op.layout === 'conv1d';
    let base = b.matmul(x, w, !conv1d, op.module);
    const bias = op.bias !== undefined ? this.param(op.bias) : undefined;
    const multi = this.o.adapters;
    if (multi && isStackedTarget(multi.targets, op.module, op.head)) base = this.stacked(op, x, base, multi);
    if (op.lora || op.adapters) return lowerAdaptedLinear(this.loraContext, op, x, w, base, bias);
    return bias === undefined ? base : b.add(base, bias, `${op.module}.bias`);
  }

  /** base + the adapter of each batch row (MultiAdapterOptions), one gathered_lowrank node. */
  private stacked(op: Extract<Op, { op: 'linear' }>, x: Value, base: Value, multi: MultiAdapterOptions): Value {
    const b = this.b;
    const names = stackedLoraNames(op.module);
    const a = b.param(names.a, [multi.slots, multi.maxRank, op.inFeatures], 'adapter');
    const bb = b.param(names.b, [multi.slots, op.outFeatures, multi.maxRank], 'adapter');
    const index = b.input(ADAPTER_INDEX_INPUT, 'i32', [this.o.batch]);
    return b.emit('gathered_lowrank', [x, a, bb, index, base], { hasBase: true }, `${op.module}.multi_lora`);
  }

  private get loraContext(): LoraContext {
    return { b: this.b, training: this.o.training === true, nextDropoutSeed: () => (this.o.dropoutSeed ?? 0) * 1000003 + this.dropoutCount++ };
  }
}

export function lowerModel(model: CheckedModel, options: LowerOptions): Graph {
  return new Lowering(model, options).run();
}
