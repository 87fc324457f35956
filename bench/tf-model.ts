// The benchmark transformer in tfjs ops, the same architecture, parameter names and initial values
// as model.ts: frozen weights are plain tensors, trainable ones (LoRA A and B, or every weight for
// full fine-tuning) tf.variables, and a step is Adam's minimize over those variables only.
import { batchInputs, initParam, paramSpecs, type Mode, type ModelConfig } from './model.ts';
import type { Tf } from './tf.ts';

type Tensor = import('@tensorflow/tfjs').Tensor;
type Tensor2D = import('@tensorflow/tfjs').Tensor2D;
type Variable = import('@tensorflow/tfjs').Variable;
type Optimizer = import('@tensorflow/tfjs').Optimizer;

export interface TfModel {
  /** One training step (forward, backward, Adam update); enqueues GPU work, reads nothing back. */
  step(): void;
  /** The current loss (reads back one scalar). */
  loss(): Promise<number>;
  trainableParams: number;
  dispose(): void;
}

export function buildTfModel(tf: Tf, cfg: ModelConfig, mode: Mode, lr = 1e-4): TfModel {
  const P = new Map<string, Tensor>();
  const vars: Variable[] = [];
  let trainableParams = 0;
  for (const s of paramSpecs(cfg, mode)) {
    const t = tf.tensor(initParam(s), s.shape, 'float32');
    if (s.role === 'frozen') P.set(s.name, t);
    else {
      const v = tf.variable(t, true, `bench.${s.name}`);
      t.dispose();
      P.set(s.name, v);
      vars.push(v);
      trainableParams += t.size;
    }
  }
  const p = (name: string): Tensor => {
    const t = P.get(name);
    if (!t) throw new Error(`tf model: no parameter ${name}`);
    return t;
  };
  const { batch: B, seq: T, width: d, heads: H } = cfg;
  const hd = d / H;
  const inputs = batchInputs(cfg);
  const ids = tf.tensor1d(inputs.ids, 'int32');
  const positions = tf.tensor1d(inputs.positions, 'int32');
  const valid = Int32Array.from(inputs.labels, (l) => (l >= 0 ? 1 : 0));
  const labelMask = tf.tensor1d(Float32Array.from(valid), 'float32');
  const oneHot = tf.oneHot(tf.tensor1d(Int32Array.from(inputs.labels, (l) => Math.max(l, 0)), 'int32'), cfg.vocab).toFloat();
  const validCount = valid.reduce((a, b) => a + b, 0);
  const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
  const maskAdd = tf.mul(tf.sub(1, causal), -1e9); // 0 on and below the diagonal, -1e9 above

  const layernorm = (x: Tensor, name: string): Tensor => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), p(`${name}.weight`)), p(`${name}.bias`));
  };
  const linear = (x: Tensor, name: string): Tensor => {
    let y = tf.add(tf.matMul(x as Tensor2D, p(`${name}.weight`) as Tensor2D, false, true), p(`${name}.bias`));
    const a = P.get(`${name}.lora_A.weight`);
    if (a) {
      const s = tf.matMul(x as Tensor2D, a as Tensor2D, false, true);
      y = tf.add(y, tf.mul(tf.matMul(s, p(`${name}.lora_B.weight`) as Tensor2D, false, true), cfg.alpha / cfg.rank));
    }
    return y;
  };
  const heads = (x: Tensor): Tensor => tf.transpose(tf.reshape(x, [B, T, H, hd]), [0, 2, 1, 3]);
  const attention = (q: Tensor, k: Tensor, v: Tensor): Tensor => {
    const scores = tf.add(tf.mul(tf.matMul(heads(q), heads(k), false, true), 1 / Math.sqrt(hd)), maskAdd);
    const o = tf.matMul(tf.softmax(scores, -1), heads(v));
    return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B * T, d]);
  };
  const gelu = (x: Tensor): Tensor => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));

  const lossFn = (): import('@tensorflow/tfjs').Scalar => {
    let x = tf.add(tf.gather(p('wte'), ids), tf.gather(p('wpe'), positions)); // [B*T, d]
    for (let l = 0; l < cfg.layers; l++) {
      const h = `h.${l}`;
      const a = layernorm(x, `${h}.ln_1`);
      x = tf.add(x, linear(attention(linear(a, `${h}.q_proj`), linear(a, `${h}.k_proj`), linear(a, `${h}.v_proj`)), `${h}.o_proj`));
      x = tf.add(x, linear(gelu(linear(layernorm(x, `${h}.ln_2`), `${h}.fc1`)), `${h}.fc2`));
    }
    const logits = tf.matMul(layernorm(x, 'ln_f') as Tensor2D, p('wte') as Tensor2D, false, true);
    const nll = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits, -1)), -1));
    return tf.div(tf.sum(tf.mul(nll, labelMask)), validCount) as import('@tensorflow/tfjs').Scalar;
  };

  const optimizer: Optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  return {
    step() {
      optimizer.minimize(lossFn, false, vars);
    },
    async loss() {
      const l = tf.tidy(lossFn);
      const v = (await l.data())[0]!;
      l.dispose();
      return v;
    },
    trainableParams,
    dispose() {
      optimizer.dispose();
      for (const t of P.values()) t.dispose();
      for (const t of [ids, positions, labelMask, oneHot, causal, maskAdd]) t.dispose();
    },
  };
}
