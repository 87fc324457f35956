// Builds IR graphs with shape inference at every step, so a malformed graph fails where it is
// made, with both shapes in the message. Values are node ids.
import { inferType, type AttentionAttrs, type OpAttrs, type OpName, type StateKind, type UnaryFn } from './ops.ts';
import type { DType, Graph, Node, ParamRole, Shape, TensorType } from './types.ts';

export type Value = number;

export class GraphBuilder {
  readonly graph: Graph;
  private readonly params = new Map<string, Value>();
  private readonly inputs = new Map<string, Value>();

  constructor(graph?: Graph) {
    this.graph = graph ?? { nodes: [], outputs: {}, grads: {}, effects: [] };
    for (const node of this.graph.nodes) {
      if (node.op === 'param') this.params.set((node.attrs as OpAttrs['param']).name, node.id);
      if (node.op === 'input') this.inputs.set((node.attrs as OpAttrs['input']).name, node.id);
    }
  }

  node(id: Value): Node {
    return this.graph.nodes[id]!;
  }

  type(id: Value): TensorType {
    return this.node(id).type;
  }

  shape(id: Value): Shape {
    return this.node(id).type.shape;
  }

  emit<K extends OpName>(op: K, inputs: Value[], attrs: OpAttrs[K], label?: string): Value {
    const type = inferType(op, inputs.map((i) => this.type(i)), attrs);
    const id = this.graph.nodes.length;
    const node: Node<K> = { id, op, inputs, attrs, type };
    if (label !== undefined) node.label = label;
    this.graph.nodes.push(node as unknown as Node);
    return id;
  }

  // Leaves. Parameters and inputs are unique by name: asking twice returns the same node.
  input(name: string, dtype: DType, shape: Shape): Value {
    const found = this.inputs.get(name);
    if (found !== undefined) return found;
    const id = this.emit('input', [], { name, dtype, shape: [...shape] }, name);
    this.inputs.set(name, id);
    return id;
  }

  param(name: string, shape: Shape, role: ParamRole, extra: Pick<OpAttrs['param'], 'dtype' | 'rows'> = {}): Value {
    const found = this.params.get(name);
    if (found !== undefined) return found;
    const id = this.emit('param', [], { name, shape: [...shape], role, ...extra }, name);
    this.params.set(name, id);
    return id;
  }

  findParam(name: string): Value | undefined {
    return this.params.get(name);
  }

  state(name: string, of: string, shape: Shape, kind?: StateKind): Value {
    return this.emit('state', [], { name, of, shape: [...shape], ...(kind ? { kind } : {}) }, name);
  }

  constant(value: number, shape: Shape): Value {
    return this.emit('const', [], { value, shape: [...shape] });
  }

  /** A constant tensor with the given values (rounded to f32), uploaded once; one node per name. */
  literal(name: string, data: ArrayLike<number>, shape: Shape = [data.length]): Value {
    const found = this.graph.nodes.find((n) => n.op === 'literal' && (n.attrs as OpAttrs['literal']).name === name);
    if (found) return found.id;
    return this.emit('literal', [], { name, shape: [...shape], data: Array.from(data, (x) => Math.fround(x)) }, name);
  }

  // Elementwise.
  unary(fn: UnaryFn, x: Value, label?: string): Value {
    return this.emit('unary', [x], { fn }, label);
  }
  add(a: Value, b: Value, label?: string): Value {
    return this.emit('add', [a, b], {}, label);
  }
  sub(a: Value, b: Value, label?: string): Value {
    return this.emit('sub', [a, b], {}, label);
  }
  mul(a: Value, b: Value, label?: string): Value {
    return this.emit('mul', [a, b], {}, label);
  }
  div(a: Value, b: Value, label?: string): Value {
    return this.emit('div', [a, b], {}, label);
  }
  scale(x: Value, c: number, label?: string): Value {
    return this.emit('scale', [x], { c }, label);
  }
  dropout(x: Value, p: number, seed: number, label?: string): Value {
    return p === 0 ? x : this.emit('dropout', [x], { p, seed }, label);
  }

  // Linear algebra.
  matmul(a: Value, b: Value, transB = false, label?: string): Value {
    return this.emit('matmul', [a, b], { transA: false, transB }, label);
  }
  /** aᵀ·b over the flattened leading dimensions (weight gradients). */
  matmulTN(a: Value, b: Value, label?: string): Value {
    return this.emit('matmul', [a, b], { transA: true, transB: false }, label);
  }
  /** A Linear layer: W is [out, in] (transposed: false) or GPT-2 Conv1D storage [in, out] (true). */
  linear(x: Value, w: Value, bias: Value | undefined, conv1d: boolean, label?: string): Value {
    const y = this.matmul(x, w, !conv1d, label);
    return bias === undefined ? y : this.add(y, bias, label && `${label}.bias`);
  }

  // Normalization and attention.
  rmsnorm(x: Value, w: Value, eps: number, label?: string): Value {
    return this.emit('rmsnorm', [x, w], { eps }, label);
  }
  layernorm(x: Value, w: Value, b: Value, eps: number, label?: string): Value {
    return this.emit('layernorm', [x, w, b], { eps }, label);
  }
  /**
   * Rotary embedding of x [B, T, heads*headDim] with inverse frequencies invFreq [rotaryDim/2] (a
   * literal); offset: i32 [1] position of the first token (generation with a KV cache).
   */
  rope(x: Value, invFreq: Value, a: { heads: number; headDim: number; scale?: number }, offset?: Value, label?: string): Value {
    const rotaryDim = 2 * this.shape(invFreq)[0]!;
    const attrs = { heads: a.heads, headDim: a.headDim, rotaryDim, scale: a.scale ?? 1, transpose: false };
    return this.emit('rope', offset === undefined ? [x, invFreq] : [x, invFreq, offset], attrs, label);
  }
  /** offset: with a KV cache, k and v are the cache and offset the position of q's first token. */
  attention(q: Value, k: Value, v: Value, attrs: AttentionAttrs, offset?: Value, label?: string): Value {
    return this.emit('attention', offset === undefined ? [q, k, v] : [q, k, v, offset], attrs, label);
  }
  /** Writes x into the cache at offset in place; use the result (same buffer) to read it back. */
  cacheUpdate(cache: Value, x: Value, offset: Value, label?: string): Value {
    return this.emit('cache_update', [cache, x, offset], {}, label);
  }

  // Shapes, embeddings, loss.
  transpose(x: Value, label?: string): Value {
    return this.emit('transpose', [x], {}, label);
  }
  slice(x: Value, axis: number, start: number, size: number, label?: string): Value {
    return this.emit('slice', [x], { axis, start, size }, label);
  }
  embedding(table: Value, ids: Value, label?: string, attrs: OpAttrs['embedding'] = {}): Value {
    return this.emit('embedding', [table, ids], attrs, label);
  }
  crossEntropy(logits: Value, labels: Value, ignoreIndex = -100): Value {
    return this.emit('cross_entropy', [logits, labels], { ignoreIndex }, 'loss');
  }

  output(name: string, value: Value): void {
    this.graph.outputs[name] = value;
  }
}
