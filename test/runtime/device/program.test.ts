// A whole training step end to end: embedding -> rmsnorm -> LoRA q projection (lowrank_matmul) ->
// rope -> grouped-query causal attention -> dropout -> output projection -> cross_entropy, then
// autodiff and AdamW, on the GPU (with and without the memory plan) against the interpreter in f64.
// Tolerances: loss rtol 1e-5; gradients and updated adapters rtol 1e-3 / atol 1e-5 (a chain of ~20
// f32 kernels, attention gradients subtract row dots); AdamW turns gradient errors into update
// errors scaled by lr, so parameters are compared at atol 1e-6.
import { defaultInvFreq } from '../../../compiler/lower/rope.ts';
import { describe, expect } from 'vitest';
import { gpuTest } from '../../helpers/gpu.ts';
import { expectClose, gpuProgram, rand, randInt } from '../../compiler/emit/gpu/op-harness.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Graph } from '../../../compiler/ir/types.ts';
import { interpret } from '../../../compiler/ir/interp.ts';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { appendAdamW, optimHyper } from '../../../compiler/optim/adamw.ts';
import { BufferPool } from '../../../runtime/device/buffer-pool.ts';
import { GpuProgram } from '../../../runtime/device/program.ts';
import { targetFor } from '../../../runtime/device/target.ts';
import { compileGraph } from '../../../compiler/compile.ts';
import { makeTarget } from '../../../compiler/target.ts';
import type { GpuContext } from '../../../runtime/device/device.ts';

const B = 2, T = 7, V = 29, D = 32, H = 4, KVH = 2, HD = 8, R = 4;

function buildGraph(): { graph: Graph; params: Record<string, number[]> } {
  const b = new GraphBuilder();
  const tokens = b.input('tokens', 'i32', [B, T]);
  const labels = b.input('labels', 'i32', [B, T]);
  b.input('step', 'i32', [1]);
  const shapes: Record<string, number[]> = {
    embed: [V, D], norm: [D], wq: [H * HD, D], wk: [KVH * HD, D], wv: [KVH * HD, D], wo: [V, H * HD],
    'q.lora_A': [R, D], 'q.lora_B': [H * HD, R],
  };
  const p = (name: string) => b.param(name, shapes[name]!, name.includes('lora') ? 'adapter' : 'frozen');
  const x = b.rmsnorm(b.embedding(p('embed'), tokens), p('norm'), 1e-6, 'x');
  const s = b.matmul(x, p('q.lora_A'), true, 'q.s');
  const q = b.emit('lowrank_matmul', [x, p('wq'), s, p('q.lora_B')], { transW: true, transL: true, scale: 2, hasBias: false }, 'q');
  const k = b.matmul(x, p('wk'), true, 'k');
  const v = b.matmul(x, p('wv'), true, 'v');
  const invFreq = b.literal('rope.inv_freq', defaultInvFreq(10000, HD));
  const qr = b.rope(q, invFreq, { heads: H, headDim: HD });
  const kr = b.rope(k, invFreq, { heads: KVH, headDim: HD });
  const att = b.attention(qr, kr, v, { heads: H, kvHeads: KVH, headDim: HD, scale: 1 / Math.sqrt(HD), causal: true });
  const dropped = b.dropout(att, 0.2, 99, 'attn.drop');
  const logits = b.matmul(dropped, p('wo'), true, 'logits');
  const loss = b.crossEntropy(logits, labels);
  b.output('loss', loss);
  const graph = differentiate(b.graph, loss);
  appendAdamW(graph, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 });
  return { graph, params: shapes };
}

function feedsFor(shapes: Record<string, number[]>) {
  const params: Record<string, Float32Array> = {};
  Object.entries(shapes).forEach(([name, shape], i) => {
    params[name] = rand(shape.reduce((a, c) => a * c, 1), 100 + i, -0.5, 0.5).map((x) => (name === 'norm' ? 1 + x : x));
  });
  const labels = randInt(B * T, 7, V);
  labels[3] = -100;
  return {
    params,
    inputs: { tokens: randInt(B * T, 5, V), labels, step: Int32Array.of(3), optim: optimHyper(1e-2, 3, { beta1: 0.9, beta2: 0.999 }) },
  };
}

async function runStep(gpu: GpuContext, graph: Graph, plan: boolean, feeds: ReturnType<typeof feedsFor>) {
  const program = await gpuProgram(gpu, graph, { reuseBuffers: plan });
  for (const [n, d] of Object.entries(feeds.params)) program.setParam(n, d);
  for (const [n, d] of Object.entries(feeds.inputs)) program.setInput(n, d);
  program.run();
  return program;
}

describe('GpuProgram', () => {
  gpuTest('a LoRA training step matches the interpreter, with and without the memory plan', async (gpu) => {
    const { graph, params } = buildGraph();
    const feeds = feedsFor(params);
    // Oracle: f64 copies (adamw updates params and state in place).
    const p64 = Object.fromEntries(Object.entries(feeds.params).map(([n, d]) => [n, Float64Array.from(d)]));
    const state64: Record<string, Float64Array> = {};
    for (const n of graph.nodes) if (n.op === 'state') state64[(n.attrs as { name: string }).name] = new Float64Array(n.type.shape.reduce((a, c) => a * c, 1));
    const ref = interpret(graph, { params: p64, state: state64, inputs: feeds.inputs }, { precision: 'f64' });

    for (const plan of [false, true]) {
      const program = await runStep(gpu, graph, plan, feeds);
      expectClose(await program.read('loss'), ref.outputs.loss!, { rtol: 1e-5 }, `loss (plan ${plan})`);
      for (const [name, id] of Object.entries(graph.grads)) {
        expectClose(await program.read(id), ref.grads[name]!, { rtol: 1e-3, atol: 1e-5 }, `grad ${name} (plan ${plan})`);
      }
      for (const name of ['q.lora_A', 'q.lora_B']) {
        expectClose(await program.getParam(name), p64[name]!, { rtol: 1e-4, atol: 1e-6 }, `updated ${name} (plan ${plan})`);
        expectClose(await program.getState(`${name}.exp_avg`), state64[`${name}.exp_avg`]!, { rtol: 1e-3, atol: 1e-7 }, `exp_avg ${name}`);
      }
      // Frozen weights are untouched.
      expect(Array.from(await program.getParam('wq'))).toEqual(Array.from(feeds.params.wq!));
      const stats = program.stats;
      expect(stats.pipelinesCreatedLastRun).toBe(0);
      program.run();
      expect(program.stats.pipelinesCreatedLastRun).toBe(0);
      expect(program.stats.runs).toBe(2);
      console.log(`plan=${plan}: ${stats.dispatchesPerRun} dispatches, ${stats.kernels} kernels, peak ${stats.peakBytes} B`, JSON.stringify(stats.bytes));
      program.destroy();
    }
  });

  gpuTest('a second program of the same graph compiles no pipeline', async (gpu) => {
    const { graph, params } = buildGraph();
    const feeds = feedsFor(params);
    (await runStep(gpu, graph, true, feeds)).destroy();
    const second = await runStep(gpu, graph, true, feeds);
    expect(second.stats.pipelinesCreatedAtCreate).toBe(0);
    expect(second.stats.pipelinesCreatedLastRun).toBe(0);
    second.destroy();
  });

  gpuTest('more than 65535 workgroups fold into a 2-D grid', async (gpu) => {
    // rmsnorm of short rows runs 64 rows per workgroup: 65537·64 + 1 rows of 2 need 65538 workgroups.
    const rows = 65537 * 64 + 1;
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [rows, 2]);
    b.output('y', b.rmsnorm(x, b.constant(1, [2]), 1e-6));
    const program = await gpuProgram(gpu, b.graph);
    const data = rand(rows * 2, 3);
    program.setInput('x', data);
    program.run();
    const grid = program.launches.find((l) => l.key === 'rmsnorm')!.grid;
    expect(grid[1]).toBeGreaterThan(1);
    const y = await program.read('y');
    const ref = interpret(b.graph, { inputs: { x: Float64Array.from(data) } }, { precision: 'f64' }).outputs.y!;
    expectClose(y, ref, {}, 'rmsnorm 2-D grid');
    program.destroy();
  });

  gpuTest('reads are checked: unknown outputs and wrong dtypes throw', async (gpu) => {
    const b = new GraphBuilder();
    b.output('y', b.scale(b.input('x', 'f32', [3]), 2));
    const program = await gpuProgram(gpu, b.graph);
    expect(() => program.setInput('x', new Int32Array(3))).toThrow(/f32/);
    expect(() => program.setInput('x', new Float32Array(4))).toThrow(/3 values/);
    await expect(program.read('nope')).rejects.toThrow(/no output/);
    program.destroy();
  });

  gpuTest('a program compiled for limits the device lacks is refused by name', async (gpu) => {
    const b = new GraphBuilder();
    b.output('y', b.scale(b.input('x', 'f32', [3]), 2));
    const over = makeTarget('cpu', { limits: { maxComputeWorkgroupsPerDimension: gpu.limits.maxComputeWorkgroupsPerDimension + 1 } });
    await expect(GpuProgram.create(gpu, compileGraph(b.graph, { target: over }))).rejects.toThrow(/compiled for maxComputeWorkgroupsPerDimension \d+, but .* has \d+/);
    const program = await GpuProgram.create(gpu, compileGraph(b.graph, { target: targetFor(gpu) }));
    expect(program.target.limits.maxBufferSize).toBe(gpu.limits.maxBufferSize);
    program.destroy();
  });

  gpuTest('the buffer pool reuses a released buffer only after a submit', async (gpu) => {
    const pool = new BufferPool(gpu.device);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    const a = pool.acquire(1000, usage);
    expect(a.size).toBe(1024);
    pool.release(a);
    const b = pool.acquire(900, usage);
    expect(b).not.toBe(a);
    pool.release(b);
    pool.submitted();
    expect([a, b]).toContain(pool.acquire(1024, usage));
    expect(pool.created).toBe(2);
    pool.destroy();
  });

  gpuTest('repeated reads reuse one staging buffer', async (gpu) => {
    const b = new GraphBuilder();
    b.output('y', b.scale(b.input('x', 'f32', [100]), 2));
    const program = await gpuProgram(gpu, b.graph);
    program.setInput('x', rand(100, 1));
    program.run();
    for (let i = 0; i < 3; i++) await program.read('y');
    expect(program.stats.bytes.readback).toBe(512);
    program.destroy();
  });
});
