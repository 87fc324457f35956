// The AdamW IR step against a hand-written torch.optim.AdamW and against the HF/PEFT conformance
// fixture (adapter_after_adamw_step == AdamW(adapter, grads) for every tensor).
import { readFileSync } from 'node:fs';
import { readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { interpret } from '../../../compiler/ir/interp.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { appendAdamW, optimHyper } from '../../../compiler/optim/adamw.ts';
import { conformanceCase } from '../../helpers/conformance.ts';

function readF32Safetensors(path: string): Record<string, { shape: number[]; data: Float32Array }> {
  const file = readSafetensorsFile(path);
  return Object.fromEntries(file.names.map((k) => [k, { shape: file.info(k).shape, data: file.getFloat32(k) }]));
}

/** torch.optim.AdamW's single-tensor step, written out (step t, fresh or given moments). */
function torchAdamW(p: number[], g: number[], m: number[], v: number[], t: number, o: { lr: number; b1: number; b2: number; eps: number; wd: number }) {
  const p2 = p.map((x) => x * (1 - o.lr * o.wd));
  const m2 = m.map((x, i) => o.b1 * x + (1 - o.b1) * g[i]!);
  const v2 = v.map((x, i) => o.b2 * x + (1 - o.b2) * g[i]! * g[i]!);
  const bc1 = 1 - o.b1 ** t;
  const bc2 = 1 - o.b2 ** t;
  return { p: p2.map((x, i) => x - (o.lr / bc1) * m2[i]! / (Math.sqrt(v2[i]!) / Math.sqrt(bc2) + o.eps)), m: m2, v: v2 };
}

/** A graph whose "gradients" are inputs, so a step can be checked on given values. */
function stepGraph(shapes: Record<string, number[]>, settings: Parameters<typeof appendAdamW>[1]) {
  const b = new GraphBuilder();
  for (const [name, shape] of Object.entries(shapes)) {
    b.param(name, shape, 'adapter');
    b.graph.grads[name] = b.input(`${name}.grad`, 'f32', shape);
  }
  appendAdamW(b.graph, settings);
  verifyGraph(b.graph);
  return b.graph;
}

describe('appendAdamW', () => {
  const o = { lr: 0.05, b1: 0.9, b2: 0.99, eps: 1e-8, wd: 0.1 };
  const settings = { beta1: o.b1, beta2: o.b2, eps: o.eps, weightDecay: o.wd };

  it('adds state per parameter, the optim input and one effect per parameter', () => {
    const g = stepGraph({ a: [2, 3], c: [4] }, settings);
    const states = g.nodes.filter((n) => n.op === 'state').map((n) => (n.attrs as { name: string }).name);
    expect(states).toEqual(['a.exp_avg', 'a.exp_avg_sq', 'c.exp_avg', 'c.exp_avg_sq']);
    expect(g.effects.map((e) => g.nodes[e]!.op)).toEqual(['adamw', 'adamw']);
    expect(g.nodes.some((n) => n.op === 'input' && (n.attrs as { name: string }).name === 'optim')).toBe(true);
  });

  it('matches torch.optim.AdamW over three steps (f64)', () => {
    const g = stepGraph({ w: [3] }, settings);
    const p = Float64Array.of(0.5, -1, 2);
    const m = new Float64Array(3);
    const v = new Float64Array(3);
    let ref = { p: Array.from(p), m: [0, 0, 0], v: [0, 0, 0] };
    const gradsPerStep = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.1, 0.2]];
    gradsPerStep.forEach((grad, k) => {
      const t = k + 1;
      interpret(g, { params: { w: p }, state: { 'w.exp_avg': m, 'w.exp_avg_sq': v }, inputs: { 'w.grad': Float64Array.from(grad), optim: optimHyper(o.lr, t, settings) } }, { precision: 'f64' });
      ref = torchAdamW(ref.p, grad, ref.m, ref.v, t, o);
      // optim is f32 on the device: compare with the reference evaluated at the f32-rounded hyper-parameters.
      p.forEach((x, i) => expect(x).toBeCloseTo(ref.p[i]!, 6));
      m.forEach((x, i) => expect(x).toBeCloseTo(ref.m[i]!, 12));
    });
  });

  it('clips the global gradient norm like clip_grad_norm_ before the update', () => {
    const g = stepGraph({ a: [2], c: [1] }, { ...settings, weightDecay: 0, maxGradNorm: 1 });
    const a = Float64Array.of(0, 0);
    const c = Float64Array.of(0);
    const zero = () => ({ m: new Float64Array(2), v: new Float64Array(2), m1: new Float64Array(1), v1: new Float64Array(1) });
    const s = zero();
    const ga = Float64Array.of(3, 0);
    const gc = Float64Array.of(4); // global norm 5 -> coefficient 1 / (5 + 1e-6)
    interpret(g, {
      params: { a, c },
      state: { 'a.exp_avg': s.m, 'a.exp_avg_sq': s.v, 'c.exp_avg': s.m1, 'c.exp_avg_sq': s.v1 },
      inputs: { 'a.grad': ga, 'c.grad': gc, optim: Float64Array.of(o.lr, 1 - o.b1, 1 - o.b2, 0) },
    }, { precision: 'f64' });
    expect(s.m[0]).toBeCloseTo((1 - o.b1) * 3 / (5 + 1e-6), 14);
    expect(s.m1[0]).toBeCloseTo((1 - o.b1) * 4 / (5 + 1e-6), 14);
  });

  const dir = conformanceCase('llama_qv_r4');
  it('reproduces the llama_qv_r4 fixture: adapter_after_adamw_step == AdamW(adapter, grads)', () => {
    const expected = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8')) as { adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number } };
    const adapter = readF32Safetensors(`${dir}/adapter/adapter_model.safetensors`);
    const grads = readF32Safetensors(`${dir}/grads.safetensors`);
    const after = readF32Safetensors(`${dir}/adapter_after_adamw_step.safetensors`);
    const key = (k: string) => k.replace('.weight', '.default.weight');
    const shapes = Object.fromEntries(Object.entries(adapter).map(([k, t]) => [k, t.shape]));
    const { lr, betas, eps, weight_decay } = expected.adamw;
    const s = { beta1: betas[0], beta2: betas[1], eps, weightDecay: weight_decay };
    const g = stepGraph(shapes, s);
    const params = Object.fromEntries(Object.entries(adapter).map(([k, t]) => [k, Float32Array.from(t.data)]));
    const state: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(adapter)) {
      state[`${k}.exp_avg`] = new Float32Array(t.data.length);
      state[`${k}.exp_avg_sq`] = new Float32Array(t.data.length);
    }
    const inputs: Record<string, Float32Array> = { optim: optimHyper(lr, 1, s) };
    for (const k of Object.keys(adapter)) inputs[`${k}.grad`] = grads[key(k)]!.data;
    interpret(g, { params, state, inputs }, { precision: 'f32' });
    expect(Object.keys(adapter).length).toBe(8);
    for (const k of Object.keys(adapter)) {
      const want = after[key(k)]!.data;
      let worst = 0;
      params[k]!.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - want[i]!))));
      expect(worst, k).toBeLessThan(1e-6);
    }
  });
});
