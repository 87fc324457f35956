// Rule: a spec has exactly one model and at most one train block; the model has at least one
// input and one output; `input`, `output` and `default` sit at the top level of the model body.
import type { ModelDecl, Spec, Stmt } from '../../language/ast.ts';
import type { CheckContext } from '../context.ts';

export function checkStructure(ctx: CheckContext, spec: Spec): ModelDecl | undefined {
  const models = spec.decls.filter((d): d is ModelDecl => d.kind === 'Model');
  if (models.length === 0) ctx.error('E0306', "the spec has no model: start with 'model name(...) { ... }'", spec.decls[0]?.loc ?? spec.loc);
  for (const m of models.slice(1)) ctx.error('E0306', `only one model per file; '${models[0]!.name.name}' is defined first`, m.name.loc);
  const trains = spec.decls.filter((d) => d.kind === 'Train');
  for (const t of trains.slice(1)) ctx.error('E0306', 'only one train block per file', t.loc);
  const model = models[0];
  if (!model) return undefined;
  const nested = (stmts: Stmt[], depth: number): void => {
    for (const s of stmts) {
      if (depth > 0 && (s.kind === 'Input' || s.kind === 'Output' || s.kind === 'Default' || s.kind === 'Config'))
        ctx.error('E0306', `'${s.kind.toLowerCase()}' belongs at the top level of the model, not inside repeat`, s.loc);
      if (s.kind === 'Repeat') nested(s.body, depth + 1);
    }
  };
  nested(model.body, 0);
  const defaults = model.body.filter((s) => s.kind === 'Default');
  for (const d of defaults.slice(1)) ctx.error('E0303', "'default' is given twice", d.loc);
  const missing = [
    model.body.some((s) => s.kind === 'Input') ? '' : "no input (add 'input ids: tokens')",
    model.body.some((s) => s.kind === 'Output') ? '' : "no output (add 'output logits')",
  ].filter(Boolean);
  if (missing.length) ctx.error('E0306', `model '${model.name.name}' has ${missing.join(' and ')}`, model.name.loc);
  return model;
}
