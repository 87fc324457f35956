// Rule: every name is defined before it is used. Parameters see earlier parameters, statements
// see parameters, inputs and earlier assignments (the body runs top to bottom, so using a name
// before its first assignment, or in its own definition, is a cycle and an error), and the
// config, lora and train sections see only parameters.
import type { Expr, Loc, ModelDecl, Spec, Stmt } from '../../language/ast.ts';
import { didYouMean, type CheckContext } from '../context.ts';
import { walkExpr } from './walk.ts';

interface Def {
  loc: Loc;
  loop: boolean;
}

function names(e: Expr): { name: string; loc: Loc }[] {
  const out: { name: string; loc: Loc }[] = [];
  walkExpr(e, (x) => x.kind === 'Name' && out.push({ name: x.name, loc: x.loc }));
  return out;
}

export function checkDefinedBeforeUse(ctx: CheckContext, spec: Spec, model: ModelDecl): void {
  const everywhere = new Map<string, Def>();
  const note = (name: string, loc: Loc, loop = false) => everywhere.has(name) || everywhere.set(name, { loc, loop });
  for (const p of model.params) note(p.name.name, p.name.loc);
  const collect = (stmts: Stmt[]): void => {
    for (const s of stmts) {
      if (s.kind === 'Input') note(s.name.name, s.name.loc);
      if (s.kind === 'Assign') for (const t of s.targets) note(t.name, t.loc);
      if (s.kind === 'Repeat') {
        note(s.variable.name, s.variable.loc, true);
        collect(s.body);
      }
    }
  };
  collect(model.body);

  const use = (e: Expr, scope: Set<string>, self: string[] = []): void => {
    for (const n of names(e)) {
      if (scope.has(n.name)) continue;
      const def = everywhere.get(n.name);
      if (self.includes(n.name)) ctx.error('E0302', `'${n.name}' is used in its own definition`, n.loc);
      else if (def?.loop) ctx.error('E0302', `'${n.name}' is a loop variable, defined only inside its repeat (line ${def.loc.line})`, n.loc);
      else if (def) ctx.error('E0302', `'${n.name}' is used before it is defined (line ${def.loc.line}, column ${def.loc.col})`, n.loc);
      else ctx.error('E0301', `unknown name '${n.name}'${didYouMean(n.name, [...scope, ...everywhere.keys()])}`, n.loc);
    }
  };

  const params = new Set<string>();
  for (const p of model.params) {
    if (p.default) use(p.default, params, [p.name.name]);
    params.add(p.name.name);
  }
  const body = (stmts: Stmt[], scope: Set<string>): void => {
    for (const s of stmts) {
      switch (s.kind) {
        case 'Config':
          for (const e of s.entries)
            if (!params.has(e.param.name)) ctx.error('E0301', `config binds '${e.param.name}', which is not a parameter of '${model.name.name}'${didYouMean(e.param.name, params)}`, e.param.loc);
          break;
        case 'Input':
          if (s.features) use(s.features, scope);
          scope.add(s.name.name);
          break;
        case 'Output':
          if (!scope.has(s.name.name)) use({ kind: 'Name', name: s.name.name, loc: s.name.loc }, scope);
          break;
        case 'Assign':
          use(s.value, scope, s.targets.map((t) => t.name));
          for (const t of s.targets) scope.add(t.name);
          break;
        case 'Repeat': {
          use(s.from, scope);
          use(s.to, scope);
          const inner = new Set(scope).add(s.variable.name);
          body(s.body, inner);
          // Names assigned inside a repeat stay defined after it; the loop variable does not.
          for (const n of inner) if (n !== s.variable.name) scope.add(n);
          break;
        }
        case 'Default':
          break;
      }
    }
  };
  body(model.body, new Set(params));

  for (const d of spec.decls) {
    if (d.kind === 'Train') for (const s of d.settings) use(s.value, params);
    if (d.kind === 'LoraDecl') {
      for (const a of d.args) use(a.value, params);
      for (const o of d.overrides) for (const a of o.args) use(a.value, params);
    }
  }
}
