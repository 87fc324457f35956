// The memory plan: which GPU buffer holds each node's result. Persistent tensors (parameters,
// optimizer state, gradients of parameters, graph outputs) get buffers of their own; everything
// else shares buffers from a pool, reused once the previous tenant's last reader has run.

export type MemoryCategory =
  | 'frozen_weights'
  | 'adapter_weights'
  | 'trainable_weights'
  | 'gradients'
  | 'optimizer_state'
  | 'activations'
  | 'scratch'
  | 'inputs'
  /** Literals: values the compiler computed (RoPE inverse frequencies), uploaded once at create. */
  | 'constants';

export interface PlannedBuffer {
  id: number;
  /** Bytes, rounded up to a multiple of 16. */
  size: number;
  category: MemoryCategory;
  /** Buffers that live across runs (weights, state, grads, inputs) must never be shared. */
  persistent: boolean;
  /** Human-readable owner, e.g. the parameter name. */
  label: string;
}

export interface MemoryPlan {
  buffers: PlannedBuffer[];
  /** node id -> buffer id; every node that produces a tensor has one (adamw placeholders excepted). */
  assignment: Map<number, number>;
  /** The execution order the liveness analysis assumed (node ids). */
  schedule: number[];
  /** Total bytes by category. */
  totals: Record<MemoryCategory, number>;
  totalBytes: number;
}
