// Lowering of LoRA adapters, exactly as PEFT computes them (tuners/lora/layer.py, dora.py):
//   Linear / Conv1D:  y = base(x) + scaling · (B·A·dropout(x) [+ lora_B.bias])
//   Embedding:        y = W[ids] + scaling · (Aᵀ[ids] · Bᵀ)              (no dropout, as PEFT)
//   DoRA:             y = base + (m/‖W + scaling·B·A‖ − 1)·base' + (m/‖...‖)·low, the norm detached,
//                     per output row (Conv1D: rows of Wᵀ; Embedding: per embedding dimension)
// A model's one adapter (op.lora, PEFT's "default") is lowered as before, so the fuse-lowrank pass
// still makes one GEMM of it. Several named adapters (op.adapters, a many-adapter model) are summed
// in order, as PEFT sums its active adapters, each multiplied by a 0/1 gate parameter
// (`<module>.lora_gate.<name>`, [out]) so that enabling or disabling one is a weight upload.
import type { GraphBuilder, Value } from '../ir/builder.ts';
import type { LoraConfig, Op } from '../check/model.ts';
import { loraGateName, loraParamNames } from '../lora/keys.ts';

type LinearOp = Extract<Op, { op: 'linear' }>;
type EmbeddingOp = Extract<Op, { op: 'embedding' | 'position_embedding' }>;

export interface LoraContext {
  b: GraphBuilder;
  /** Training graph: adapter dropout applies. */
  training: boolean;
  /** A fresh dropout seed per dropout site. */
  nextDropoutSeed(): number;
}

interface Branch {
  config: LoraConfig;
  name?: string;
}

function branches(op: LinearOp | EmbeddingOp): Branch[] {
  if (op.lora) return [{ config: op.lora }];
  return (op.adapters ?? []).map((a) => ({ config: a.config, name: a.name }));
}

/** The gated sum of a named adapter's term onto y. */
function addGated(c: LoraContext, y: Value, term: Value, module: string, name: string | undefined, out: number): Value {
  if (name === undefined) return c.b.add(y, term);
  const gate = c.b.param(loraGateName(module, name), [out], 'frozen');
  return c.b.add(y, c.b.mul(term, gate), `${module}.lora.${name}`);
}

/** m / ‖rows of `weightRows` + scaling·B·A‖, detached. */
function doraFactor(c: LoraContext, weightRows: Value, a: Value, bb: Value, cfg: LoraConfig, mag: Value, label: string): Value {
  const b = c.b;
  const delta = b.scale(b.matmul(bb, a, false), cfg.scaling);
  const norm = b.emit('stop_gradient', [b.emit('row_norm', [b.add(weightRows, delta)], {})], {});
  return b.div(mag, norm, label);
}

/** A linear or Conv1D layer with its adapters; `base` is x·W (no bias). */
export function lowerAdaptedLinear(c: LoraContext, op: LinearOp, x: Value, w: Value, base: Value, bias: Value | undefined): Value {
  const b = c.b;
  const conv1d = op.layout === 'conv1d';
  const list = branches(op);
  let y: Value | undefined = list.length === 1 && list[0]!.name === undefined && !list[0]!.config.dora ? undefined : bias === undefined ? base : b.add(base, bias);
  for (const { config: cfg, name } of list) {
    const names = loraParamNames(op.module, 'linear', name);
    const a = b.param(names.a, [cfg.rank, op.inFeatures], 'adapter');
    const bb = b.param(names.b, [op.outFeatures, cfg.rank], 'adapter');
    const p = c.training ? cfg.dropout : 0;
    const xd = b.dropout(x, p, c.nextDropoutSeed(), `${op.module}.lora_dropout`);
    const s = b.matmul(xd, a, true, `${op.module}.lora_A`);
    let lowB = b.matmul(s, bb, true, `${op.module}.lora_B`);
    if (cfg.loraBias) lowB = b.add(lowB, b.param(names.biasB, [op.outFeatures], 'adapter'), `${op.module}.lora_B.bias`);
    const low = b.scale(lowB, cfg.scaling);
    if (y === undefined) {
      // The one plain adapter: (x·W + low) + bias, the form fuse-lowrank turns into one GEMM.
      const sum = b.add(base, low, `${op.module}.lora`);
      return bias === undefined ? sum : b.add(sum, bias, `${op.module}.bias`);
    }
    if (!cfg.dora) {
      y = addGated(c, y, low, op.module, name, op.outFeatures);
      continue;
    }
    // DoRA: with dropout PEFT recomputes the base term on the dropped-out input; otherwise it
    // takes the running result without the bias.
    const mag = b.param(names.magnitude, [op.outFeatures], 'adapter');
    const factor = doraFactor(c, conv1d ? b.transpose(w) : w, a, bb, cfg, mag, `${op.module}.dora_factor`);
    const baseTerm = p > 0 ? b.matmul(xd, w, !conv1d) : name === undefined ? base : bias === undefined ? y : b.sub(y, bias);
    const term = b.add(b.mul(baseTerm, b.sub(factor, b.constant(1, [op.outFeatures]))), b.mul(low, factor));
    y = name === undefined ? b.add(y, term, `${op.module}.dora`) : addGated(c, y, term, op.module, name, op.outFeatures);
  }
  return y ?? base;
}

/** An embedding (token or position table) with its adapters; `base` is W[ids]. */
export function lowerAdaptedEmbedding(c: LoraContext, op: EmbeddingOp, table: Value, ids: Value, base: Value): Value {
  const b = c.b;
  let y = base;
  for (const { config: cfg, name } of branches(op)) {
    const names = loraParamNames(op.module, 'embedding', name);
    const a = b.param(names.a, [cfg.rank, op.num], 'adapter');
    const bb = b.param(names.b, [op.dim, cfg.rank], 'adapter');
    // F.embedding(ids, Aᵀ) @ Bᵀ · scaling.
    const afterA = b.embedding(b.transpose(a), ids, `${op.module}.lora_embedding_A`);
    const low = b.scale(b.matmul(afterA, bb, true, `${op.module}.lora_embedding_B`), cfg.scaling);
    let term = low;
    if (cfg.dora) {
      // DoraEmbeddingLayer: the norm of Wᵀ + scaling·B·A per embedding dimension, over the vocabulary.
      const mag = b.param(names.magnitude, [op.dim], 'adapter');
      const factor = doraFactor(c, b.transpose(table), a, bb, cfg, mag, `${op.module}.dora_factor`);
      term = b.add(b.mul(y, b.sub(factor, b.constant(1, [op.dim]))), b.mul(low, factor));
    }
    y = addGated(c, y, term, op.module, name, op.dim);
  }
  return y;
}
