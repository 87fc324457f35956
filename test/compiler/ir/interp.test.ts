import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { dropoutHash, erf, evalOp, interpret, pcgHash } from '../../../compiler/ir/interp.ts';

const f64 = (...xs: number[]): Float64Array => Float64Array.from(xs);

describe('interpret', () => {
  it('runs a small linear layer in f32 and f64 and names missing feeds', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [1, 2]);
    const w = b.param('w', [3, 2], 'frozen');
    const y = b.matmul(x, w, true);
    b.output('y', y);
    const feeds = { inputs: { x: f64(1, 2) }, params: { w: f64(1, 0, 0, 1, 0.1, 0.2) } };
    const r64 = interpret(b.graph, feeds, { precision: 'f64' });
    expect(Array.from(r64.outputs['y']!)).toEqual([1, 2, 0.1 * 1 + 0.2 * 2]);
    expect(r64.outputs['y']).toBeInstanceOf(Float64Array);
    const r32 = interpret(b.graph, feeds, { precision: 'f32' });
    expect(r32.outputs['y']).toBeInstanceOf(Float32Array);
    expect(r32.outputs['y']![2]).toBe(Math.fround(0.5));
    expect(() => interpret(b.graph, { inputs: { x: f64(1, 2) } })).toThrow(/missing param "w"/);
    expect(() => interpret(b.graph, { params: feeds.params })).toThrow(/missing input "x"/);
  });

  it('computes exact GELU with erf to ~1e-15 and the tanh approximation', () => {
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf(-2)).toBeCloseTo(-0.9953222650189527, 15);
    const g = evalOp('unary', { fn: 'gelu' }, [{ data: f64(1, -3, 0), shape: [3] }]).data;
    expect(g[0]).toBeCloseTo(0.8413447460685429, 15);
    expect(g[1]! / -0.004049694095729).toBeCloseTo(1, 9);
    const t = evalOp('unary', { fn: 'gelu_tanh' }, [{ data: f64(1), shape: [1] }]).data;
    expect(t[0]).toBeCloseTo(0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715)), 15);
  });

  it('broadcasts the right operand over leading dims', () => {
    const r = evalOp('add', {}, [{ data: f64(1, 2, 3, 4), shape: [2, 2] }, { data: f64(10, 20), shape: [2] }]);
    expect(Array.from(r.data)).toEqual([11, 22, 13, 24]);
  });

  it('attention: a single query attends to the first key only when causal; GQA shares kv heads', () => {
    // B=1, T=2, heads=2, kvHeads=1, headDim=1.
    const q = { data: f64(1, 2, 3, 4), shape: [1, 2, 2] };
    const k = { data: f64(0.5, -1), shape: [1, 2, 1] };
    const v = { data: f64(10, 20), shape: [1, 2, 1] };
    const a = { heads: 2, kvHeads: 1, headDim: 1, scale: 1, causal: true };
    const y = evalOp('attention', a, [q, k, v]).data;
    expect(y[0]).toBe(10);
    expect(y[1]).toBe(10);
    const p = 1 / (1 + Math.exp(3 * -1 - 3 * 0.5)); // query 3 on keys 0.5 and -1
    expect(y[2]).toBeCloseTo(10 * p + 20 * (1 - p), 12);
  });

  it('attention_stats: logsumexp of the visible scores and rowDot = dy·y per query row, [B, heads, T, 2]', () => {
    // Same operands as above (B=1, T=2, heads=2, kvHeads=1, headDim=1); row (h, t) at 2·(h·T + t).
    const q = { data: f64(1, 2, 3, 4), shape: [1, 2, 2] };
    const k = { data: f64(0.5, -1), shape: [1, 2, 1] };
    const v = { data: f64(10, 20), shape: [1, 2, 1] };
    const dy = { data: f64(0.1, -0.2, 0.3, 0.4), shape: [1, 2, 2] };
    const a = { heads: 2, kvHeads: 1, headDim: 1, scale: 1, causal: true };
    const yv = evalOp('attention', a, [q, k, v]);
    const yt = { data: yv.data as Float64Array, shape: yv.type.shape };
    const r = evalOp('attention_stats', a, [q, k, v, dy, yt]);
    expect(r.type.shape).toEqual([1, 2, 2, 2]);
    const y = yv.data;
    const row = (h: number, t: number) => Array.from(r.data.slice(2 * (h * 2 + t), 2 * (h * 2 + t) + 2));
    expect(row(0, 0)).toEqual([0.5, 0.1 * 10]); // one visible key: lse = its score, P = 1
    const [lse, rowDot] = row(0, 1); // query 3 on keys 0.5 and -1
    expect(lse).toBeCloseTo(Math.log(Math.exp(1.5) + Math.exp(-3)), 12);
    expect(rowDot).toBeCloseTo(0.3 * y[2]!, 12);
    expect(row(1, 1)[1]).toBeCloseTo(0.4 * y[3]!, 12);
    const r32 = evalOp('attention_stats', a, [q, k, v, dy, yt], { precision: 'f32' });
    expect(() => evalOp('attention_stats', a, [q, k, v, dy])).toThrow(/attention_stats/);
    expect(() => evalOp('attention_stats', a, [q, k, v, dy, k])).toThrow(/q and y/);
    expect(r32.data).toBeInstanceOf(Float32Array);
    expect(r32.data[2]).toBe(Math.fround(lse!));
    // attention_grad takes the stats as its fifth operand and checks its shape.
    const dq = (st: { data: Float64Array; shape: number[] }) => evalOp('attention_grad', { ...a, wrt: 'q' as const }, [q, k, v, dy, st]);
    expect(dq({ data: r.data as Float64Array, shape: [1, 2, 2, 2] }).type.shape).toEqual([1, 2, 2]);
    expect(() => dq({ data: f64(0, 0), shape: [1, 2] })).toThrow(/stats and \[B, heads, T, 2\]/);
  });

  it('rope rotates pairs (j, j + D/2) by f32(t·invFreq[j]), and the transpose undoes it', () => {
    const x = { data: f64(1, 0, 0, 0, 1, 2, 3, 4), shape: [1, 2, 4] };
    const attrs = { heads: 1, headDim: 4, rotaryDim: 4, scale: 1, transpose: false };
    const invFreq = { data: f64(1, Math.fround(Math.pow(100, -0.5))), shape: [2] };
    const y = evalOp('rope', attrs, [x, invFreq]).data;
    expect(Array.from(y.slice(0, 4))).toEqual([1, 0, 0, 0]);
    const a0 = 1;
    const a1 = Math.fround(Math.pow(100, -0.5));
    expect(y[4]).toBeCloseTo(1 * Math.cos(a0) - 3 * Math.sin(a0), 14);
    expect(y[6]).toBeCloseTo(3 * Math.cos(a0) + 1 * Math.sin(a0), 14);
    expect(y[5]).toBeCloseTo(2 * Math.cos(a1) - 4 * Math.sin(a1), 14);
    const back = evalOp('rope', { ...attrs, transpose: true }, [{ data: y, shape: [1, 2, 4] }, invFreq]).data;
    back.forEach((v, i) => expect(v).toBeCloseTo(x.data[i]!, 14));
  });

  it('rope with a partial rotary dim and an attention factor: features past rotaryDim pass through, cos and sin scale', () => {
    // headDim 6, rotaryDim 4: pairs (0, 2) and (1, 3) rotate, features 4 and 5 are copied.
    const x = { data: f64(0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6), shape: [1, 2, 6] };
    const invFreq = { data: f64(0.5, 0.25), shape: [2] };
    const y = evalOp('rope', { heads: 1, headDim: 6, rotaryDim: 4, scale: 1.5, transpose: false }, [x, invFreq]).data;
    const [c0, s0, c1, s1] = [1.5 * Math.cos(0.5), 1.5 * Math.sin(0.5), 1.5 * Math.cos(0.25), 1.5 * Math.sin(0.25)];
    expect(y[6]).toBeCloseTo(1 * c0 - 3 * s0, 14);
    expect(y[8]).toBeCloseTo(3 * c0 + 1 * s0, 14);
    expect(y[7]).toBeCloseTo(2 * c1 - 4 * s1, 14);
    expect(y[9]).toBeCloseTo(4 * c1 + 2 * s1, 14);
    expect([y[10], y[11]]).toEqual([5, 6]);
  });

  it('attention with a sliding window: query i sees keys i − W < j ≤ i (hand-computed on 4 positions)', () => {
    // One head of width 1, q = 0 everywhere: the softmax is uniform over the visible keys, so the
    // output is the mean of the visible values. v = 1, 10, 100, 1000; window 2.
    const q = { data: f64(0, 0, 0, 0), shape: [1, 4, 1] };
    const k = { data: f64(0, 0, 0, 0), shape: [1, 4, 1] };
    const v = { data: f64(1, 10, 100, 1000), shape: [1, 4, 1] };
    const a = { heads: 1, kvHeads: 1, headDim: 1, scale: 1, causal: true, window: 2 };
    const close = (got: ArrayLike<number>, want: number[]) => want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 10));
    close(evalOp('attention', a, [q, k, v]).data, [1, 5.5, 55, 550]);
    // Without the window: the causal means 1, 5.5, 37, 277.75.
    close(evalOp('attention', { ...a, window: 0 }, [q, k, v]).data, [1, 5.5, 37, 277.75]);
    // Decoding with a KV cache: one query at position 3 (offset) sees keys 2 and 3.
    const one = { data: f64(0), shape: [1, 1, 1] };
    close(evalOp('attention', a, [one, k, v, { data: Int32Array.of(3), shape: [1] }]).data, [550]);
    expect(() => evalOp('attention', { ...a, causal: false }, [q, k, v])).toThrow(/sliding window needs causal/);
  });

  it('cross_entropy averages over non-ignored labels and is 0 with none', () => {
    const logits = { data: f64(0, 0, 1, 2), shape: [2, 2] };
    const r = evalOp('cross_entropy', { ignoreIndex: -100 }, [logits, { data: Int32Array.of(1, -100), shape: [2] }]).data;
    expect(r[0]).toBeCloseTo(Math.log(2), 15);
    const none = evalOp('cross_entropy', { ignoreIndex: -100 }, [logits, { data: Int32Array.of(-100, -100), shape: [2] }]).data;
    expect(none[0]).toBe(0);
  });

  it('dropout: deterministic per (seed, step, index), scaled by 1/(1-p), different per step', () => {
    expect(pcgHash(0)).toBe(129708002); // reference value of pcg_hash(0u)
    const x = { data: new Float64Array(4000).fill(1), shape: [4000] };
    const a = evalOp('dropout', { p: 0.25, seed: 7 }, [x], { step: 0 }).data;
    const again = evalOp('dropout', { p: 0.25, seed: 7 }, [x], { step: 0 }).data;
    const other = evalOp('dropout', { p: 0.25, seed: 7 }, [x], { step: 1 }).data;
    expect(Array.from(a)).toEqual(Array.from(again));
    expect(Array.from(a)).not.toEqual(Array.from(other));
    const kept = a.filter((v) => v !== 0);
    expect(kept.every((v) => v === 1 / 0.75)).toBe(true);
    expect(Math.abs(kept.length / 4000 - 0.75)).toBeLessThan(0.03);
    expect(dropoutHash(7, 0, 0) >>> 8 >= Math.ceil(0.25 * 2 ** 24)).toBe(a[0] !== 0);
  });

  it('reads the dropout step from the "step" input', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [64]);
    b.input('step', 'i32', [1]);
    b.output('y', b.dropout(x, 0.5, 3));
    const ones = new Float64Array(64).fill(1);
    const run = (step: number) => Array.from(interpret(b.graph, { inputs: { x: ones, step: Int32Array.of(step) } }).outputs['y']!);
    expect(run(2)).toEqual(Array.from(evalOp('dropout', { p: 0.5, seed: 3 }, [{ data: ones, shape: [64] }], { step: 2, precision: 'f32' }).data));
    expect(run(2)).not.toEqual(run(3));
  });

  it('adamw updates param and moments in place like torch.optim.AdamW', () => {
    const p = f64(1, -2);
    const m = f64(0, 0);
    const v = f64(0, 0);
    const g = f64(0.5, 0.25);
    const [lr, b1, b2, eps, wd] = [0.1, 0.9, 0.999, 1e-8, 0.01];
    evalOp('adamw', { beta1: b1, beta2: b2, eps, weightDecay: wd }, [
      { data: p, shape: [2] }, { data: g, shape: [2] }, { data: m, shape: [2] }, { data: v, shape: [2] },
      { data: f64(lr, 1 - b1, 1 - b2, 0), shape: [4] }, { data: f64(1), shape: [] },
    ]);
    // Step 1: m̂ = g, v̂ = g², so the update is lr · g / (|g| + eps) after decay.
    expect(p[0]).toBeCloseTo(1 * (1 - lr * wd) - lr * 0.5 / (0.5 + eps), 14);
    expect(p[1]).toBeCloseTo(-2 * (1 - lr * wd) - lr * 0.25 / (0.25 + eps), 14);
    expect(m[0]).toBeCloseTo(0.05, 15);
    expect(v[1]).toBeCloseTo(0.001 * 0.0625, 15);
  });

  it('cache_update writes in place and attention with an offset sees keys up to its position', () => {
    const cache = new Float64Array(4);
    const r = evalOp('cache_update', {}, [{ data: cache, shape: [1, 4, 1] }, { data: f64(5, 6), shape: [1, 2, 1] }, { data: Int32Array.of(1), shape: [1] }]);
    expect(r.data).toBe(cache);
    expect(Array.from(cache)).toEqual([0, 5, 6, 0]);
    const a = { heads: 1, kvHeads: 1, headDim: 1, scale: 1, causal: true };
    const y = evalOp('attention', a, [{ data: f64(0), shape: [1, 1, 1] }, { data: f64(0, 0, 0, 0), shape: [1, 4, 1] }, { data: f64(1, 2, 3, 100), shape: [1, 4, 1] }, { data: Int32Array.of(2), shape: [1] }]).data;
    expect(y[0]).toBeCloseTo(2, 14); // uniform over keys 0..2
  });
});
