// Binds the model's parameters, in declaration order, each from the first source that has it:
// an override (`--set name=value`), a config.json key named in the `config` block, its default.
// A default may use earlier parameters (`kv_heads: int = heads`); JSON null counts as absent,
// so GPT-2's `"n_inner": null` falls back to `hidden: int = 4 * d`.
import type { ModelDecl, ParamDecl } from '../language/ast.ts';
import { quote } from '../language/diagnostics.ts';
import type { CheckContext } from './context.ts';
import { coerce, ERROR, evalScalar, show, typeName, type Value } from './values.ts';

export interface BindOptions {
  config?: Record<string, unknown>;
  overrides?: Record<string, number | boolean | string>;
}

function fromJson(x: unknown): Value | undefined {
  if (typeof x === 'number') {
    if (Number.isInteger(x) && Number.isSafeInteger(x)) return { t: 'int', v: x };
    return Number.isFinite(x) ? { t: 'float', v: x } : undefined;
  }
  if (typeof x === 'boolean') return { t: 'bool', v: x };
  if (typeof x === 'string') return { t: 'string', v: x };
  return undefined;
}

function describeJson(x: unknown): string {
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return 'an object';
  if (typeof x === 'string') return `${quote(x)} (string)`;
  return `${String(x)} (${typeof x === 'number' && !Number.isInteger(x) ? 'float' : typeof x === 'number' ? 'int' : typeof x})`;
}

/** Walks a dotted key (`rope_parameters.rope_theta`) through nested objects. */
function lookupKey(config: Record<string, unknown>, key: string): unknown {
  let cur: unknown = config;
  for (const part of key.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
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
      const c = v && coerce(v, p.type);
      if (!c) {
        ctx.error('E0406', `${origin}: parameter '${name}' is ${p.type}`, p.name.loc);
        bound.set(name, ERROR);
        continue;
      }
      v = c;
    }
    const entry = entries.get(name);
    if (v === undefined && opts.config && entry) {
      for (const k of entry.keys) {
        const raw = lookupKey(opts.config, k.value);
        if (raw === undefined || raw === null) continue;
        const jv = fromJson(raw);
        const c = jv && coerce(jv, p.type);
        if (!c) {
          ctx.error('E0406', `config key ${quote(k.value)} is ${describeJson(raw)}, but parameter '${name}' is ${p.type}`, k.loc);
          v = ERROR;
        } else v = c;
        break;
      }
    }
    if (v === undefined && p.default) {
      const d = evalScalar(ctx, p.default, (n) => bound.get(n) ?? ERROR);
      const c = coerce(d, p.type);
      if (!c) {
        ctx.error('E0401', `parameter '${name}' is ${p.type}, but its default is ${typeName(d)} ${show(d)}`, p.default.loc);
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
