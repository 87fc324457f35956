// Memory planning: which GPU buffer holds each node's result.
//  - schedule: graph order (the runtime runs nodes in that order);
//  - persistent buffers, never shared: params (by role), optimizer state, inputs, literals (the
//    compiler's constants, uploaded once), the gradients named in graph.grads, and graph outputs
//    (the runtime reads them after the step);
//  - every other result takes a buffer from a pool keyed by (category, size bucket: the next power of
//    two); a buffer returns to its pool after the last reader of its tenant has run, and is handed
//    out only to nodes scheduled later, so a node never writes a buffer it is still reading;
//  - categories of pooled buffers: 'activations' for forward results read by the backward part
//    (what training keeps alive across the step), 'scratch' for everything else. The forward part is
//    what the graph outputs (loss, logits) depend on; the rest (gradients, optimizer) is backward;
//  - adamw results are placeholders and get no buffer; in-place ops (cache_update, grad_accumulate)
//    share the buffer of the tensor they write;
//  - memoryCategory decides every category, here only: the GPU program allocates by the plan;
//  - with { reuse: false } nothing is pooled: one buffer per value (every value readable after a run).
import { IN_PLACE_OPS } from '../ir/ops.ts';
import type { OpAttrs } from '../ir/ops.ts';
import { dtypeBytes, numel, type Graph, type Node } from '../ir/types.ts';
import type { MemoryCategory, MemoryPlan, PlannedBuffer } from './types.ts';

export const MEMORY_CATEGORIES: readonly MemoryCategory[] = [
  'frozen_weights',
  'adapter_weights',
  'trainable_weights',
  'gradients',
  'optimizer_state',
  'activations',
  'scratch',
  'inputs',
  'constants',
];

/** Bytes of a node's buffer: its elements at their dtype's size (2 for 16-bit weights), rounded up to 16. */
export function bytesOf(node: Node): number {
  return Math.ceil((numel(node.type.shape) * dtypeBytes(node.type.dtype)) / 16) * 16;
}

function bucketOf(size: number): number {
  let b = 16;
  while (b < size) b *= 2;
  return b;
}

/** What a buffer's category depends on beyond its node, computed once per graph by planMemory. */
export interface CategoryFacts {
  /** Gradients the graph names (graph.grads): read after the step. */
  grads: ReadonlySet<number>;
  /** Graph outputs: read after the step. */
  outputs: ReadonlySet<number>;
  /** forwardPart(graph). */
  forward: readonly boolean[];
  /** Whether each node's last reader is in the forward part. */
  lastReaderForward: readonly boolean[];
}

/**
 * The memory category of the buffer that holds `node`'s result, and whether it persists across
 * runs: the one place this is decided (the GPU program allocates every planned buffer under the
 * plan's category). Persistent: parameters by role, state by kind (KV caches are activations kept
 * between decoding runs, accumulators are gradients), inputs, literals ('constants'), named
 * gradients and graph outputs.
 * Otherwise 'activations' for forward results read by the backward part, 'scratch' for the rest.
 */
export function memoryCategory(node: Node, facts: CategoryFacts): { category: MemoryCategory; persistent: boolean } {
  const persistent = (category: MemoryCategory) => ({ category, persistent: true });
  switch (node.op) {
    case 'param': {
      const role = (node.attrs as OpAttrs['param']).role;
      return persistent(role === 'frozen' ? 'frozen_weights' : role === 'adapter' ? 'adapter_weights' : 'trainable_weights');
    }
    case 'state': {
      const kind = (node.attrs as OpAttrs['state']).kind ?? 'optimizer';
      return persistent(kind === 'grad_accum' ? 'gradients' : kind === 'kv_cache' ? 'activations' : 'optimizer_state');
    }
    case 'input':
      return persistent('inputs');
    case 'literal':
      // The compiler's constants (RoPE frequencies): written once when the program is created.
      return persistent('constants');
  }
  if (facts.grads.has(node.id)) return persistent('gradients');
  if (facts.outputs.has(node.id)) return persistent('activations');
  return { category: facts.forward[node.id] && !facts.lastReaderForward[node.id] ? 'activations' : 'scratch', persistent: false };
}

/** Nodes the graph outputs depend on: the forward part. */
export function forwardPart(graph: Graph): boolean[] {
  const fwd = new Array<boolean>(graph.nodes.length).fill(false);
  for (const id of Object.values(graph.outputs)) fwd[id] = true;
  for (let id = graph.nodes.length - 1; id >= 0; id--) if (fwd[id]) for (const i of graph.nodes[id]!.inputs) fwd[i] = true;
  return fwd;
}

export interface PlanOptions {
  /**
   * Share buffers between values whose lifetimes do not overlap (default true). Off: one buffer
   * per value, so that every value can be read after a run (kernel tests, debugging).
   */
  reuse?: boolean;
}

export function planMemory(graph: Graph, options: PlanOptions = {}): MemoryPlan {
  const reuse = options.reuse ?? true;
  const nodes = graph.nodes;
  const schedule = nodes.map((n) => n.id);
  const fwd = forwardPart(graph);

  // Liveness: the position of each node's last reader (its own position when nothing reads it).
  // In-place results alias what they write, so reading them keeps that tenant alive.
  const root = nodes.map((n) => n.id);
  for (const n of nodes) if (IN_PLACE_OPS.has(n.op)) root[n.id] = root[n.inputs[0]!]!;
  const lastUse = nodes.map((n) => n.id);
  const lastReaderFwd = new Array<boolean>(nodes.length).fill(true);
  for (const n of nodes) {
    for (const i of n.inputs) {
      const r = root[i]!;
      if (n.id >= lastUse[r]!) {
        lastUse[r] = n.id;
        lastReaderFwd[r] = fwd[n.id]!;
      }
    }
  }
  const facts: CategoryFacts = {
    grads: new Set(Object.values(graph.grads)),
    outputs: new Set(Object.values(graph.outputs)),
    forward: fwd,
    lastReaderForward: lastReaderFwd,
  };

  const buffers: PlannedBuffer[] = [];
  const assignment = new Map<number, number>();
  const free = new Map<string, number[]>();
  const releaseAt = new Map<number, number[]>();
  const newBuffer = (size: number, category: MemoryCategory, persistent: boolean, label: string): number => {
    buffers.push({ id: buffers.length, size, category, persistent, label });
    return buffers.length - 1;
  };

  for (const node of nodes) {
    const t = node.id;
    if (node.op === 'adamw') {
      // placeholder result: no buffer
    } else if (IN_PLACE_OPS.has(node.op)) {
      const target = assignment.get(root[t]!);
      if (target !== undefined) assignment.set(t, target);
    } else {
      const label = node.label ?? `%${t} ${node.op}`;
      const { category, persistent } = memoryCategory(node, facts);
      if (persistent) {
        assignment.set(t, newBuffer(bytesOf(node), category, true, label));
      } else if (!reuse) {
        assignment.set(t, newBuffer(bytesOf(node), category, false, label));
      } else {
        const size = bucketOf(bytesOf(node));
        const key = `${category}:${size}`;
        const pool = free.get(key);
        const id = pool && pool.length > 0 ? pool.pop()! : newBuffer(size, category, false, label);
        assignment.set(t, id);
        const at = lastUse[t]!;
        releaseAt.set(at, [...(releaseAt.get(at) ?? []), t]);
      }
    }
    // After node t runs, buffers whose tenant's last reader was t return to their pools.
    for (const tenant of releaseAt.get(t) ?? []) {
      const b = buffers[assignment.get(tenant)!]!;
      const key = `${b.category}:${b.size}`;
      free.set(key, [...(free.get(key) ?? []), b.id]);
    }
  }

  const totals = Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, 0])) as Record<MemoryCategory, number>;
  for (const b of buffers) totals[b.category] += b.size;
  return { buffers, assignment, schedule, totals, totalBytes: buffers.reduce((s, b) => s + b.size, 0) };
}

/** A one-line-per-category summary for `rankfold compile --emit plan`. */
export function formatMemoryPlan(plan: MemoryPlan): string {
  const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
  const lines = MEMORY_CATEGORIES.filter((c) => plan.totals[c] > 0).map((c) => `${c.padEnd(18)} ${kib(plan.totals[c]).padStart(12)}`);
  lines.push(`${'total'.padEnd(18)} ${kib(plan.totalBytes).padStart(12)}  (${plan.buffers.length} buffers for ${plan.schedule.length} nodes)`);
  return lines.join('\n') + '\n';
}

/**
 * The memory plan in bytes by category (exact numbers, for scripts), with KiB alongside for people:
 * what `rankfold compile --emit plan` prints and the playground shows. The last line, `peak bytes: N`,
 * is the plan's peak: every planned buffer (weights, adapters, gradients, optimizer state,
 * activations, scratch, inputs) after liveness sharing, which the GPU program allocates at once (its
 * executor adds kernel scratch, uniforms and readback).
 */
export function formatPlanBytes(plan: MemoryPlan): string {
  const row = (name: string, bytes: number) => `${name.padEnd(18)} ${String(bytes).padStart(14)} B ${`(${(bytes / 1024).toFixed(1)} KiB)`.padStart(16)}`;
  const lines = MEMORY_CATEGORIES.filter((c) => plan.totals[c] > 0).map((c) => row(c, plan.totals[c]));
  lines.push(row('total', plan.totalBytes) + `  ${plan.buffers.length} buffers for ${plan.schedule.length} nodes`);
  lines.push(`peak bytes: ${plan.totalBytes}`);
  return lines.join('\n') + '\n';
}
