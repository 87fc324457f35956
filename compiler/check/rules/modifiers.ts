// Rule: `as`, frozen/trainable, lora and tied go only where they mean something. Only layers with
// weights take a module name and frozen/trainable; linear maps (linear, conv1d) and embeddings
// take lora, only linear maps take tied; each modifier appears once, and frozen and trainable
// exclude each other.
import type { ModelDecl } from '../../language/ast.ts';
import type { CheckContext } from '../context.ts';
import { FUNCTIONS } from '../functions.ts';
import { allCalls } from './walk.ts';

const WORD = { Frozen: 'frozen', Trainable: 'trainable', Lora: 'lora', Tied: 'tied' } as const;

export function checkModifiers(ctx: CheckContext, model: ModelDecl): void {
  allCalls(model.body, (c) => {
    const spec = FUNCTIONS[c.callee.name];
    if (!spec) return;
    const name = c.callee.name;
    if (!spec.hasWeights && c.module) ctx.error('E0310', `'${name}' has no weights, so it takes no module name`, c.module.loc);
    const seen = new Map<string, boolean>();
    for (const m of c.modifiers) {
      const word = WORD[m.kind];
      if (seen.has(m.kind)) {
        ctx.error(m.kind === 'Lora' ? 'E0603' : 'E0310', `'${word}' is given twice`, m.loc);
        continue;
      }
      seen.set(m.kind, true);
      if (m.kind === 'Lora' && !spec.lora) {
        ctx.error('E0601', `LoRA applies to linear maps and embeddings (linear, conv1d, embedding, positions), not to '${name}'`, m.loc);
      } else if (m.kind === 'Tied' && !spec.linear) {
        ctx.error('E0310', `only linear and conv1d layers can be tied to another layer's weight, not '${name}'`, m.loc);
      } else if ((m.kind === 'Frozen' || m.kind === 'Trainable') && !spec.hasWeights) {
        ctx.error('E0310', `'${name}' has no weights, so '${word}' does not apply`, m.loc);
      }
    }
    if (seen.has('Frozen') && seen.has('Trainable')) ctx.error('E0310', "a layer cannot be both 'frozen' and 'trainable'", c.modifiers.find((m) => m.kind === 'Trainable')!.loc);
  });
}
