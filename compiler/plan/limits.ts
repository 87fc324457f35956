// The device limits a compiled program must respect, checked by the compiler (nothing has run yet):
// every value fits one storage binding (maxStorageBufferBindingSize), every planned buffer fits
// maxBufferSize, every kernel's scratch fits a binding and every dispatch the 2-D workgroup grid.
// A failure is a DeviceLimitError naming the tensor or kernel, its size and the limit, with what to
// change: weights too large are split by the split pass before, so what fails here is usually an
// activation of a large batch.
import { DeviceLimitError } from '../errors.ts';
import type { OpAttrs } from '../ir/ops.ts';
import { shapeToString, type Graph, type Node } from '../ir/types.ts';
import type { NodeKernels } from '../emit/index.ts';
import type { Target } from '../target.ts';
import { bytesOf } from './memory-plan.ts';
import type { MemoryPlan } from './types.ts';

function what(node: Node): string {
  const name = node.op === 'param' || node.op === 'input' || node.op === 'state' ? (node.attrs as { name: string }).name : node.label;
  return `${node.op === 'param' ? 'weight' : node.op === 'input' ? 'input' : node.op === 'state' ? 'state' : 'tensor'} ${name ? `"${name}" ` : ''}(%${node.id} ${node.op}, ${node.type.dtype}${shapeToString(node.type.shape)})`;
}

function hint(node: Node): string {
  if (node.op === 'param') return `weights are split by rows only where every reader can work on chunks (embedding lookups, x·Wᵀ)`;
  if (node.op === 'state' && (node.attrs as OpAttrs['state']).kind === 'kv_cache') return 'use a smaller batch or context length';
  return 'use a smaller --batch or --seq (gradient accumulation, --grad-accum, keeps the effective batch)';
}

/** Throws a DeviceLimitError for the first value or buffer of the plan that the target cannot hold. */
export function checkPlanLimits(graph: Graph, plan: MemoryPlan, target: Target): void {
  const { maxStorageBufferBindingSize: binding, maxBufferSize } = target.limits;
  for (const [id, buffer] of plan.assignment) {
    const node = graph.nodes[id]!;
    const bytes = bytesOf(node);
    if (bytes > binding) throw new DeviceLimitError(what(node), bytes, 'maxStorageBufferBindingSize', binding, hint(node));
    if (plan.buffers[buffer]!.size > maxBufferSize) throw new DeviceLimitError(`buffer "${plan.buffers[buffer]!.label}"`, plan.buffers[buffer]!.size, 'maxBufferSize', maxBufferSize, hint(node));
  }
}

/** Throws a DeviceLimitError for a kernel whose scratch does not fit a binding or whose grid is too large. */
export function checkKernelLimits(graph: Graph, kernels: NodeKernels, target: Target): void {
  const { maxStorageBufferBindingSize: binding, maxComputeWorkgroupsPerDimension: dim } = target.limits;
  kernels.forEach((k, id) => {
    if (!k) return;
    const node = graph.nodes[id]!;
    for (const s of k.scratch) if (s > binding) throw new DeviceLimitError(`the scratch of ${what(node)}`, s, 'maxStorageBufferBindingSize', binding, hint(node));
    for (const l of k.launches) {
      // A linear count folds into a 2-D grid (dim² at most); an explicit grid must fit as it is.
      const over = typeof l.workgroups === 'number' ? (l.workgroups > dim * dim ? l.workgroups : 0) : Math.max(0, ...l.workgroups.filter((g) => g > dim));
      if (over > 0) {
        const limit = typeof l.workgroups === 'number' ? dim * dim : dim;
        throw new DeviceLimitError(`kernel ${l.key} of ${what(node)}`, over, `maxComputeWorkgroupsPerDimension${typeof l.workgroups === 'number' ? '²' : ''}`, limit, hint(node), 'workgroups');
      }
    }
  });
}
