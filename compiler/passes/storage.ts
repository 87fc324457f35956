// The storage pass: frozen weight matrices keep the 16-bit dtype their file stores them in (bf16 or
// f16) instead of f32, halving their memory, and every reader that cannot widen 16-bit values in its
// kernel (all but HALF_OPERANDS: the GEMMs' weight operand and the embedding table) reads them
// through one `cast` to f32. Trained weights (adapters, trainable and full fine-tuning) stay f32,
// as do vectors (norm scales, biases: small, and read by many element-wise kernels), which the
// runtime converts when it uploads them. It runs last among the passes, so fusion never sees a cast.
import type { Value } from '../ir/builder.ts';
import { readsHalf, type OpAttrs } from '../ir/ops.ts';
import { isHalf, type DType, type Graph, type HalfDType } from '../ir/types.ts';
import { rewrite, type Pass } from './rewrite.ts';

/** How each base weight is stored in its file, by weight name (absent: f32). */
export type ParamDtypes = Readonly<Record<string, HalfDType | 'f32'>>;

/** The dtype a parameter is stored in on the device: its file's 16-bit dtype for frozen matrices, else f32. */
export function storageDtype(attrs: OpAttrs['param'], dtypes: ParamDtypes | undefined): DType {
  const d = dtypes?.[attrs.rows?.of ?? attrs.name];
  return d !== undefined && isHalf(d) && attrs.role === 'frozen' && attrs.shape.length >= 2 ? d : 'f32';
}

export function storagePass(dtypes: ParamDtypes): Pass {
  return (graph: Graph) => {
    const casts = new Map<Value, Value>();
    return rewrite(graph, (node, ctx) => {
      const { b } = ctx;
      if (node.op === 'param') {
        const a = node.attrs as OpAttrs['param'];
        const dtype = storageDtype(a, dtypes);
        if (!isHalf(dtype)) return undefined;
        return b.param(a.name, a.shape, a.role, { dtype, ...(a.rows ? { rows: a.rows } : {}) });
      }
      let changed = false;
      const inputs = node.inputs.map((old, i) => {
        const v = ctx.map(old);
        if (!isHalf(b.type(v).dtype) || readsHalf(node.op, i)) return v;
        changed = true;
        let c = casts.get(v);
        if (c === undefined) {
          c = b.emit('cast', [v], {}, `${b.node(v).label ?? `%${v}`}.f32`);
          casts.set(v, c);
        }
        return c;
      });
      return changed ? b.emit(node.op, inputs, node.attrs, node.label) : undefined;
    });
  };
}
