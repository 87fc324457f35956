// The benchmark transformer, built directly as an IR graph with the GraphBuilder (the lead may later
// swap this for the lowering of an equivalent `.rf` spec). A GPT-2-shaped pre-LayerNorm decoder:
//   x = wte[ids] + wpe[positions]
//   per layer: x += o_proj(attention(q(ln_1 x), k(ln_1 x), v(ln_1 x)));  x += fc2(gelu(fc1(ln_2 x)))
//   logits = ln_f(x) · wteᵀ (tied),  loss = mean cross-entropy over labels
// Linear weights are torch.nn.Linear's [out, in] with a bias. LoRA (PEFT's formula, no dropout) sits
// on q_proj and v_proj: y = x·W0ᵀ + b + (alpha/r)·(x·Aᵀ)·Bᵀ. The same parameter list, names and
// initial values feed the tfjs model (tf-model.ts) and the PyTorch + PEFT baseline (peft_baseline.py).
import { GraphBuilder, type Value } from '../compiler/ir/builder.ts';
import type { Graph, ParamRole } from '../compiler/ir/types.ts';

export interface ModelConfig {
  vocab: number;
  width: number;
  layers: number;
  heads: number;
  seq: number;
  batch: number;
  /** LoRA rank and alpha (q_proj and v_proj). */
  rank: number;
  alpha: number;
}

export const FULL_MODEL: ModelConfig = { vocab: 512, width: 256, layers: 4, heads: 4, seq: 128, batch: 8, rank: 8, alpha: 16 };
export const QUICK_MODEL: ModelConfig = { vocab: 128, width: 64, layers: 2, heads: 2, seq: 32, batch: 4, rank: 4, alpha: 8 };

export type Mode = 'lora' | 'full';
export type Init = 'normal' | 'ones' | 'zeros' | 'kaiming';

export interface ParamSpec {
  name: string;
  shape: number[];
  role: ParamRole;
  init: Init;
}

const LINEARS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'fc1', 'fc2'] as const;
export const LORA_TARGETS = ['q_proj', 'v_proj'] as const;

function linearShape(cfg: ModelConfig, name: (typeof LINEARS)[number]): [number, number] {
  const d = cfg.width;
  if (name === 'fc1') return [4 * d, d];
  if (name === 'fc2') return [d, 4 * d];
  return [d, d];
}

/** Every parameter in graph order. LoRA mode freezes the base and adds A [r, in], B [out, r]. */
export function paramSpecs(cfg: ModelConfig, mode: Mode): ParamSpec[] {
  const base: ParamRole = mode === 'lora' ? 'frozen' : 'trainable';
  const d = cfg.width;
  const specs: ParamSpec[] = [
    { name: 'wte', shape: [cfg.vocab, d], role: base, init: 'normal' },
    { name: 'wpe', shape: [cfg.seq, d], role: base, init: 'normal' },
  ];
  for (let l = 0; l < cfg.layers; l++) {
    const p = `h.${l}`;
    specs.push({ name: `${p}.ln_1.weight`, shape: [d], role: base, init: 'ones' });
    specs.push({ name: `${p}.ln_1.bias`, shape: [d], role: base, init: 'zeros' });
    for (const lin of LINEARS) {
      if (lin === 'fc1') {
        specs.push({ name: `${p}.ln_2.weight`, shape: [d], role: base, init: 'ones' });
        specs.push({ name: `${p}.ln_2.bias`, shape: [d], role: base, init: 'zeros' });
      }
      const [out, inp] = linearShape(cfg, lin);
      specs.push({ name: `${p}.${lin}.weight`, shape: [out, inp], role: base, init: 'normal' });
      specs.push({ name: `${p}.${lin}.bias`, shape: [out], role: base, init: 'zeros' });
      if (mode === 'lora' && (LORA_TARGETS as readonly string[]).includes(lin)) {
        specs.push({ name: `${p}.${lin}.lora_A.weight`, shape: [cfg.rank, inp], role: 'adapter', init: 'kaiming' });
        specs.push({ name: `${p}.${lin}.lora_B.weight`, shape: [out, cfg.rank], role: 'adapter', init: 'zeros' });
      }
    }
  }
  specs.push({ name: 'ln_f.weight', shape: [d], role: base, init: 'ones' });
  specs.push({ name: 'ln_f.bias', shape: [d], role: base, init: 'zeros' });
  return specs;
}

/** Deterministic values for a parameter: mulberry32 seeded by the name, Box-Muller normals. */
export function initParam(spec: ParamSpec, seed = 1234): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (spec.init === 'zeros') return out;
  if (spec.init === 'ones') return out.fill(1);
  let h = seed >>> 0;
  for (let i = 0; i < spec.name.length; i++) h = Math.imul(h ^ spec.name.charCodeAt(i), 2654435761) >>> 0;
  const next = (): number => {
    h = (h + 0x6d2b79f5) >>> 0;
    let t = h;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // kaiming: PEFT's A init is kaiming-uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)).
  if (spec.init === 'kaiming') {
    const bound = 1 / Math.sqrt(spec.shape[1]!);
    for (let i = 0; i < n; i++) out[i] = (2 * next() - 1) * bound;
    return out;
  }
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(next(), 1e-12);
    const v = next();
    const r = 0.02 * Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** The forward graph with `loss` (and `logits`) outputs; inputs ids, positions, labels (i32 [B, T]). */
export function buildModelGraph(cfg: ModelConfig, mode: Mode): Graph {
  const b = new GraphBuilder();
  const specs = new Map(paramSpecs(cfg, mode).map((s) => [s.name, s]));
  const p = (name: string): Value => {
    const s = specs.get(name);
    if (!s) throw new Error(`bench model: no parameter ${name}`);
    return b.param(s.name, s.shape, s.role);
  };
  const { batch: B, seq: T, width: d, heads } = cfg;
  const ids = b.input('ids', 'i32', [B, T]);
  const positions = b.input('positions', 'i32', [B, T]);
  const labels = b.input('labels', 'i32', [B, T]);
  const linear = (x: Value, name: string): Value => {
    const y = b.linear(x, p(`${name}.weight`), p(`${name}.bias`), false, name);
    if (!specs.has(`${name}.lora_A.weight`)) return y;
    const s = b.matmul(x, p(`${name}.lora_A.weight`), true, `${name}.lora_s`);
    const low = b.scale(b.matmul(s, p(`${name}.lora_B.weight`), true), cfg.alpha / cfg.rank, `${name}.lora`);
    return b.add(y, low, `${name}.out`);
  };
  let x = b.add(b.embedding(p('wte'), ids, 'wte'), b.embedding(p('wpe'), positions, 'wpe'), 'embed');
  const headDim = d / heads;
  for (let l = 0; l < cfg.layers; l++) {
    const h = `h.${l}`;
    const a = b.layernorm(x, p(`${h}.ln_1.weight`), p(`${h}.ln_1.bias`), 1e-5, `${h}.ln_1`);
    const q = linear(a, `${h}.q_proj`);
    const k = linear(a, `${h}.k_proj`);
    const v = linear(a, `${h}.v_proj`);
    const att = b.attention(q, k, v, { heads, kvHeads: heads, headDim, scale: 1 / Math.sqrt(headDim), causal: true }, undefined, `${h}.attn`);
    x = b.add(x, linear(att, `${h}.o_proj`), `${h}.res1`);
    const m = b.layernorm(x, p(`${h}.ln_2.weight`), p(`${h}.ln_2.bias`), 1e-5, `${h}.ln_2`);
    x = b.add(x, linear(b.unary('gelu', linear(m, `${h}.fc1`)), `${h}.fc2`), `${h}.res2`);
  }
  const f = b.layernorm(x, p('ln_f.weight'), p('ln_f.bias'), 1e-5, 'ln_f');
  const logits = b.matmul(f, p('wte'), true, 'logits');
  b.output('loss', b.crossEntropy(logits, labels));
  return b.graph;
}

/** Deterministic token ids, positions and next-token labels for one batch. */
export function batchInputs(cfg: ModelConfig, seed = 7): Record<'ids' | 'positions' | 'labels', Int32Array> {
  const n = cfg.batch * cfg.seq;
  const ids = new Int32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    ids[i] = s % cfg.vocab;
  }
  const positions = Int32Array.from({ length: n }, (_, i) => i % cfg.seq);
  const labels = Int32Array.from({ length: n }, (_, i) => ((i + 1) % cfg.seq === 0 ? -100 : ids[i + 1]!));
  return { ids, positions, labels };
}

/** Parameter counts: all, and those the optimizer updates. */
export function modelParamCount(cfg: ModelConfig, mode: Mode): { total: number; trainable: number } {
  let total = 0;
  let trainable = 0;
  for (const s of paramSpecs(cfg, mode)) {
    const n = s.shape.reduce((a, c) => a * c, 1);
    total += n;
    if (s.role !== 'frozen') trainable += n;
  }
  return { total, trainable };
}
