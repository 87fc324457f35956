// The config block's view of a Hugging Face config.json: how its keys are looked up (dotted keys walk
// nested objects), how JSON values become checker values, which keys the spec refuses (E0408 unless
// absent, null or one of the `unless` values) and which keys it never mentions. A spec lists every
// field it reads: bound to a parameter, refused, or `ignore`d (read and known not to change the
// math), so an unread key is one the spec does not know, reported as a warning by `rankfold check`.
import type { ConfigBlock, ModelDecl } from '../language/ast.ts';
import { quote } from '../language/diagnostics.ts';
import type { CheckContext } from './context.ts';
import { ERROR, evalScalar, show, type Value } from './values.ts';

/** Walks a dotted key (`rope_parameters.rope_theta`) through nested objects. */
export function lookupKey(config: Record<string, unknown>, key: string): unknown {
  let cur: unknown = config;
  for (const part of key.split('.')) {
    if (!isObject(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A JSON scalar, or an array of scalars, as a checker value; undefined for anything else. */
export function fromJson(x: unknown): Value | undefined {
  if (typeof x === 'number') {
    if (Number.isInteger(x) && Number.isSafeInteger(x)) return { t: 'int', v: x };
    return Number.isFinite(x) ? { t: 'float', v: x } : undefined;
  }
  if (typeof x === 'boolean') return { t: 'bool', v: x };
  if (typeof x === 'string') return { t: 'string', v: x };
  if (Array.isArray(x)) {
    const items: Value[] = [];
    for (const item of x) {
      const v = Array.isArray(item) ? undefined : fromJson(item);
      if (!v) return undefined;
      items.push(v);
    }
    return { t: 'list', items };
  }
  return undefined;
}

export function describeJson(x: unknown): string {
  if (Array.isArray(x)) return 'an array';
  if (x === null) return 'null';
  if (typeof x === 'object') return 'an object';
  if (typeof x === 'string') return `${quote(x)} (string)`;
  return `${String(x)} (${typeof x === 'number' && !Number.isInteger(x) ? 'float' : typeof x === 'number' ? 'int' : typeof x})`;
}

function configBlocks(model: ModelDecl): ConfigBlock[] {
  return model.body.filter((s): s is ConfigBlock => s.kind === 'Config');
}

/** Every key the spec mentions: bound, refused or ignored. */
export function declaredKeys(model: ModelDecl): { bound: string[]; refused: string[]; ignored: string[] } {
  const out = { bound: [] as string[], refused: [] as string[], ignored: [] as string[] };
  for (const b of configBlocks(model)) {
    for (const e of b.entries) out.bound.push(...e.keys.map((k) => k.value));
    for (const r of b.refusals) out.refused.push(...r.keys.map((k) => k.value));
    out.ignored.push(...b.ignored.map((k) => k.value));
  }
  return out;
}

function sameJson(raw: unknown, v: Value): boolean {
  if (v.t === 'int' || v.t === 'float') return typeof raw === 'number' && raw === v.v;
  if (v.t === 'bool' || v.t === 'string') return raw === v.v;
  return false;
}

/**
 * Checks the config's values against the spec's `refuse` lines (E0408 naming the key, the value and
 * what the spec accepts) and returns the keys the spec never mentions, as dotted paths: a top-level
 * key, or a key inside an object the spec reads some keys of (rope_scaling.finetuned).
 */
export function checkConfigFields(ctx: CheckContext, model: ModelDecl, config: Record<string, unknown>): string[] {
  for (const block of configBlocks(model)) {
    for (const r of block.refusals) {
      const allowed = r.unless.map((e) =>
        evalScalar(ctx, e, (name, loc) => {
          ctx.error('E0401', `'unless' takes constant values, not the name '${name}'`, loc);
          return ERROR;
        }),
      );
      if (allowed.some((v) => v.t === 'error')) continue;
      for (const key of r.keys) {
        const raw = lookupKey(config, key.value);
        if (raw === undefined || raw === null || allowed.some((v) => sameJson(raw, v))) continue;
        const accepted = allowed.length ? `absent, null or ${allowed.map(show).join(' or ')}` : 'absent or null';
        ctx.error('E0408', `config field ${quote(key.value)} is ${describeJson(raw)}, which '${model.name.name}' does not support (it must be ${accepted})`, key.loc);
      }
    }
  }
  const keys = declaredKeys(model);
  const declared = new Set([...keys.bound, ...keys.refused, ...keys.ignored]);
  const unread: string[] = [];
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const k of Object.keys(obj)) {
      const path = prefix + k;
      if (declared.has(path)) continue;
      const v = obj[k];
      const inside = [...declared].some((d) => d.startsWith(path + '.'));
      if (inside && isObject(v)) walk(v, path + '.');
      else if (inside && v === null) continue; // an object the spec reads from, set to null: nothing in it
      else unread.push(path);
    }
  };
  walk(config, '');
  return unread.sort();
}
