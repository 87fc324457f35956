// The split pass: a weight larger than one GPU binding (maxStorageBufferBindingSize; a 152k-vocab
// embedding is 272 MB in bf16, lavapipe binds 128 MiB) becomes row chunks that each fit, and the ops
// that read it are rewritten to work chunk by chunk:
//   - embedding(table, ids): one lookup per chunk (ids outside a chunk give zeros), summed;
//   - matmul(x, W, transB) (an LM head, W [vocab, d]): one product per chunk, each giving a column
//     range of the result (a "split value"), never joined on the device, so that [batch, seq, vocab]
//     logits need not fit one binding either (chunks are small enough for their logits to fit too);
//   - readers of a split value: cross_entropy becomes online-logsumexp statistics chained over the
//     chunks (logit_stats) and cross_entropy_chunked, whose gradient goes to each chunk; element-wise
//     ops (add/sub/mul/div, unary, scale) apply per chunk, slicing a full-width other operand; a
//     serving graph's gathered_lowrank over a split product applies per chunk with its slice of the
//     stacked B; a graph output becomes parts (graph.outputParts), which executors join when it is read.
// Any other reader of a chunked weight or split value is a DeviceLimitError naming both, as is a
// stacked adapter buffer (gathered_lowrank reads it whole) over the limit. It runs right
// after lowering, so autodiff differentiates the chunked graph: a trained chunked weight (full
// fine-tuning) gets per-chunk gradients and optimizer state. Chunk parameters are named
// `<weight>[start:end]` and carry their row range (param attrs `rows`) for the runtime to fill.
import { GraphBuilder, type Value } from '../ir/builder.ts';
import type { OpAttrs } from '../ir/ops.ts';
import { dtypeBytes, numel, shapeToString, type Graph, type Node } from '../ir/types.ts';
import { DeviceLimitError } from '../errors.ts';
import { storageDtype, type ParamDtypes } from './storage.ts';
import { isLeaf } from './rewrite.ts';

export interface SplitOptions {
  /** Bytes one binding may hold (the target's maxStorageBufferBindingSize). */
  limit: number;
  /** How base weights are stored (a 16-bit weight needs half the bytes). */
  paramDtypes?: ParamDtypes;
}

/** A value held as column ranges of its last axis: parts[i] holds columns [starts[i], starts[i] + sizes[i]). */
interface Split {
  parts: Value[];
  starts: number[];
  sizes: number[];
  total: number;
}

const LIMIT_NAME = 'maxStorageBufferBindingSize';

/** The name of rows [start, end) of weight `name`. */
export function chunkName(name: string, start: number, end: number): string {
  return `${name}[${start}:${end}]`;
}

/** Row ranges of at most `perChunk` rows each, as even as possible. */
function rowRanges(rows: number, perChunk: number): [number, number][] {
  const k = Math.ceil(rows / perChunk);
  const size = Math.ceil(rows / k);
  const out: [number, number][] = [];
  for (let s = 0; s < rows; s += size) out.push([s, Math.min(rows, s + size)]);
  return out;
}

function describe(node: Node): string {
  return `%${node.id} ${node.op}${node.label ? ` (${node.label})` : ''}`;
}

export function splitOversized(graph: Graph, o: SplitOptions): Graph {
  // Buffers are allocated in multiples of 16 bytes: a chunk must fit after that rounding too.
  const room = Math.floor(o.limit / 16) * 16;
  const bytes = (n: Node) => numel(n.type.shape) * dtypeBytes(n.op === 'param' ? storageDtype(n.attrs as OpAttrs['param'], o.paramDtypes) : n.type.dtype);
  const oversized = graph.nodes.filter((n) => n.op === 'param' && bytes(n) > room);
  if (oversized.length === 0) return graph;
  // A prefill's KV-cache writes (kvOnly) are effects too; an optimizer's are not yet there.
  if (Object.keys(graph.grads).length > 0 || graph.effects.some((id) => graph.nodes[id]!.op !== 'cache_update')) throw new Error('split: runs before autodiff and the optimizer');

  const users: number[][] = graph.nodes.map(() => []);
  for (const n of graph.nodes) for (const i of n.inputs) users[i]!.push(n.id);
  const b = new GraphBuilder();
  const map = new Map<number, Value>();
  const chunked = new Map<number, Split>(); // old param id -> its chunk params (split along rows)
  const split = new Map<number, Split>(); // old node id -> a value held as column ranges
  const tooLarge = (n: Node, why: string) => new DeviceLimitError(`${n.op === 'param' ? `weight "${(n.attrs as OpAttrs['param']).name}"` : describe(n)} ${shapeToString(n.type.shape)}`, bytes(n), LIMIT_NAME, o.limit, why);

  // Each node of the input graph, rewritten (its nodes in the new graph keep its block: recompute).
  const visit = (node: Node): void => {
    if (node.op === 'param' && bytes(node) > room) {
      // Stacked adapters (serving) are read whole, each row's adapter picked at run time: not split.
      const stacking = users[node.id]!.map((u) => graph.nodes[u]!).find((u) => u.op === 'gathered_lowrank' && (u.inputs[1] === node.id || u.inputs[2] === node.id));
      if (stacking) throw tooLarge(node, `${describe(stacking)} reads these stacked adapters whole: fewer adapter slots or a lower maximum rank fit`);
      const a = node.attrs as OpAttrs['param'];
      const rows = a.shape[0]!;
      const rowBytes = bytes(node) / rows;
      if (a.shape.length < 2 || rowBytes > room) throw tooLarge(node, 'not even one row fits, so it cannot be split by rows');
      // An LM head's product gives one column of the result per weight row: its chunks must fit too.
      let perChunk = Math.floor(room / rowBytes);
      for (const user of users[node.id]!) {
        const u = graph.nodes[user]!;
        if (u.op !== 'matmul' || u.inputs[1] !== node.id) continue;
        const outRows = numel(u.type.shape) / u.type.shape[u.type.shape.length - 1]!;
        perChunk = Math.min(perChunk, Math.floor(room / (outRows * dtypeBytes(u.type.dtype))));
      }
      if (perChunk < 1) throw tooLarge(node, 'one column of its product with the activations does not fit: use a smaller --batch or --seq');
      const ranges = rowRanges(rows, perChunk);
      const parts = ranges.map(([s, e]) => b.param(chunkName(a.name, s, e), [e - s, ...a.shape.slice(1)], a.role, { rows: { of: a.name, start: s, total: rows } }));
      chunked.set(node.id, { parts, starts: ranges.map(([s]) => s), sizes: ranges.map(([s, e]) => e - s), total: rows });
      return;
    }
    const w = node.inputs.findIndex((i) => chunked.has(i));
    if (w >= 0) {
      const c = chunked.get(node.inputs[w]!)!;
      const param = graph.nodes[node.inputs[w]!]!;
      if (node.op === 'embedding' && w === 0) {
        const ids = map.get(node.inputs[1]!)!;
        const looked = c.parts.map((p, i) => b.embedding(p, ids, node.label && `${node.label}[${c.starts[i]}:${c.starts[i]! + c.sizes[i]!}]`, { rows: { start: c.starts[i]!, total: c.total } }));
        map.set(node.id, looked.reduce((acc, v) => b.add(acc, v, node.label)));
        return;
      }
      const m = node.attrs as OpAttrs['matmul'];
      if (node.op === 'matmul' && w === 1 && m.transB && !m.transA && !chunked.has(node.inputs[0]!) && !split.has(node.inputs[0]!)) {
        const x = map.get(node.inputs[0]!)!;
        const parts = c.parts.map((p, i) => b.matmul(x, p, true, node.label && `${node.label}[${c.starts[i]}:${c.starts[i]! + c.sizes[i]!}]`));
        split.set(node.id, { ...c, parts });
        return;
      }
      throw tooLarge(param, `it is split by rows to fit, but ${describe(node)} reads it whole (only embedding lookups and x·Wᵀ products, such as an LM head, read a split weight)`);
    }
    const s = node.inputs.find((i) => split.has(i));
    if (s !== undefined) {
      splitReader(b, node, split.get(s)!, map, split, tooLarge);
      return;
    }
    map.set(node.id, b.emit(node.op, node.inputs.map((i) => map.get(i)!), node.attrs, node.label));
  };
  for (const node of graph.nodes) {
    const first = b.graph.nodes.length;
    visit(node);
    if (node.block !== undefined) for (const made of b.graph.nodes.slice(first)) if (made.block === undefined && !isLeaf(made)) made.block = node.block;
  }

  b.graph.effects = graph.effects.map((id) => map.get(id)!);
  for (const [name, id] of Object.entries(graph.outputs)) {
    const sv = split.get(id);
    if (!sv) {
      b.graph.outputs[name] = map.get(id)!;
      continue;
    }
    const names = sv.parts.map((p, i) => chunkName(name, sv.starts[i]!, sv.starts[i]! + sv.sizes[i]!));
    names.forEach((n, i) => (b.graph.outputs[n] = sv.parts[i]!));
    (b.graph.outputParts ??= {})[name] = names;
  }
  return b.graph;
}

/** Rewrites `node`, which reads the split value `sv`: the loss over chunks, or the op per chunk. */
function splitReader(b: GraphBuilder, node: Node, sv: Split, map: Map<number, Value>, split: Map<number, Split>, tooLarge: (n: Node, why: string) => Error): void {
  if (node.op === 'cross_entropy' && split.has(node.inputs[0]!) && !split.has(node.inputs[1]!)) {
    const labels = map.get(node.inputs[1]!)!;
    let stats: Value | undefined;
    sv.parts.forEach((p, i) => {
      const inputs = stats === undefined ? [p, labels] : [p, labels, stats];
      stats = b.emit('logit_stats', inputs, { start: sv.starts[i]! }, `${node.label ?? 'loss'}.stats`);
    });
    const { ignoreIndex } = node.attrs as OpAttrs['cross_entropy'];
    map.set(node.id, b.emit('cross_entropy_chunked', [stats!, labels, ...sv.parts], { ignoreIndex, vocab: sv.total }, node.label));
    return;
  }
  if (node.op === 'gathered_lowrank' && (node.attrs as OpAttrs['gathered_lowrank']).hasBase && node.inputs.findIndex((i) => split.has(i)) === 4) {
    // Many adapters over a split product (an LM head among the serving targets): each column range
    // adds its own rows of the stacked B ([slots, out, rank] sliced along out); x·A is per chunk too.
    const [x, a, stackedB, index] = node.inputs.slice(0, 4).map((i) => map.get(i)!);
    const parts = sv.parts.map((p, i) => {
      const range = `[${sv.starts[i]}:${sv.starts[i]! + sv.sizes[i]!}]`;
      const bPart = b.slice(stackedB!, 1, sv.starts[i]!, sv.sizes[i]!, node.label && `${node.label}.b${range}`);
      return b.emit('gathered_lowrank', [x!, a!, bPart, index!, p], node.attrs as OpAttrs['gathered_lowrank'], node.label && `${node.label}${range}`);
    });
    split.set(node.id, { ...sv, parts });
    return;
  }
  const elementwise = ['add', 'sub', 'mul', 'div', 'unary', 'scale', 'stop_gradient'].includes(node.op);
  if (!elementwise) throw tooLarge(node, `it is held in ${sv.parts.length} column ranges because a weight it is computed from is split to fit, and ${node.op} cannot read it that way`);
  const parts = sv.parts.map((_, i) => {
    const inputs = node.inputs.map((id) => {
      const other = split.get(id);
      if (other) {
        if (other.starts.join() !== sv.starts.join()) throw tooLarge(node, 'its operands are split into different column ranges');
        return other.parts[i]!;
      }
      const v = map.get(id)!;
      const shape = b.shape(v);
      // A full-width operand (a bias [vocab], or [.., vocab]) is sliced to the chunk; a broadcast scalar is not.
      return shape.length > 0 && shape[shape.length - 1] === sv.total ? b.slice(v, -1, sv.starts[i]!, sv.sizes[i]!) : v;
    });
    return b.emit(node.op, inputs, node.attrs, node.label && `${node.label}[${sv.starts[i]}:${sv.starts[i]! + sv.sizes[i]!}]`);
  });
  split.set(node.id, { ...sv, parts });
}
