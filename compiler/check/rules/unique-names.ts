// Rule: names are defined once where redefinition is a mistake: parameters, config entries, train
// settings, loop variables (which may not shadow anything), and parameters are never reassigned.
import type { Ident, ModelDecl, Spec, Stmt } from '../../language/ast.ts';
import type { CheckContext } from '../context.ts';

function at(id: Ident): string {
  return `line ${id.loc.line}, column ${id.loc.col}`;
}

export function checkUniqueNames(ctx: CheckContext, spec: Spec, model: ModelDecl): void {
  const params = new Map<string, Ident>();
  for (const p of model.params) {
    const prev = params.get(p.name.name);
    if (prev) ctx.error('E0303', `parameter '${p.name.name}' is already declared at ${at(prev)}`, p.name.loc);
    else params.set(p.name.name, p.name);
  }
  const config = new Map<string, Ident>();
  for (const s of model.body) {
    if (s.kind !== 'Config') continue;
    for (const e of s.entries) {
      const prev = config.get(e.param.name);
      if (prev) ctx.error('E0303', `config binding for '${e.param.name}' is already given at ${at(prev)}; use "a" | "b" for alternatives`, e.param.loc);
      else config.set(e.param.name, e.param);
    }
  }
  const walk = (stmts: Stmt[], loops: Map<string, Ident>): void => {
    for (const s of stmts) {
      const targets = s.kind === 'Assign' ? s.targets : s.kind === 'Input' ? [s.name] : [];
      const seen = new Set<string>();
      for (const t of targets) {
        if (params.has(t.name)) ctx.error('E0303', `'${t.name}' is a parameter (declared at ${at(params.get(t.name)!)}) and cannot be reassigned`, t.loc);
        else if (loops.has(t.name)) ctx.error('E0303', `'${t.name}' is the loop variable of the repeat at ${at(loops.get(t.name)!)} and cannot be assigned`, t.loc);
        else if (seen.has(t.name)) ctx.error('E0303', `'${t.name}' appears twice on the left of '='`, t.loc);
        seen.add(t.name);
      }
      if (s.kind === 'Repeat') {
        const v = s.variable;
        const shadow = params.get(v.name) ?? loops.get(v.name);
        if (shadow) ctx.error('E0303', `loop variable '${v.name}' hides the ${params.has(v.name) ? 'parameter' : 'loop variable'} at ${at(shadow)}`, v.loc);
        walk(s.body, new Map([...loops, [v.name, v]]));
      }
    }
  };
  walk(model.body, new Map());
  for (const d of spec.decls) {
    if (d.kind !== 'Train') continue;
    const keys = new Map<string, Ident>();
    for (const s of d.settings) {
      const prev = keys.get(s.name.name);
      if (prev) ctx.error('E0303', `train setting '${s.name.name}' is already set at ${at(prev)}`, s.name.loc);
      else keys.set(s.name.name, s.name);
    }
  }
}
