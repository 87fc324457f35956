// Fresh adapter weights as PEFT's LoraLayer.update_layer makes them (tuners/lora/layer.py):
//   true ('default')  A ~ Kaiming-uniform (a=√5: U(±1/√in)), B = 0, lora_B.bias = 0
//   false ('random')  A ~ U(±1/√in), B ~ U(±1/√r), lora_B.bias ~ U(±1/√r) (nn.Linear's defaults)
//   'gaussian'        A ~ N(0, 1/r) (std 1/r, as PEFT), B = 0
//   'pissa'           W = U·S·Vᵀ (float64 SVD): A = diag(√(S_r/s))·V_rᵀ, B = U_r·diag(√(S_r/s)),
//                     base W := W − s·B·A (the residual); 'pissa_niter_K' the same (PEFT's
//                     randomized svd_lowrank approximates this exact top-r SVD)
//   'olora'           W = Q·R of the weight as stored (PEFT ignores fan_in_fan_out here):
//                     A = R[:r], B = Q[:, :r], base W := W − s·B·A
//   Embedding         A = 0, B ~ N(0, 1) for every truthy init (PEFT's Embedding), both N(0, 1) for false
//   DoRA magnitude    ‖W + s·B·A‖ per output feature, of the (residual) base, so the layer starts as the base.
import type { CheckedModel, LoraConfig, Op } from '../../compiler/check/model.ts';
import { UserError } from '../../compiler/errors.ts';
import { doraInitialMagnitude, loraParamNames, mutatesBase } from '../../compiler/lora/index.ts';
import { Rng } from '../data/rng.ts';
import { qr, svd } from '../analysis/svd.ts';
import type { WeightMap } from '../model/weights.ts';
import { adaptedShape, isAdaptable, type AdaptableOp } from './apply-peft.ts';

type LinearOp = Extract<Op, { op: 'linear' }>;

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * bound);
}

function normal(rng: Rng, n: number, std: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * std);
}

/** The base weight a linear op reads (a tied head reads its owner's weight). */
export function storageName(model: CheckedModel, weight: string): string {
  return model.weights.find((w) => w.name === weight)?.tiedTo ?? weight;
}

/** A, B and the residual base of a PiSSA / OLoRA init, all float32 in the stored layouts. */
export function residualInit(op: LinearOp, cfg: LoraConfig, w: Float32Array): { a: Float32Array; b: Float32Array; residual: Float32Array } {
  const { inFeatures: k, outFeatures: n } = op;
  const conv1d = op.layout === 'conv1d';
  const r = cfg.rank;
  const s = cfg.scaling;
  const a = new Float32Array(r * k);
  const b = new Float32Array(n * r);
  const residual = new Float32Array(w.length);
  if (cfg.init === 'olora') {
    if (conv1d && k !== n) {
      throw new UserError(`init_lora_weights="olora" on "${op.module}": PEFT's OLoRA ignores fan_in_fan_out and would give factors of the wrong shape for a Conv1D weight [${k}, ${n}]`);
    }
    // QR of the weight as stored ([out, in], or Conv1D's [in, out] when square).
    const rows = conv1d ? k : n;
    const cols = conv1d ? n : k;
    if (r > Math.min(rows, cols)) throw new UserError(`init_lora_weights="olora" on "${op.module}": rank ${r} exceeds min(${rows}, ${cols})`);
    const { q, r: rr, k: kk } = qr(w, rows, cols);
    for (let i = 0; i < r; i++) for (let j = 0; j < cols; j++) a[i * cols + j] = rr[i * cols + j]!;
    for (let i = 0; i < rows; i++) for (let j = 0; j < r; j++) b[i * r + j] = q[i * kk + j]!;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        let acc = 0;
        for (let t = 0; t < r; t++) acc += b[i * r + t]! * a[t * cols + j]!;
        residual[i * cols + j] = w[i * cols + j]! - s * acc;
      }
    }
    return { a, b, residual };
  }
  // PiSSA on W as [out, in] (Conv1D transposed first, as PEFT does).
  const wm = new Float64Array(n * k);
  for (let o = 0; o < n; o++) for (let i = 0; i < k; i++) wm[o * k + i] = w[conv1d ? i * n + o : o * k + i]!;
  if (r > Math.min(n, k)) throw new UserError(`init_lora_weights="${cfg.init}" on "${op.module}": rank ${r} exceeds min(${n}, ${k})`);
  const d = svd(wm, n, k);
  for (let t = 0; t < r; t++) {
    const root = Math.sqrt(d.s[t]! / s);
    for (let i = 0; i < k; i++) a[t * k + i] = root * d.vt[t * k + i]!;
    for (let o = 0; o < n; o++) b[o * r + t] = d.u[o * d.k + t]! * root;
  }
  for (let o = 0; o < n; o++) {
    for (let i = 0; i < k; i++) {
      let acc = 0;
      for (let t = 0; t < r; t++) acc += b[o * r + t]! * a[t * k + i]!;
      residual[conv1d ? i * n + o : o * k + i] = wm[o * k + i]! - s * acc;
    }
  }
  return { a, b, residual };
}

/**
 * The residual base weights of every PiSSA / OLoRA adapted layer, by storage name: what PEFT's
 * loader recomputes from the given base before it loads the trained A and B.
 */
export function residualBase(model: CheckedModel, base: WeightMap): WeightMap {
  const out: WeightMap = new Map();
  for (const op of model.ops) {
    if (op.op !== 'linear' || !op.lora || !mutatesBase(op.lora.init)) continue;
    const name = storageName(model, op.weight);
    const w = out.get(name) ?? base.get(name);
    if (!w) throw new Error(`residualBase: base weight ${name} is not loaded`);
    out.set(name, residualInit(op, op.lora, w).residual);
  }
  return out;
}

function initOne(model: CheckedModel, op: AdaptableOp, base: WeightMap, residuals: WeightMap, rng: Rng): WeightMap {
  const cfg = op.lora!;
  const { kind, inFeatures, outFeatures } = adaptedShape(op);
  const names = loraParamNames(op.module, kind);
  const r = cfg.rank;
  const out: WeightMap = new Map();
  let a: Float32Array;
  let b: Float32Array;
  if (kind === 'embedding') {
    const random = cfg.init === 'random';
    a = random ? normal(rng, r * inFeatures, 1) : new Float32Array(r * inFeatures);
    b = normal(rng, outFeatures * r, 1);
  } else if (mutatesBase(cfg.init)) {
    const lin = op as LinearOp;
    const name = storageName(model, lin.weight);
    const w = residuals.get(name) ?? base.get(name);
    if (!w) throw new Error(`initAdapterWeights: base weight ${name} is not loaded`);
    const res = residualInit(lin, cfg, w);
    ({ a, b } = res);
    residuals.set(name, res.residual);
  } else {
    a = cfg.init === 'gaussian' ? normal(rng, r * inFeatures, 1 / r) : uniform(rng, r * inFeatures, 1 / Math.sqrt(inFeatures));
    b = cfg.init === 'random' ? uniform(rng, outFeatures * r, 1 / Math.sqrt(r)) : new Float32Array(outFeatures * r);
  }
  out.set(names.a, a);
  out.set(names.b, b);
  if (cfg.loraBias) out.set(names.biasB, cfg.init === 'random' ? uniform(rng, outFeatures, 1 / Math.sqrt(r)) : new Float32Array(outFeatures));
  if (cfg.dora) {
    const weightName = storageName(model, op.weight);
    const w0 = residuals.get(weightName) ?? base.get(weightName);
    if (!w0) throw new Error(`initAdapterWeights: base weight ${weightName} is not loaded`);
    // An embedding [num, dim] is Conv1D-like storage of a [dim, num] map: the norm runs over num.
    const fanInFanOut = kind === 'embedding' || (op as LinearOp).layout === 'conv1d';
    out.set(names.magnitude, doraInitialMagnitude(w0, { a, b, rank: r, inFeatures, outFeatures, scaling: cfg.scaling, fanInFanOut }));
  }
  return out;
}

/**
 * Fresh weights for every adapter of the model (PEFT's inits, above). For PiSSA / OLoRA layers
 * the map also holds the residual base weight under the base weight's name, so setting the map
 * into an executor after the base gives PEFT's initial model.
 */
export function initAdapterWeights(model: CheckedModel, base: WeightMap, seed: number): WeightMap {
  const rng = new Rng(seed);
  const residuals: WeightMap = new Map();
  const out: WeightMap = new Map();
  for (const op of model.ops) {
    if (!isAdaptable(op) || !op.lora) continue;
    for (const [k, v] of initOne(model, op, base, residuals, rng)) out.set(k, v);
  }
  for (const [k, v] of residuals) out.set(k, v);
  return out;
}
