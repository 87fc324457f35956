// Core types of Rankfold's IR: a graph of tensor operations with static shapes and dtypes.
// Every node produces one tensor. Nodes are stored in topological order (inputs before users),
// which the builder guarantees and the verifier checks.
import type { OpAttrs, OpName } from './op-attrs.ts';
import type { TensorType } from './tensor.ts';

export * from './tensor.ts';

export interface Node<K extends OpName = OpName> {
  id: number;
  op: K;
  inputs: number[];
  attrs: OpAttrs[K];
  type: TensorType;
  /** Human-readable name for printing and debugging (e.g. "layers.0.q_proj.out"). */
  label?: string;
  /**
   * The repeated block (layer) of the model whose forward computation made this node, when it is
   * one: lowering copies the checked op's `block`, and passes keep it on the nodes they rewrite.
   * Block recompute (passes/recompute.ts) recomputes a block's forward nodes in the backward.
   */
  block?: number;
}

export interface Graph {
  nodes: Node[];
  /** Named results the runtime reads or keeps (e.g. "loss", "logits"). */
  outputs: Record<string, number>;
  /** d(loss)/d(param) for each trainable parameter, by parameter name (set by autodiff). */
  grads: Record<string, number>;
  /** Nodes run for their side effects (in-place optimizer updates); never removed by DCE. */
  effects: number[];
  /**
   * Outputs too large for one GPU binding, held in pieces along the last axis (the split pass): an
   * output name -> the names of the outputs that hold its column ranges, in order. Executors join
   * the pieces when the whole output is read.
   */
  outputParts?: Record<string, string[]>;
}
