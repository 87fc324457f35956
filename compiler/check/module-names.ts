// Module names: `"model.layers.{i}.self_attn.q_proj"` with `{name}` placeholders filled from loop
// variables and parameters. The result must be a dotted path of [A-Za-z0-9_] segments, the shape
// of a PyTorch module name, so that `<module>.weight` is a checkpoint key.
import type { Loc, StringLit } from '../language/ast.ts';
import { quote } from '../language/diagnostics.ts';
import { didYouMean, type CheckContext } from './context.ts';
import type { Value } from './values.ts';

const VALID = /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$/;

function subLoc(lit: StringLit, needle: string): Loc {
  const i = lit.raw.indexOf(needle);
  if (i < 0 || lit.loc.endLine !== lit.loc.line) return lit.loc;
  const col = lit.loc.col + i;
  return { line: lit.loc.line, col, endLine: lit.loc.line, endCol: col + needle.length };
}

export function expandModuleName(ctx: CheckContext, lit: StringLit, lookup: (name: string) => Value | undefined, names: () => Iterable<string>): string | undefined {
  let out = '';
  let ok = true;
  const s = lit.value;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '{') {
      const close = s.indexOf('}', i);
      const name = close < 0 ? '' : s.slice(i + 1, close);
      if (close < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        ctx.error('E0307', `bad placeholder in module name ${quote(s)}: write {name} with a loop variable or parameter`, subLoc(lit, close < 0 ? '{' : s.slice(i, close + 1)));
        return undefined;
      }
      const v = lookup(name);
      if (v === undefined) {
        ctx.error('E0301', `unknown name '${name}' in module name placeholder${didYouMean(name, names())}`, subLoc(lit, `{${name}}`));
        ok = false;
      } else if (v.t === 'int' || v.t === 'string') out += String(v.v);
      else if (v.t !== 'error') {
        ctx.error('E0401', `placeholder {${name}} must be an int or string, not ${v.t}`, subLoc(lit, `{${name}}`));
        ok = false;
      } else ok = false;
      i = close;
      continue;
    }
    out += c;
  }
  if (!ok) return undefined;
  if (!VALID.test(out)) {
    ctx.error('E0307', `module name ${quote(out)} is not a dotted path of letters, digits and '_' (like "model.layers.0.mlp")`, lit.loc);
    return undefined;
  }
  return out;
}
