import { describe, expect, it } from 'vitest';
import { differentiate } from '../../../compiler/autodiff/differentiate.ts';
import { appendAdamW } from '../../../compiler/optim/adamw.ts';
import { pipeline } from '../../../compiler/passes/pipeline.ts';
import { formatMemoryPlan, planMemory } from '../../../compiler/plan/memory-plan.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Graph } from '../../../compiler/ir/types.ts';
import type { MemoryPlan } from '../../../compiler/plan/types.ts';
import { tinyLlama } from '../autodiff/lora-graph.ts';

const adamw = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 };

function trainingGraph(lora: boolean, fuse = false): Graph {
  const m = tinyLlama({ lora, layers: 2 });
  differentiate(m.b.graph, m.loss);
  appendAdamW(m.b.graph, adamw);
  return pipeline(m.b.graph, { fuse, verify: true });
}

/** No pooled buffer has two tenants alive at once: a tenant starts after the previous one's last reader. */
function checkNoOverlap(g: Graph, plan: MemoryPlan): void {
  const lastUse = g.nodes.map((n) => n.id);
  for (const n of g.nodes) for (const i of n.inputs) lastUse[i] = Math.max(lastUse[i]!, n.id);
  const tenants = new Map<number, number[]>();
  for (const [node, buf] of plan.assignment) tenants.set(buf, [...(tenants.get(buf) ?? []), node]);
  for (const [buf, ts] of tenants) {
    if (plan.buffers[buf]!.persistent) {
      expect(ts.length, plan.buffers[buf]!.label).toBe(1);
      continue;
    }
    ts.sort((a, b) => a - b);
    for (let k = 1; k < ts.length; k++) expect(ts[k]!).toBeGreaterThan(lastUse[ts[k - 1]!]!);
  }
}

describe('planMemory', () => {
  it('a frozen-only model has no gradient and no optimizer-state bytes', () => {
    const g = trainingGraph(false);
    const plan = planMemory(g);
    expect(plan.totals.gradients).toBe(0);
    expect(plan.totals.optimizer_state).toBe(0);
    expect(plan.totals.adapter_weights).toBe(0);
    expect(plan.totals.frozen_weights).toBeGreaterThan(0);
    checkNoOverlap(g, plan);
  });

  for (const fuse of [false, true]) {
    it(`a LoRA model's gradient bytes equal its adapter bytes (fuse ${fuse})`, () => {
      const g = trainingGraph(true, fuse);
      const plan = planMemory(g);
      expect(plan.totals.adapter_weights).toBeGreaterThan(0);
      expect(plan.totals.gradients).toBe(plan.totals.adapter_weights);
      expect(plan.totals.optimizer_state).toBe(2 * plan.totals.adapter_weights);
      expect(plan.totals.activations).toBeGreaterThan(0);
      expect(plan.totalBytes).toBe(Object.values(plan.totals).reduce((a, b) => a + b, 0));
      checkNoOverlap(g, plan);
      // Every node but the adamw placeholders has a buffer; pooling shares some.
      for (const n of g.nodes) expect(plan.assignment.has(n.id)).toBe(n.op !== 'adamw');
      expect(plan.buffers.length).toBeLessThan(g.nodes.length);
      expect(formatMemoryPlan(plan)).toMatch(/gradients/);
    });
  }

  it('attention_stats rows are pooled backward scratch, not activations kept across the step', () => {
    const g = trainingGraph(true);
    const plan = planMemory(g);
    const stats = g.nodes.filter((n) => n.op === 'attention_stats');
    expect(stats.length).toBe(2);
    for (const n of stats) {
      const buf = plan.buffers[plan.assignment.get(n.id)!]!;
      expect([buf.category, buf.persistent]).toEqual(['scratch', false]);
    }
  });

  it('reuses a pooled buffer once the previous tenant is dead', () => {
    const m = tinyLlama({ lora: false });
    const g = pipeline(m.b.graph, { fuse: false });
    const plan = planMemory(g);
    const pooled = plan.buffers.filter((b) => !b.persistent);
    const pooledNodes = [...plan.assignment].filter(([, b]) => !plan.buffers[b]!.persistent).length;
    expect(pooled.length).toBeLessThan(pooledNodes);
    // Inference only: nothing is kept for a backward pass.
    expect(plan.totals.activations).toBe(plan.buffers.filter((b) => b.persistent && b.category === 'activations').reduce((s, b) => s + b.size, 0));
    checkNoOverlap(g, plan);
  });

  it('with reuse off, every value has a buffer of its own under the same categories', () => {
    const g = trainingGraph(true);
    const shared = planMemory(g);
    const own = planMemory(g, { reuse: false });
    const ids = [...own.assignment.values()];
    expect(new Set(ids).size).toBe(ids.length);
    for (const [node, id] of own.assignment) expect(own.buffers[id]!.category, `%${node}`).toBe(shared.buffers[shared.assignment.get(node)!]!.category);
    expect(own.totals.gradients).toBe(shared.totals.gradients);
  });

  it('state is categorized by kind: moments, gradient accumulators, KV caches', () => {
    const b = new GraphBuilder();
    const m = b.state('w.exp_avg', 'w', [4]);
    const acc = b.state('w.grad_accum', 'w', [4], 'grad_accum');
    const kv = b.state('cache.k', 'k', [1, 2, 4], 'kv_cache');
    b.output('y', b.add(b.add(m, acc), b.constant(0, [4])));
    b.output('kv', kv);
    const plan = planMemory(b.graph);
    const category = (id: number) => plan.buffers[plan.assignment.get(id)!]!.category;
    expect([category(m), category(acc), category(kv)]).toEqual(['optimizer_state', 'gradients', 'activations']);
  });
});
