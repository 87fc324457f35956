// WGSL generation without a GPU: every op emits, shader text depends on code-changing attrs but not
// on sizes, emitWgsl deduplicates by key, and a representative set of kernels matches golden files
// byte for byte (UPDATE_GOLDEN=1 rewrites them after an intended change; review the diff).
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { shapeRules, type OpName } from '../../../compiler/ir/ops.ts';
import { emitWgsl, emitNode, emitOp, type OpView } from '../../../compiler/emit/index.ts';
import { opZoo } from './zoo.ts';

const GOLDEN = new URL('./golden/', import.meta.url);
const t = (...shape: number[]) => ({ dtype: 'f32' as const, shape });
const i32 = (...shape: number[]) => ({ dtype: 'i32' as const, shape });

const goldens: [string, OpView][] = [
  ['matmul', { op: 'matmul', attrs: { transA: false, transB: false }, inputs: [t(7, 33), t(33, 65)], out: t(7, 65) }],
  ['matmul_tB_vA_vB', { op: 'matmul', attrs: { transA: false, transB: true }, inputs: [t(8, 32), t(64, 32)], out: t(8, 64) }],
  ['matmul_tA', { op: 'matmul', attrs: { transA: true, transB: false }, inputs: [t(7, 33), t(7, 65)], out: t(33, 65) }],
  ['lowrank_matmul_tB_vA_vB_tL_bias', { op: 'lowrank_matmul', attrs: { transW: true, transL: true, scale: 2, hasBias: true },
    inputs: [t(8, 32), t(64, 32), t(8, 4), t(64, 4), t(64)], out: t(8, 64) }],
  ['attention_causal', { op: 'attention', attrs: { heads: 4, kvHeads: 2, headDim: 16, scale: 0.25, causal: true },
    inputs: [t(1, 7, 64), t(1, 7, 32), t(1, 7, 32)], out: t(1, 7, 64) }],
  ['attention_decode_flat', { op: 'attention', attrs: { heads: 4, kvHeads: 2, headDim: 16, scale: 0.25, causal: true },
    inputs: [t(4, 1, 64), t(4, 9, 32), t(4, 9, 32), i32(1)], out: t(4, 1, 64) }],
  ['attention_stats_causal', { op: 'attention_stats', attrs: { heads: 4, kvHeads: 2, headDim: 16, scale: 0.25, causal: true },
    inputs: [t(1, 7, 64), t(1, 7, 32), t(1, 7, 32), t(1, 7, 64), t(1, 7, 64)], out: t(1, 4, 7, 2) }],
  ['attention_grad_q_causal', { op: 'attention_grad', attrs: { heads: 4, kvHeads: 2, headDim: 16, scale: 0.25, causal: true, wrt: 'q' },
    inputs: [t(1, 7, 64), t(1, 7, 32), t(1, 7, 32), t(1, 7, 64), t(1, 4, 7, 2)], out: t(1, 7, 64) }],
  ['attention_grad_k_causal', { op: 'attention_grad', attrs: { heads: 4, kvHeads: 2, headDim: 16, scale: 0.25, causal: true, wrt: 'k' },
    inputs: [t(1, 7, 64), t(1, 7, 32), t(1, 7, 32), t(1, 7, 64), t(1, 4, 7, 2)], out: t(1, 7, 32) }],
  ['rope_offset', { op: 'rope', attrs: { heads: 2, headDim: 16, rotaryDim: 12, scale: 1.25, transpose: false },
    inputs: [t(1, 3, 32), t(6), i32(1)], out: t(1, 3, 32) }],
  ['gathered_lowrank_base', { op: 'gathered_lowrank', attrs: { hasBase: true },
    inputs: [t(4, 1, 32), t(3, 8, 32), t(3, 64, 8), i32(4), t(4, 1, 64)], out: t(4, 1, 64) }],
  ['rmsnorm', { op: 'rmsnorm', attrs: { eps: 1e-6 }, inputs: [t(7, 33), t(33)], out: t(7, 33) }],
  ['rmsnorm_grad', { op: 'rmsnorm_grad', attrs: { eps: 1e-6 }, inputs: [t(7, 33), t(33), t(7, 33)], out: t(7, 33) }],
  ['cross_entropy', { op: 'cross_entropy', attrs: { ignoreIndex: -100 }, inputs: [t(7, 33), i32(7)], out: t() }],
  ['adamw', { op: 'adamw', attrs: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
    inputs: [t(7), t(7), t(7), t(7), t(4), t()], out: t() }],
];

describe('WGSL codegen', () => {
  it('emits every op of the IR (the zoo graph uses each one)', () => {
    const graph = opZoo();
    const used = new Set(graph.nodes.map((n) => n.op));
    const missing = (Object.keys(shapeRules) as OpName[]).filter((op) => !used.has(op));
    expect(missing).toEqual([]);
    for (const node of graph.nodes) expect(() => emitNode(graph, node), `%${node.id} ${node.op}`).not.toThrow();
  });

  it('emitWgsl prints each kernel once with a header', () => {
    const text = emitWgsl(opZoo());
    const headers = [...text.matchAll(/^\/\/ ---- kernel (\S+) ----/gm)].map((m) => m[1]);
    expect(new Set(headers).size).toBe(headers.length);
    for (const key of ['embedding', 'rmsnorm', 'attention:causal', 'attention:causal:offset', 'adamw', 'dropout:step', 'cross_entropy:rows']) {
      expect(headers).toContain(key);
    }
  });

  it('shader text depends on code-changing attrs, not on sizes or numeric attrs', () => {
    const a = emitOp({ op: 'rmsnorm', attrs: { eps: 1e-6 }, inputs: [t(7, 33), t(33)], out: t(7, 33) }).launches[0]!;
    const b = emitOp({ op: 'rmsnorm', attrs: { eps: 1e-5 }, inputs: [t(2, 9, 300), t(300)], out: t(2, 9, 300) }).launches[0]!;
    expect([a.key, a.code]).toEqual([b.key, b.code]);
    const att = (causal: boolean, T: number) =>
      emitOp({ op: 'attention', attrs: { heads: 2, kvHeads: 1, headDim: 8, scale: 1, causal }, inputs: [t(1, T, 16), t(1, T, 8), t(1, T, 8)], out: t(1, T, 16) }).launches[0]!;
    expect(att(true, 5).code).toBe(att(true, 77).code);
    expect(att(true, 5).key).not.toBe(att(false, 5).key);
    // Few query rows (decoding) pack rows of several (batch, head) pairs into a workgroup.
    expect(att(true, 1).key).toBe('attention:causal:flat');
    expect(att(true, 1).code).toBe(att(true, 3).code);
    // The sliding window is a uniform: windowed and plain attention share one pipeline.
    const win = emitOp({ op: 'attention', attrs: { heads: 2, kvHeads: 1, headDim: 8, scale: 1, causal: true, window: 3 }, inputs: [t(1, 5, 16), t(1, 5, 8), t(1, 5, 8)], out: t(1, 5, 16) }).launches[0]!;
    expect([win.key, win.code]).toEqual([att(true, 5).key, att(true, 5).code]);
    expect(win.uniforms.find(([n]) => n === 'win')![2]).toBe(3);
    // RoPE: one kernel for every variant and rotary dim (the frequencies are a literal input).
    const rope = (rotaryDim: number, scale: number) =>
      emitOp({ op: 'rope', attrs: { heads: 2, headDim: 8, rotaryDim, scale, transpose: false }, inputs: [t(1, 5, 16), t(rotaryDim / 2)], out: t(1, 5, 16) }).launches[0]!;
    expect([rope(8, 1).key, rope(8, 1).code]).toEqual([rope(4, 1.2).key, rope(4, 1.2).code]);
    const un = (fn: 'silu' | 'relu') => emitOp({ op: 'unary', attrs: { fn }, inputs: [t(3)], out: t(3) }).launches[0]!;
    expect(un('silu').key).toBe('unary:silu');
    expect(un('silu').code).not.toBe(un('relu').code);
  });

  it('matches the golden WGSL files', () => {
    const update = process.env.UPDATE_GOLDEN === '1';
    for (const [name, view] of goldens) {
      const emitted = emitOp(view, { hasStep: false });
      const text = emitted.launches.map((l) => `// kernel ${l.key}\n${l.code}`).join('\n');
      const file = new URL(`${name}.wgsl`, GOLDEN);
      if (update || !existsSync(file)) writeFileSync(file, text);
      expect(text, `${name}.wgsl (UPDATE_GOLDEN=1 to rewrite)`).toBe(readFileSync(file, 'utf8'));
    }
  });
});
