// The split pass and the storage pass on a tiny Llama whose embedding (and tied LM head) is larger
// than a 4 KiB binding: the chunked program computes what the unsplit one does (logits, loss, the
// adapters' gradients, a training step, full fine-tuning's embedding gradient), every value of it
// fits the binding, and what cannot be split is a DeviceLimitError naming the tensor and the limit.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { compile, type GraphMode } from '../../../compiler/compile.ts';
import { DeviceLimitError } from '../../../compiler/errors.ts';
import type { OpAttrs } from '../../../compiler/ir/ops.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { bytesOf } from '../../../compiler/plan/memory-plan.ts';
import { makeTarget } from '../../../compiler/target.ts';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { InterpExecutor } from '../../../runtime/exec/interp-executor.ts';
import { getWeight } from '../../../runtime/exec/weight-slots.ts';
import { EXAMPLES_DIR, loadSpec } from '../../../runtime/model/load-spec.ts';
import { setWeights } from '../../../runtime/model/weights.ts';
import type { Executor } from '../../../runtime/exec/executor.ts';
import { LIMIT, SHAPE, TINY_TARGET, feed, tinyLlama, weightsFor } from '../../helpers/tiny-split.ts';

function interp(model: CheckedModel, mode: GraphMode, split: boolean, full = false): Executor {
  const program = compile(model, { mode, ...SHAPE, cacheLen: 8, fullFinetune: full, ...(split ? { target: TINY_TARGET } : {}), stopAfter: 'passes' });
  verifyGraph(program.graph);
  const exec = new InterpExecutor(program.graph, 'f64');
  for (const w of weightsFor(model)) setWeights(exec, w);
  feed(exec);
  return exec;
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = 1e-9): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)))) throw new Error(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

/** A weight's gradient, its chunks' gradients joined. */
async function grad(exec: Executor, weight: string): Promise<Float32Array> {
  return getWeight(exec, weight, (p) => exec.readGrad(p));
}

describe('split pass', () => {
  for (const tie of [false, true]) {
    it(`splits ${tie ? 'a tied embedding and LM head' : 'an embedding and an LM head'} into chunks that fit, and computes what the unsplit program does`, async () => {
      const model = tinyLlama(tie);
      const program = compile(model, { mode: 'train', ...SHAPE, target: TINY_TARGET });
      const chunks = program.graph.nodes.filter((n) => n.op === 'param' && (n.attrs as OpAttrs['param']).rows);
      const names = chunks.map((n) => (n.attrs as OpAttrs['param']).name);
      expect(names).toContain('model.embed_tokens.weight[0:60]');
      expect(names.filter((n) => n.startsWith('lm_head.weight'))).toHaveLength(tie ? 0 : 5);
      expect(names.filter((n) => n.startsWith('model.embed_tokens.weight'))).toHaveLength(5);
      for (const id of program.plan.assignment.keys()) expect(bytesOf(program.graph.nodes[id]!)).toBeLessThanOrEqual(LIMIT);
      expect(program.graph.nodes.filter((n) => n.op === 'logit_stats')).toHaveLength(5);

      const [a, b] = [interp(model, 'train', true), interp(model, 'train', false)];
      a.run();
      b.run();
      close(await a.read('loss'), await b.read('loss'), 'loss');
      for (const p of Object.keys(b.graph.grads)) close(await a.readGrad(p), await b.readGrad(p), `grad ${p}`);
      // After the AdamW step the adapters agree too.
      for (const p of Object.keys(b.graph.grads)) close(await a.getParam(p), await b.getParam(p), `updated ${p}`);
      for (const mode of ['eval', 'decode'] as const) {
        const [x, y] = [interp(model, mode, true), interp(model, mode, false)];
        x.run();
        y.run();
        expect(x.graph.outputParts?.['logits']).toHaveLength(5);
        close(await x.read('logits'), await y.read('logits'), `${mode} logits`);
      }
    });
  }

  it('full fine-tuning trains the chunks: per-chunk gradients join to the unsplit gradient', async () => {
    const model = tinyLlama(true);
    const [a, b] = [interp(model, 'train', true, true), interp(model, 'train', false, true)];
    a.run();
    b.run();
    close(await a.read('loss'), await b.read('loss'), 'loss');
    expect(Object.keys(a.graph.grads)).toContain('model.embed_tokens.weight[60:120]');
    close(await grad(a, 'model.embed_tokens.weight'), await grad(b, 'model.embed_tokens.weight'), 'embedding grad');
    close(await getWeight(a, 'model.embed_tokens.weight'), await getWeight(b, 'model.embed_tokens.weight'), 'updated embedding');
  });

  it('cuts an LM head finer when its logits would not fit one binding per chunk', () => {
    // 2 x 16 = 32 logit rows: at 4 KiB a chunk holds at most 32 columns of f32 logits (not 60).
    const program = compile(tinyLlama(false), { mode: 'train', batch: 2, seq: 16, target: TINY_TARGET });
    const head = program.graph.nodes.filter((n) => n.op === 'param' && (n.attrs as OpAttrs['param']).rows?.of === 'lm_head.weight');
    expect(head).toHaveLength(10);
    expect(Math.max(...head.map((n) => n.type.shape[0]!))).toBe(30);
    for (const id of program.plan.assignment.keys()) expect(bytesOf(program.graph.nodes[id]!)).toBeLessThanOrEqual(LIMIT);
  });

  it('refuses what it cannot split, and values over the limit, naming the tensor, its size and the limit', () => {
    const model = tinyLlama(false);
    // At 1 KiB the MLP weights are split too, and down_proj would read a split activation whole.
    const tiny = makeTarget('cpu', { limits: { maxStorageBufferBindingSize: 1024 } });
    expect(() => compile(model, { mode: 'train', ...SHAPE, target: tiny })).toThrow(DeviceLimitError);
    expect(() => compile(model, { mode: 'train', ...SHAPE, target: tiny })).toThrow(/maxStorageBufferBindingSize of 1,024 bytes/);
    // A batch whose activations exceed the binding: named, with the limit and what to change.
    let err: unknown;
    try {
      compile(model, { mode: 'train', batch: 64, seq: 16, target: TINY_TARGET });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeviceLimitError);
    expect((err as Error).message).toMatch(/^(tensor|input) .* needs [\d,]+ bytes .*, more than the device's maxStorageBufferBindingSize of 4,096 bytes \(4\.0 KiB\): use a smaller --batch or --seq/);
  });

  it('keeps frozen weight matrices 16-bit (half the bytes) with no cast where every reader widens them', () => {
    const model = tinyLlama(false);
    const dtypes = Object.fromEntries(model.weights.map((w) => [w.name, 'bf16' as const]));
    const f32 = compile(model, { mode: 'train', ...SHAPE });
    const bf16 = compile(model, { mode: 'train', ...SHAPE, paramDtypes: dtypes });
    const matrices = model.weights.filter((w) => w.role === 'frozen' && w.shape.length === 2).reduce((a, w) => a + w.numel, 0);
    expect(f32.plan.totals.frozen_weights - bf16.plan.totals.frozen_weights).toBe(matrices * 2);
    const params = bf16.graph.nodes.filter((n) => n.op === 'param').map((n) => n.attrs as OpAttrs['param']);
    expect(params.filter((p) => p.dtype === 'bf16').map((p) => p.name).sort()).toEqual(model.weights.filter((w) => w.role === 'frozen' && w.shape.length === 2).map((w) => w.name).sort());
    // Norm scales stay f32; adapters are f32; nothing needs a cast in Llama.
    expect(params.find((p) => p.name === 'model.norm.weight')?.dtype).toBeUndefined();
    expect(bf16.graph.nodes.some((n) => n.op === 'cast')).toBe(false);
    // Full fine-tuning trains f32 weights: nothing is 16-bit.
    const full = compile(model, { mode: 'train', ...SHAPE, fullFinetune: true, paramDtypes: dtypes });
    expect(full.graph.nodes.some((n) => n.op === 'param' && (n.attrs as OpAttrs['param']).dtype)).toBe(false);
    // A 16-bit weight chunks at half the bytes: 3 chunks of 100 rows (128 fit) instead of 5 of 60.
    const split = compile(model, { mode: 'train', ...SHAPE, paramDtypes: dtypes, target: TINY_TARGET });
    expect(split.graph.nodes.filter((n) => n.op === 'param' && (n.attrs as OpAttrs['param']).rows?.of === 'model.embed_tokens.weight')).toHaveLength(3);
  });

  it('inserts one cast for a 16-bit weight read by an op that cannot widen it (DoRA reads W whole)', () => {
    const model = loadSpec(join(EXAMPLES_DIR, 'llama.rf'), { overrides: { vocab: 40, d: 16, layers: 1, heads: 2, kv_heads: 1, hidden: 24 } });
    const dora = { ...model, ops: model.ops.map((o) => (o.op === 'linear' && o.lora ? { ...o, lora: { ...o.lora, dora: true } } : o)) };
    const dtypes = Object.fromEntries(model.weights.map((w) => [w.name, 'f16' as const]));
    const g = compile(dora as CheckedModel, { mode: 'eval', ...SHAPE, paramDtypes: dtypes, stopAfter: 'passes' }).graph;
    verifyGraph(g);
    const casts = g.nodes.filter((n) => n.op === 'cast');
    expect(casts.map((c) => c.label)).toEqual(expect.arrayContaining(['model.layers.0.self_attn.q_proj.weight.f32', 'model.layers.0.self_attn.v_proj.weight.f32']));
    expect(casts).toHaveLength(2);
  });
});
