// Gradient rules of attention and rotary embeddings (training shapes: no KV cache).
import type { Value } from '../../ir/builder.ts';
import type { GradRule } from '../rule.ts';
import { unsupported, when } from '../rule.ts';

/**
 * One attention_grad op per wanted operand, each recomputing the softmax (flash-style, no P kept),
 * all reading one attention_stats node: the per-row logsumexp and Σ P·dP are the first pass over
 * the keys that each of them would otherwise repeat. The stats read the forward output (c.y):
 * Σ_j P_ij·dP_ij = dO_i·O_i, so that pass needs only q·k.
 */
export const attention: GradRule<'attention'> = (c) => {
  if (c.node.inputs.length === 4) unsupported('attention', 'with a KV-cache offset (generation only)');
  const [q, k, v] = c.node.inputs as [number, number, number];
  let stats: Value | undefined;
  const grad = (wrt: 'q' | 'k' | 'v') => () => {
    stats ??= c.b.emit('attention_stats', [q, k, v, c.dy, c.y], c.node.attrs);
    return c.b.emit('attention_grad', [q, k, v, c.dy, stats], { ...c.node.attrs, wrt });
  };
  return [when(c, 0, grad('q')), when(c, 1, grad('k')), when(c, 2, grad('v'))];
};

/**
 * RoPE is linear in x (a scaled rotation per pair): its gradient is the transposed map, the same
 * scale with the angle negated, at the same positions (same frequencies and offset inputs). The
 * frequencies are constants and get no gradient.
 */
export const rope: GradRule<'rope'> = (c) => [
  when(c, 0, () => c.b.emit('rope', [c.dy, ...c.node.inputs.slice(1)], { ...c.node.attrs, transpose: !c.node.attrs.transpose })),
];
