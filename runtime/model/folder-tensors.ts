// Does a model folder hold the tensors a checked model needs? Compares names and shapes from the
// safetensors headers only (no tensor is read), so `rankfold check --model DIR` can say before any
// loading that a config does not describe its weights: a missing tensor or a shape that differs is
// an error; a tensor the spec does not use (old checkpoints' rotary_emb.inv_freq buffers, say) is
// reported as unused.
import type { CheckedModel } from '../../compiler/check/model.ts';
import { baseWeights, sameShape } from './weights.ts';

/** The part of a ModelFolder (or a safetensors file) the comparison reads. */
export interface TensorListing {
  has(name: string): boolean;
  info(name: string): { shape: readonly number[]; dtype: string };
  readonly tensors: readonly { name: string }[];
}

export interface FolderTensorReport {
  /** Base weights absent under every name they may be stored as. */
  missing: string[];
  /** `name: folder [..] but the spec expects [..]`. */
  mismatched: string[];
  /** Folder tensors no base weight is read from. */
  unused: string[];
  /** Stored dtypes and how many tensors have each. */
  dtypes: Record<string, number>;
}

export function compareFolderTensors(model: CheckedModel, folder: TensorListing): FolderTensorReport {
  const report: FolderTensorReport = { missing: [], mismatched: [], unused: [], dtypes: {} };
  const used = new Set<string>();
  for (const w of baseWeights(model)) {
    // A tied weight may be stored under any name of its group (GPT-2 and tied Llamas keep one).
    const names = [w.name, ...model.weights.filter((x) => x.tiedTo === w.name).map((x) => x.name)];
    const present = names.filter((n) => folder.has(n));
    const name = present[0];
    if (name === undefined) {
      report.missing.push(`${w.name} [${w.shape.join(', ')}]`);
      continue;
    }
    for (const n of present) used.add(n);
    const shape = folder.info(name).shape;
    if (!sameShape(shape, w.shape)) report.mismatched.push(`${name}: the folder has [${shape.join(', ')}], the spec expects [${w.shape.join(', ')}]`);
  }
  for (const t of folder.tensors) {
    const dtype = folder.info(t.name).dtype;
    report.dtypes[dtype] = (report.dtypes[dtype] ?? 0) + 1;
    if (!used.has(t.name)) report.unused.push(t.name);
  }
  return report;
}
