// PEFT's add_weighted_adapter (tuners/lora/model.py) on adapter files: one new adapter from
// several, by `linear`, `cat` or `svd`, with PEFT's scaling semantics, including where they are
// odd (documented in spec/checkpoints.md):
//   cat     A = [w_1·s_1·A_1; w_2·s_2·A_2; ...], B = [B_1, B_2, ...]: ΔW = Σ w_i·s_i·B_i·A_i exactly,
//           rank Σ r_i.
//   linear  A = Σ sign(w_i)·√|w_i·s_i|·A_i, B = Σ √|w_i·s_i|·B_i: equal ranks only, and the product
//           has cross terms B_i·A_j (exact for one adapter only).
//   svd     the best rank-r approximation of Σ w_i·s_i·(s_i·B_i·A_i): PEFT weights each delta,
//           which already holds s_i, by w_i·s_i again, so s_i counts twice (as in PEFT since 2024);
//           A = Vᵀ[:r], B = U[:, :r]·diag(S[:r]). Rank: --rank, else the largest input rank.
// The new adapter has r = lora_alpha = new rank (scaling 1) and no rank/alpha patterns; its
// other fields come from the first adapter, except use_rslora, set false (PEFT PR #3449: with
// rsLoRA copied, PEFT 0.20's scaling would be √r instead of 1). A module some inputs lack takes
// only the others. Refused, naming the adapter: DoRA, lora_bias, trained biases (bias != "none"),
// PiSSA/OLoRA inits (their deltas are relative to a residual base), and modules_to_save on the
// same module in two adapters (PEFT's error); one adapter's modules_to_save is dropped, since PEFT
// gives the new adapter a fresh, untrained copy, i.e. the base module unchanged.
import { UserError } from '../../compiler/errors.ts';
import { PEFT_FORMAT_VERSION, isTargetModule, loraScaling, makePeftConfig, mutatesBase, initFromPeft, resolveRankAlpha, type PeftConfig } from '../../compiler/lora/index.ts';
import type { Adapter, FloatTensor, LoraModuleWeights } from '../io/peft.ts';
import { qr, svd } from '../analysis/svd.ts';

export type CombineMethod = 'linear' | 'cat' | 'svd';

export interface CombineInput {
  adapter: Adapter;
  /** Where it came from, for messages. */
  source: string;
  weight: number;
}

export interface CombineOptions {
  method: CombineMethod;
  /** The svd method's rank (PEFT's svd_rank); default the largest input rank. */
  rank?: number;
}

/** PEFT's rank of an adapter for combining: max(r, rank_pattern values). */
function adapterRank(c: PeftConfig): number {
  return Math.max(c.r, ...Object.values(c.rank_pattern));
}

function refuse(inputs: CombineInput[]): void {
  for (const { adapter: { config: c }, source } of inputs) {
    const init = initFromPeft(c.init_lora_weights, false);
    const why = c.use_dora
      ? 'a DoRA adapter (its magnitudes cannot be combined)'
      : c.lora_bias
        ? 'lora_bias=true (PEFT would drop the trained lora_B biases)'
        : c.bias !== 'none'
          ? `bias="${c.bias}" (its trained biases live in the base model, not in the combination)`
          : typeof init === 'string' && mutatesBase(init)
            ? `init_lora_weights=${JSON.stringify(c.init_lora_weights)} (its delta is relative to a residual base)`
            : undefined;
    if (why) throw new UserError(`cannot combine ${source}: ${why}`);
  }
  const savers = inputs.filter((i) => (i.adapter.config.modules_to_save ?? []).length > 0);
  const shared = savers.length > 1 ? savers[0]!.adapter.config.modules_to_save!.filter((m) => savers.slice(1).some((s) => s.adapter.config.modules_to_save!.includes(m))) : [];
  if (shared.length > 0) throw new UserError(`Cannot add weighted adapters if they target the same module with modules_to_save, but found ${shared.length} such instance(s) (${shared.join(', ')}) (PEFT's error)`);
}

function newTargets(inputs: CombineInput[]): PeftConfig['target_modules'] {
  const tms = inputs.map((i) => i.adapter.config.target_modules);
  if (tms.every((t) => typeof t === 'string')) return tms.map((t) => `(${t})`).join('|');
  if (tms.every((t) => Array.isArray(t))) return [...new Set(tms.flat() as string[])].sort();
  throw new UserError('all adapter configs should follow the same target modules type. Combining adapters with `target_modules` type being a mix of list/set and string is not supported. (PEFT\'s error)');
}

/** The combined adapter (see the header for the semantics). */
export function combineAdapters(inputs: CombineInput[], o: CombineOptions): Adapter {
  if (inputs.length === 0) throw new UserError('combine needs at least one adapter');
  refuse(inputs);
  // PEFT: "if there is only one adapter, combination_type is forced to linear".
  const method: CombineMethod = inputs.length === 1 ? 'linear' : o.method;
  const ranks = inputs.map((i) => adapterRank(i.adapter.config));
  let newRank: number;
  if (method === 'linear') {
    if (new Set(ranks).size > 1) throw new UserError(`All adapters must have the same r value when using combination_type linear (got ranks ${ranks.join(', ')}; PEFT's error). Use --method cat or svd`);
    newRank = ranks[0]!;
  } else if (method === 'cat') newRank = ranks.reduce((a, b) => a + b, 0);
  else newRank = o.rank ?? Math.max(...ranks);
  if (!Number.isInteger(newRank) || newRank < 1) throw new UserError(`--rank must be a positive integer, not ${newRank}`);

  const first = inputs[0]!.adapter.config;
  const config = makePeftConfig({
    ...first,
    r: newRank,
    lora_alpha: newRank,
    rank_pattern: {},
    alpha_pattern: {},
    use_rslora: false,
    target_modules: newTargets(inputs),
    modules_to_save: null,
    peft_version: PEFT_FORMAT_VERSION,
  });
  const modules = [...new Set(inputs.flatMap((i) => [...i.adapter.tensors.keys()]))].filter((m) => isTargetModule(m, config));
  const tensors = new Map<string, LoraModuleWeights>();
  for (const module of modules) {
    const parts = inputs.flatMap((i) => {
      const t = i.adapter.tensors.get(module);
      if (!t) return [];
      const { r, alpha } = resolveRankAlpha(module, i.adapter.config);
      return [{ t, r, s: loraScaling(alpha, r, i.adapter.config.use_rslora), w: i.weight }];
    });
    const kind = parts[0]!.t.kind;
    if (parts.some((p) => p.t.kind !== kind)) throw new UserError(`cannot combine "${module}": an embedding in one adapter and a linear layer in another`);
    const inF = parts[0]!.t.A.shape[1]!;
    const outF = parts[0]!.t.B.shape[0]!;
    if (parts.some((p) => p.t.A.shape[1] !== inF || p.t.B.shape[0] !== outF)) throw new UserError(`cannot combine "${module}": the adapters disagree on its shape`);
    const { A, B } = method === 'cat' ? cat(parts, newRank, inF, outF) : method === 'linear' ? linear(parts, newRank, inF, outF) : svdCombine(parts, newRank, inF, outF, module);
    tensors.set(module, { kind, A, B });
  }
  return { config, tensors, others: new Map() };
}

interface Part {
  t: LoraModuleWeights;
  r: number;
  s: number;
  w: number;
}

function cat(parts: Part[], rank: number, inF: number, outF: number): { A: FloatTensor; B: FloatTensor } {
  const a = new Float32Array(rank * inF);
  const b = new Float32Array(outF * rank);
  let row = 0;
  for (const p of parts) {
    const ws = p.w * p.s;
    for (let i = 0; i < p.r * inF; i++) a[row * inF + i] = p.t.A.data[i]! * ws;
    for (let o = 0; o < outF; o++) for (let j = 0; j < p.r; j++) b[o * rank + row + j] = p.t.B.data[o * p.r + j]!;
    row += p.r;
  }
  return { A: { shape: [rank, inF], data: a }, B: { shape: [outF, rank], data: b } };
}

function linear(parts: Part[], rank: number, inF: number, outF: number): { A: FloatTensor; B: FloatTensor } {
  const a = new Float64Array(rank * inF);
  const b = new Float64Array(outF * rank);
  for (const p of parts) {
    const ws = p.w * p.s;
    const wa = Math.sqrt(Math.abs(ws)) * (ws >= 0 ? 1 : -1);
    const wb = Math.sqrt(Math.abs(ws));
    for (let i = 0; i < a.length; i++) a[i] = a[i]! + wa * p.t.A.data[i]!;
    for (let i = 0; i < b.length; i++) b[i] = b[i]! + wb * p.t.B.data[i]!;
  }
  return { A: { shape: [rank, inF], data: Float32Array.from(a) }, B: { shape: [outF, rank], data: Float32Array.from(b) } };
}

/**
 * Best rank-r approximation of Σ w_i·s_i²·B_i·A_i without forming it: with Bc = [w_i·s_i²·B_i]
 * and Ac = [A_i] stacked, QR both (Bc = Qb·Rb, Acᵀ = Qa·Ra), then the small SVD of Rb·Raᵀ.
 */
function svdCombine(parts: Part[], rank: number, inF: number, outF: number, module: string): { A: FloatTensor; B: FloatTensor } {
  if (rank > Math.min(inF, outF)) throw new UserError(`--rank ${rank} exceeds min(${outF}, ${inF}) of "${module}"`);
  const R = parts.reduce((n, p) => n + p.r, 0);
  const bc = new Float64Array(outF * R);
  const act = new Float64Array(inF * R);
  let off = 0;
  for (const p of parts) {
    const c = p.w * p.s * p.s;
    for (let o = 0; o < outF; o++) for (let j = 0; j < p.r; j++) bc[o * R + off + j] = c * p.t.B.data[o * p.r + j]!;
    for (let j = 0; j < p.r; j++) for (let i = 0; i < inF; i++) act[i * R + off + j] = p.t.A.data[j * inF + i]!;
    off += p.r;
  }
  const qb = qr(bc, outF, R);
  const qa = qr(act, inF, R);
  // M = Rb·Raᵀ: [kb, ka].
  const m = new Float64Array(qb.k * qa.k);
  for (let i = 0; i < qb.k; i++) {
    for (let j = 0; j < qa.k; j++) {
      let acc = 0;
      for (let t = 0; t < R; t++) acc += qb.r[i * R + t]! * qa.r[j * R + t]!;
      m[i * qa.k + j] = acc;
    }
  }
  const d = svd(m, qb.k, qa.k);
  const a = new Float32Array(rank * inF);
  const b = new Float32Array(outF * rank);
  for (let t = 0; t < Math.min(rank, d.k); t++) {
    // U = Qb·Um (times S into B); Vᵀ row t = Vmᵀ row t · Qaᵀ.
    for (let o = 0; o < outF; o++) {
      let acc = 0;
      for (let x = 0; x < qb.k; x++) acc += qb.q[o * qb.k + x]! * d.u[x * d.k + t]!;
      b[o * rank + t] = acc * d.s[t]!;
    }
    for (let i = 0; i < inF; i++) {
      let acc = 0;
      for (let x = 0; x < qa.k; x++) acc += d.vt[t * qa.k + x]! * qa.q[i * qa.k + x]!;
      a[t * inF + i] = acc;
    }
  }
  return { A: { shape: [rank, inF], data: a }, B: { shape: [outF, rank], data: b } };
}
