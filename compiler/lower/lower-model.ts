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
  decode?: { cacheLen: number };
  /** Seed of the adapter-dropout masks (they also depend on the `step` input). */
  dropoutSeed?: number;
  /**
   * Training graph: adapter dropout is applied. Evaluation and decoding graphs leave it out, as
   * PyTorch's eval() does (default: false).
   */
  training?: boolean;
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
    return this.b.input(OFFSET_INPUT, 'i32', [1]);
  }

  run(): Graph {
    const { batch, seq } = this.o;
    for (const input of this.model.inputs) {
      const shape = this.model.values[input.value]!.shape.map((d) => (d === 'B' ? batch : d === 'T' ? seq : d));
      const dtype = input.kind === 'tokens' ? 'i32' : 'f32';
      this.values.set(input.value, this.b.input(input.kind === 'tokens' ? 'ids' : input.name, dtype, shape));
    }
    for (const op of this.model.ops) this.values.set(op.out, this.lower(op));
    for (const out of this.model.outputs) this.b.output(out.name, this.value(out.value));
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
    return b.attention(q, kc, vc, attrs, this.offset());
  }

  private linear(op: Extract<Op, { op: 'linear' }>): Value {
    const b = this.b;
    const x = this.value(op.x);
    const w = this.param(op.weight);
    const conv1d = op.layout === 'conv1d';
    const base = b.matmul(x, w, !conv1d, op.module);
    const bias = op.bias !== undefined ? this.param(op.bias) : undefined;
    if (op.lora || op.adapters) return lowerAdaptedLinear(this.loraContext, op, x, w, base, bias);
    return bias === undefined ? base : b.add(base, bias, `${op.module}.bias`);
  }

  private get loraContext(): LoraContext {
    return { b: this.b, training: this.o.training === true, nextDropoutSeed: () => (this.o.dropoutSeed ?? 0) * 1000003 + this.dropoutCount++ };
  }
}

export function lowerModel(model: CheckedModel, options: LowerOptions): Graph {
  return new Lowering(model, options).run();
}
