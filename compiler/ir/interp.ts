// The CPU reference interpreter: the executable definition of every op and the oracle the WGSL
// kernels are tested against. Nodes run in graph order; each op's kernel lives in interp/*.ts and is
// reached through its op registry entry (compiler/ops/registry.ts).
//
// Precision: in 'f64' every result is stored in a Float64Array; in 'f32' every result is stored in
// a Float32Array (so it is rounded to f32 after each op, as on the GPU), while sums inside one op
// accumulate in f64. Leaves (params, state) are used as passed, not copied, so `adamw` nodes update
// the caller's arrays in place and a whole training step can be interpreted.
import { IrError, numel, sameShape, shapeToString, type Graph, type Shape, type TensorType } from './types.ts';
import { inferType, type OpAttrs, type OpName } from './ops.ts';
import { makeCtx, type HostArg, type HostTensor, type Kernel, type Precision } from './interp/common.ts';
import { isLeafOp, OPS } from '../ops/registry.ts';
import { roundToHalf } from './float16.ts';

export type { HostArg, HostTensor, Precision } from './interp/common.ts';
export { dropoutHash, dropoutKeep, dropoutThreshold, pcgHash, unaryDerivs, unaryFns } from './interp/elementwise.ts';
export { erf, erfc } from './interp/erf.ts';

export interface EvalOptions {
  precision?: Precision;
  /** The training step dropout masks depend on (0 when omitted). */
  step?: number;
}

/**
 * Runs one op on host tensors (what kernel tests compare against). The result type comes from the
 * op's shape rule, so malformed operands fail with the same message as in the builder. `adamw`
 * updates inputs[0], [2] and [3] in place.
 */
export function evalOp<K extends OpName>(op: K, attrs: OpAttrs[K], inputs: HostArg[], options: EvalOptions = {}): { data: HostTensor; type: TensorType } {
  if (isLeafOp(op)) throw new IrError(`evalOp: ${op} is a leaf; feed its value instead`);
  const types = inputs.map((x): TensorType => ({ dtype: x.data instanceof Int32Array ? 'i32' : 'f32', shape: x.shape }));
  const type = inferType(op, types, attrs);
  inputs.forEach((x, i) => {
    if (x.data.length !== numel(x.shape)) throw new IrError(`evalOp ${op}: operand ${i} has ${x.data.length} values for shape ${shapeToString(x.shape)}`);
  });
  const ctx = makeCtx(options.precision ?? 'f64', options.step ?? 0);
  const kernel = OPS[op].interp as Kernel<OpAttrs[K]>;
  return { data: kernel(ctx, inputs, attrs, type), type };
}

export interface Feeds {
  inputs?: Record<string, HostTensor>;
  params?: Record<string, Float32Array | Float64Array>;
  state?: Record<string, Float32Array | Float64Array>;
}

export interface InterpretResult {
  /** Result of every node, by node id (leaves are the fed arrays themselves). */
  values: HostTensor[];
  outputs: Record<string, HostTensor>;
  grads: Record<string, HostTensor>;
}

function leaf(kind: string, name: string, fed: HostTensor | undefined, shape: Shape, dtype: 'f32' | 'i32', precision: Precision): HostTensor {
  if (fed === undefined) throw new IrError(`interpret: missing ${kind} "${name}" (${dtype}${shapeToString(shape)})`);
  if (fed.length !== numel(shape)) {
    throw new IrError(`interpret: ${kind} "${name}" has ${fed.length} values, expected ${numel(shape)} for ${shapeToString(shape)}`);
  }
  if (kind !== 'input') return fed; // params/state alias the caller's arrays (adamw writes them)
  if (dtype === 'i32') return fed instanceof Int32Array ? fed : Int32Array.from(fed);
  // Inputs are read-only, so they may be converted: f32 inputs are rounded to f32 in f32 mode.
  if (precision === 'f32') return fed instanceof Float32Array ? fed : Float32Array.from(fed);
  return fed instanceof Int32Array ? Float64Array.from(fed) : fed;
}

/** The step dropout uses: the fed i32 input "step" when there is one, else 0. */
function stepOf(feeds: Feeds): number {
  const s = feeds.inputs?.['step'];
  return s && s.length > 0 ? s[0]! : 0;
}

export function interpret(graph: Graph, feeds: Feeds, options: { precision?: Precision } = {}): InterpretResult {
  const precision = options.precision ?? 'f32';
  const ctx = makeCtx(precision, stepOf(feeds));
  const values: HostTensor[] = [];
  for (const node of graph.nodes) {
    let out: HostTensor;
    switch (node.op) {
      case 'input': {
        const a = node.attrs as OpAttrs['input'];
        if (a.dtype !== 'f32' && a.dtype !== 'i32') throw new IrError(`interpret: input "${a.name}" is ${a.dtype}; inputs are f32 or i32`);
        out = leaf('input', a.name, feeds.inputs?.[a.name], a.shape, a.dtype, precision);
        break;
      }
      case 'param': {
        const a = node.attrs as OpAttrs['param'];
        out = leaf('param', a.name, feeds.params?.[a.name], a.shape, 'f32', precision);
        // A 16-bit weight holds 16-bit values: what the GPU reads (the executors round when setting it too).
        if (a.dtype) out = precision === 'f32' ? roundToHalf(out, a.dtype) : Float64Array.from(roundToHalf(out, a.dtype));
        break;
      }
      case 'state': {
        const a = node.attrs as OpAttrs['state'];
        out = leaf('state', a.name, feeds.state?.[a.name], a.shape, 'f32', precision);
        break;
      }
      case 'literal': {
        // The compiler's constants: exact f32 values, held as the precision's array type.
        const a = node.attrs as OpAttrs['literal'];
        out = precision === 'f32' ? Float32Array.from(a.data) : Float64Array.from(a.data);
        break;
      }
      default: {
        const args = node.inputs.map((id): HostArg => {
          const data = values[id];
          if (data === undefined) throw new IrError(`interpret: node %${node.id} reads %${id}, which is not computed before it`);
          return { data, shape: graph.nodes[id]!.type.shape };
        });
        const kernel = OPS[node.op].interp as Kernel<unknown> | null;
        if (kernel === null) throw new IrError(`interpret: %${node.id} ${node.op} has no kernel`);
        out = kernel(ctx, args, node.attrs, node.type);
      }
    }
    if (out.length !== numel(node.type.shape)) {
      throw new IrError(`interpret: %${node.id} ${node.op} produced ${out.length} values for ${shapeToString(node.type.shape)}`);
    }
    values.push(out);
  }
  const pick = (m: Record<string, number>): Record<string, HostTensor> =>
    Object.fromEntries(Object.entries(m).map(([k, id]) => [k, values[id]!]));
  return { values, outputs: pick(graph.outputs), grads: pick(graph.grads) };
}

/** Convenience for tests: do two shapes agree (re-exported so kernel tests need one import). */
export { sameShape };
