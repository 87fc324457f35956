// The inputs a lowered model graph reads, filled the same way for training, evaluation,
// verification and generation.
import { LABELS_INPUT, POSITIONS_INPUT } from '../../compiler/lower/lower-model.ts';
import { shiftLabels } from '../data/dataset.ts';
import type { Executor } from '../exec/executor.ts';

export function positionsFor(batch: number, seq: number, offset = 0): Int32Array {
  const out = new Int32Array(batch * seq);
  for (let b = 0; b < batch; b++) for (let t = 0; t < seq; t++) out[b * seq + t] = offset + t;
  return out;
}

/**
 * Sets token ids, their positions and (when given) the labels, which come unshifted as in Hugging
 * Face (labels[t] is token t or -100) and are shifted here so position t predicts labels[t + 1].
 */
export function feedTokens(exec: Executor, ids: Int32Array, batch: number, seq: number, labels?: Int32Array): void {
  exec.setInput('ids', ids);
  exec.setInput(POSITIONS_INPUT, positionsFor(batch, seq));
  if (labels) exec.setInput(LABELS_INPUT, shiftLabels(labels, batch, seq));
}
