// Rule: every call in the model body names a built-in function or layer and passes arguments it
// takes (by position or by name, each once, required ones present, `->` only for dimensions).
import type { ModelDecl } from '../../language/ast.ts';
import { didYouMean, type CheckContext } from '../context.ts';
import { bindArgs, FUNCTIONS } from '../functions.ts';
import { allCalls } from './walk.ts';

export function checkKnownFunctions(ctx: CheckContext, model: ModelDecl): void {
  allCalls(model.body, (c) => {
    const spec = FUNCTIONS[c.callee.name];
    if (!spec) {
      ctx.error('E0304', `unknown function '${c.callee.name}'${didYouMean(c.callee.name, Object.keys(FUNCTIONS))}`, c.callee.loc);
      return;
    }
    for (const p of bindArgs(c, spec.args, `'${c.callee.name}'`).problems) ctx.error('E0305', p.message, p.arg?.loc ?? c.callee.loc);
  });
}
