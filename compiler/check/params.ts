// Binds the model's parameters, in declaration order, each from the first source that has it:
// an override (`--set name=value`), a config.json key named in the `config` block, its default.
// A default may use earlier parameters (`kv_heads: int = heads`) and the scalar functions (sqrt,
// select, ...). JSON null counts as absent, so GPT-2's `"n_inner": null` falls back to
// `hidden: int = 4 * d`, except for an optional parameter (`int?`), which it binds to none: Mistral's
// `"sliding_window": null` means no window, while a missing key means the default 4096.
import type { Expr, ModelDecl, ParamDecl } from '../language/ast.ts';
import { quote } from '../language/diagnostics.ts';
import { describeJson, fromJson, lookupKey } from './config-fields.ts';
import type { CheckContext } from './context.ts';
import { scalarCall } from './scalar-calls.ts';
import { coerce, ERROR, evalScalar, show, typeName, typeText, type Value } from './values.ts';

export interface BindOptions {
  config?: Record<string, unknown>;
  overrides?: Record<string, number | boolean | string>;
}

export function bindParams(ctx: CheckContext, model: ModelDecl, opts: BindOptions): Map<string, Value> {
  const bound = new Map<string, Value>();
  const declared = new Map<string, ParamDecl>(model.params.map((p) => [p.name.name, p]));
  for (const name of Object.keys(opts.overrides ?? {})) {
    if (!declared.has(name)) ctx.error('E0406', `--set ${name}: model '${model.name.name}' has no parameter '${name}' (parameters: ${[...declared.keys()].join(', ') || 'none'})`, model.name.loc);
  }
  const entries = new Map<string, { keys: { value: string; loc: import('../language/ast.ts').Loc }[] }>();
  for (const s of model.body) if (s.kind === 'Config') for (const e of s.entries) if (!entries.has(e.param.name)) entries.set(e.param.name, { keys: e.keys });

  for (const p of model.params) {
    const name = p.name.name;
    let v: Value | undefined;
    let origin = '';
    const ov = opts.overrides && Object.hasOwn(opts.overrides, name) ? opts.overrides[name] : undefined;
    if (ov !== undefined) {
      v = fromJson(ov);
      origin = `--set ${name}=${String(ov)}`;
      const c = v && coerce(v, p);
      if (!c) {
        ctx.error('E0406', `${origin}: parameter '${name}' is ${typeText(p)}`, p.name.loc);
        bound.set(name, ERROR);
        continue;
      }
      v = c;
    }
    const entry = entries.get(name);
    if (v === undefined && opts.config && entry) {
      for (const k of entry.keys) {
        const raw = lookupKey(opts.config, k.value);
        if (raw === undefined || (raw === null && !p.optional)) continue;
        const jv: Value | undefined = raw === null ? { t: 'none' } : fromJson(raw);
        const c = jv && coerce(jv, p);
        if (!c) {
          ctx.error('E0406', `config key ${quote(k.value)} is ${describeJson(raw)}, but parameter '${name}' is ${typeText(p)}`, k.loc);
          v = ERROR;
        } else v = c;
        break;
      }
    }
    if (v === undefined && p.default) {
      const lookup = (n: string): Value => bound.get(n) ?? ERROR;
      const ev = (e: Expr): Value => evalScalar(ctx, e, lookup, (c) => scalarCall(ctx, c, ev));
      const d = ev(p.default);
      const c = coerce(d, p);
      if (!c) {
        const what = d.t === 'none' ? `none (declare it ${typeText({ ...p, optional: true })} to allow none)` : `${typeName(d)} ${show(d)}`;
        ctx.error('E0401', `parameter '${name}' is ${typeText(p)}, but its default is ${what}`, p.default.loc);
        v = ERROR;
      } else v = c;
    }
    if (v === undefined) {
      const keys = entry ? `, or config key ${entry.keys.map((k) => quote(k.value)).join(' | ')}` : '';
      ctx.error('E0405', `parameter '${name}' has no value: give it a default, --set ${name}=...${keys}`, p.name.loc);
      v = ERROR;
    }
    bound.set(name, v);
  }
  return bound;
}
