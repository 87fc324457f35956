// The built-in functions of scalars: sqrt(x), select(cond, then, else), len(list) and rope(...),
// allowed in the model body and in parameter defaults. select evaluates only the branch it picks,
// so `select(layer_types == none, ..., layer_types[i] == "...")` never indexes a missing list.
// rope(...) checks a RoPE configuration as transformers would read it; its arguments are named as
// transformers names them (rope_scaling / rope_parameters keys), so messages name the config field.
import type { Arg, Call, Expr, Loc } from '../language/ast.ts';
import { quote } from '../language/diagnostics.ts';
import type { CheckContext } from './context.ts';
import { bindArgs, checkArgKind, FUNCTIONS, type ArgKind } from './functions.ts';
import { ROPE_TYPES, type RopeType } from './model.ts';
import { ERROR, isNumber, type RopeValue, type Value } from './values.ts';

export function isScalarFunction(name: string): boolean {
  return FUNCTIONS[name]?.scalar === true;
}

/** Evaluates a call of a scalar built-in; `ev` evaluates an argument expression in the caller's scope. */
export function scalarCall(ctx: CheckContext, c: Call, ev: (e: Expr) => Value): Value {
  const name = c.callee.name;
  const spec = FUNCTIONS[name];
  if (!spec?.scalar) {
    ctx.error('E0401', `'${name}(...)' is not allowed here: expected a constant value`, c.callee.loc);
    return ERROR;
  }
  const bound = bindArgs(c, spec.args, `'${name}'`);
  if (bound.problems.length) {
    for (const p of bound.problems) ctx.error('E0305', p.message, p.arg?.loc ?? c.callee.loc);
    return ERROR;
  }
  const arg = (n: string): Arg | undefined => bound.byName.get(n);
  switch (name) {
    case 'select': {
      const cond = ev(arg('cond')!.value);
      if (!checkArgKind(ctx, cond, 'bool', 'cond', arg('cond')!.value.loc)) return ERROR;
      return ev(arg(cond.t === 'bool' && cond.v ? 'then' : 'else')!.value);
    }
    case 'sqrt': {
      const x = ev(arg('x')!.value);
      if (!checkArgKind(ctx, x, 'float', 'x', arg('x')!.value.loc) || !isNumber(x)) return ERROR;
      if (x.v < 0) {
        ctx.error('E0404', `sqrt of a negative number (${x.v})`, arg('x')!.value.loc);
        return ERROR;
      }
      return { t: 'float', v: Math.sqrt(x.v) };
    }
    case 'len': {
      const l = ev(arg('list')!.value);
      if (!checkArgKind(ctx, l, 'list', 'list', arg('list')!.value.loc) || l.t !== 'list') return ERROR;
      return { t: 'int', v: l.items.length };
    }
    case 'rope':
      return rope(ctx, c, (n, kind) => {
        const a = arg(n);
        if (!a) return undefined;
        const v = ev(a.value);
        if (v.t === 'none') return undefined; // none is "not set", as null is in a config
        return checkArgKind(ctx, v, kind, n, a.value.loc) ? { v, loc: a.value.loc } : ERROR;
      });
  }
  ctx.error('E0901', `internal error: scalar function '${name}' has no evaluator`, c.callee.loc);
  return ERROR;
}

type Getter = (name: string, kind: ArgKind) => { v: Value; loc: Loc } | typeof ERROR | undefined;

/** What each RoPE type reads besides rope_theta (transformers' _compute_*_parameters). */
const NEEDS: Record<RopeType, string[]> = {
  default: [],
  linear: ['factor'],
  dynamic: ['factor', 'max_position_embeddings'],
  llama3: ['factor', 'low_freq_factor', 'high_freq_factor'],
  yarn: [],
  longrope: ['short_factor', 'long_factor'],
};

/** The RopeConfig fields each type's formula reads (the others are left out of the checked model). */
const USES: Record<RopeType, (keyof RopeValue)[]> = {
  default: [],
  linear: ['factor'],
  dynamic: ['factor', 'maxPositions'],
  llama3: ['factor', 'lowFreqFactor', 'highFreqFactor', 'originalMaxPositions'],
  yarn: ['factor', 'originalMaxPositions', 'maxPositions', 'betaFast', 'betaSlow', 'mscale', 'mscaleAllDim', 'attentionFactor', 'truncate'],
  longrope: ['factor', 'originalMaxPositions', 'maxPositions', 'attentionFactor', 'shortFactor', 'longFactor'],
};

function rope(ctx: CheckContext, c: Call, get: Getter): Value {
  const fields = new Map<string, { v: Value; loc: Loc }>();
  let failed = false;
  const spec = FUNCTIONS['rope']!;
  for (const a of spec.args) {
    const got = get(a.name, a.kind);
    if (got === ERROR) failed = true;
    else if (got) fields.set(a.name, got as { v: Value; loc: Loc });
  }
  if (failed) return ERROR;
  const num = (n: string): number | undefined => {
    const f = fields.get(n);
    return f && isNumber(f.v) ? f.v.v : undefined;
  };
  const list = (n: string): number[] | undefined => {
    const f = fields.get(n);
    return f && f.v.t === 'list' ? f.v.items.map((x) => (x as { v: number }).v) : undefined;
  };
  const locOf = (n: string): Loc => fields.get(n)?.loc ?? c.callee.loc;
  const bad = (n: string, message: string): Value => {
    ctx.error('E0404', message, locOf(n));
    return ERROR;
  };

  const typeField = fields.get('type');
  const type = typeField && typeField.v.t === 'string' ? typeField.v.v : 'default';
  if (!(ROPE_TYPES as readonly string[]).includes(type)) {
    return bad('type', `RoPE type ${quote(type)} (rope_type) is not supported; supported: ${ROPE_TYPES.join(', ')}`);
  }
  const t = type as RopeType;
  const theta = num('theta')!;
  if (!(theta > 0)) return bad('theta', `rope_theta must be positive, not ${theta}`);
  for (const n of ['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings', 'max_position_embeddings', 'beta_fast', 'beta_slow', 'attention_factor']) {
    const v = num(n);
    if (v !== undefined && !(v > 0)) return bad(n, `${n} must be positive, not ${v}`);
  }
  const partial = num('partial_rotary_factor') ?? 1;
  if (!(partial > 0 && partial <= 1)) return bad('partial_rotary_factor', `partial_rotary_factor must be in (0, 1], not ${partial}`);
  for (const n of NEEDS[t]) {
    if (!fields.has(n)) return bad('type', `RoPE type '${t}' needs ${n} (in rope_scaling / rope_parameters), which the config does not give`);
  }
  const maxPositions = num('max_position_embeddings');
  // transformers 5 fills original_max_position_embeddings from max_position_embeddings when missing.
  const original = num('original_max_position_embeddings') ?? maxPositions;
  if ((t === 'llama3' || t === 'yarn' || t === 'longrope') && original === undefined) {
    return bad('type', `RoPE type '${t}' needs original_max_position_embeddings or max_position_embeddings`);
  }
  if ((t === 'yarn' || t === 'longrope') && num('factor') === undefined && maxPositions === undefined) {
    return bad('type', `RoPE type '${t}' needs factor or max_position_embeddings`);
  }
  if (t === 'llama3' && !(num('low_freq_factor')! < num('high_freq_factor')!)) {
    return bad('high_freq_factor', `llama3 RoPE needs low_freq_factor < high_freq_factor, not ${num('low_freq_factor')} and ${num('high_freq_factor')}`);
  }
  const r: RopeValue = { type: t, theta, partial };
  const uses = USES[t];
  const set = <K extends keyof RopeValue>(k: K, v: RopeValue[K] | undefined) => {
    if (v !== undefined && uses.includes(k)) r[k] = v;
  };
  set('factor', num('factor'));
  set('lowFreqFactor', num('low_freq_factor'));
  set('highFreqFactor', num('high_freq_factor'));
  set('originalMaxPositions', original);
  set('maxPositions', maxPositions);
  set('betaFast', num('beta_fast'));
  set('betaSlow', num('beta_slow'));
  set('mscale', num('mscale'));
  set('mscaleAllDim', num('mscale_all_dim'));
  set('attentionFactor', num('attention_factor'));
  const truncate = fields.get('truncate');
  if (truncate && truncate.v.t === 'bool') set('truncate', truncate.v.v);
  set('shortFactor', list('short_factor'));
  set('longFactor', list('long_factor'));
  return { t: 'rope', rope: r };
}

