// Evaluates one call of a built-in function or layer: checks its arguments' types and shapes,
// creates its weights under the module name, and appends its op. Shape errors name both sides.
import type { Arg, Call, Loc } from '../language/ast.ts';
import { quote } from '../language/diagnostics.ts';
import { didYouMean } from './context.ts';
import { shapeText, type Elaborator } from './dataflow.ts';
import { ACTIVATION_NAMES, bindArgs, checkArgKind, FUNCTIONS } from './functions.ts';
import { evalLoraSettings } from './lora-settings.ts';
import { expandModuleName } from './module-names.ts';
import type { Layout, RopeConfig, Role, ValueId } from './model.ts';
import { scalarCall } from './scalar-calls.ts';
import { ERROR, isNumber, show, typeName, type Value } from './values.ts';

type Args = Map<string, { v: Value; to?: Value; arg: Arg }>;

/** Features of an activation tensor [B, T, F], or an error naming the tensor. */
function features(el: Elaborator, id: ValueId, what: string, loc: Loc): number | undefined {
  const t = el.tensor(id);
  if (t.dtype !== 'f32' || t.shape.length !== 3) {
    el.ctx.error('E0401', `${what} needs activations [B, T, features], but '${t.label}' is token ids ${shapeText(t.shape)}; embed them first`, loc);
    return undefined;
  }
  return t.shape[2] as number;
}

/** An inline `lora(...)` modifier: its settings, by module name, for the lora-targets rule. */
function inlineLora(el: Elaborator, c: Call, module: string): void {
  for (const mod of c.modifiers) {
    if (mod.kind !== 'Lora') continue;
    const s = evalLoraSettings(el.ctx, mod.args, mod.loc, (n) => el.lookup(n) ?? ERROR);
    if (!s) continue;
    const { biasMode, ...config } = s;
    el.inlineLora.set(module, { config, loc: mod.loc, ...(biasMode ? { biasMode } : {}) });
  }
}

export function applyFunction(el: Elaborator, c: Call): Value {
  const fname = c.callee.name;
  const spec = FUNCTIONS[fname];
  if (!spec) {
    el.ctx.error('E0304', `unknown function '${fname}'${didYouMean(fname, Object.keys(FUNCTIONS))}`, c.callee.loc);
    return ERROR;
  }
  if (spec.scalar) return scalarCall(el.ctx, c, (e) => el.expr(e));
  const bound = bindArgs(c, spec.args, `'${fname}'`);
  if (bound.problems.length) {
    for (const p of bound.problems) el.ctx.error('E0305', p.message, p.arg?.loc ?? c.callee.loc);
    return ERROR;
  }
  const args: Args = new Map();
  let ok = true;
  for (const s of spec.args) {
    const a = bound.byName.get(s.name);
    if (!a) continue;
    const v = el.expr(a.value);
    const to = a.to ? el.expr(a.to) : undefined;
    // none for an optional argument is the same as leaving it out (an optional parameter unset).
    if (v.t === 'none' && !s.required && s.kind !== 'rope' && !to) continue;
    if (s.kind === 'dims') ok = checkArgKind(el.ctx, v, 'int', `${s.name} (in)`, a.value.loc) && checkArgKind(el.ctx, to!, 'int', `${s.name} (out)`, a.to!.loc) && ok;
    else ok = checkArgKind(el.ctx, v, s.kind, s.name, a.value.loc) && ok;
    args.set(s.name, to ? { v, to, arg: a } : { v, arg: a });
  }
  if (!ok) return ERROR;
  const num = (name: string, dflt: number): number => {
    const a = args.get(name);
    return a && isNumber(a.v) ? a.v.v : dflt;
  };
  const bool = (name: string, dflt: boolean): boolean => {
    const a = args.get(name);
    return a && a.v.t === 'bool' ? a.v.v : dflt;
  };
  const tensorId = (name: string): ValueId => (args.get(name)!.v as { id: ValueId }).id;
  const argLoc = (name: string): Loc => args.get(name)?.arg.value.loc ?? c.callee.loc;
  const dim = (name: string, which: 'v' | 'to' = 'v'): number | undefined => {
    const a = args.get(name)!;
    return el.positiveInt(which === 'v' ? a.v : a.to!, which === 'v' ? a.arg.value.loc : a.arg.to!.loc, `'${name}'`);
  };

  // Layers with weights: the module name and the weights' role.
  let module = '';
  let role: Role = el.defaultRole;
  if (spec.hasWeights) {
    if (!c.module) {
      el.ctx.error('E0307', `${fname} owns weights, so it needs a module name: ${fname}(...) as "name"`, c.callee.loc);
      return ERROR;
    }
    const m = expandModuleName(el.ctx, c.module, el.lookup, el.names);
    if (m === undefined || !el.defineModule(m, fname, c.module.loc)) return ERROR;
    module = m;
    for (const mod of c.modifiers) if (mod.kind === 'Frozen' || mod.kind === 'Trainable') role = mod.kind === 'Frozen' ? 'frozen' : 'trainable';
  }
  const weight = (suffix: string, shape: number[], layout: Layout) => el.addWeight({ name: `${module}.${suffix}`, module, shape, layout, role }, c.module!.loc);

  switch (fname) {
    case 'embedding':
    case 'positions': {
      const ids = el.tensor(tensorId('ids'));
      if (ids.dtype !== 'i32') {
        el.ctx.error('E0401', `${fname} needs token ids ([B, T], from 'input ...: tokens'), but '${ids.label}' is ${shapeText(ids.shape)} activations`, argLoc('ids'));
        return ERROR;
      }
      const n = dim('num');
      const d = dim('dim');
      if (n === undefined || d === undefined) return ERROR;
      const w = weight('weight', [n, d], 'embedding');
      if (!w) return ERROR;
      inlineLora(el, c, module);
      const out = el.newValue(['B', 'T', d], 'f32', module);
      el.ops.push({ op: fname === 'embedding' ? 'embedding' : 'position_embedding', out, ids: ids.id, module, weight: w.name, num: n, dim: d });
      return { t: 'tensor', id: out };
    }
    case 'linear':
    case 'conv1d': {
      const x = tensorId('x');
      const f = features(el, x, fname, argLoc('x'));
      const inF = dim('dims');
      const outF = dim('dims', 'to');
      if (f === undefined || inF === undefined || outF === undefined) return ERROR;
      if (f !== inF) {
        el.ctx.error('E0501', `${fname} ${quote(module)} expects ${inF} input features, but '${el.tensor(x).label}' has shape ${shapeText(el.tensor(x).shape)}`, argLoc('dims'));
        return ERROR;
      }
      const layout = fname === 'conv1d' ? 'conv1d' : 'linear';
      const w = weight('weight', layout === 'conv1d' ? [inF, outF] : [outF, inF], layout);
      const b = bool('bias', true) ? weight('bias', [outF], 'vector') : undefined;
      if (!w) return ERROR;
      for (const mod of c.modifiers) if (mod.kind === 'Tied') tie(el, mod, w.name, [outF, inF]);
      inlineLora(el, c, module);
      const out = el.newValue(['B', 'T', outF], 'f32', module);
      el.ops.push({ op: 'linear', out, x, module, weight: w.name, ...(b ? { bias: b.name } : {}), inFeatures: inF, outFeatures: outF, layout, head: false });
      return { t: 'tensor', id: out };
    }
    case 'rmsnorm':
    case 'layernorm': {
      const x = tensorId('x');
      const f = features(el, x, fname, argLoc('x'));
      const eps = num('eps', fname === 'rmsnorm' ? 1e-6 : 1e-5);
      const offset = num('offset', 0);
      if (f === undefined) return ERROR;
      if (!(eps > 0 && eps < 1)) {
        el.ctx.error('E0404', `eps must be in (0, 1), not ${eps}`, argLoc('eps'));
        return ERROR;
      }
      const w = weight('weight', [f], 'vector');
      const b = fname === 'layernorm' && bool('bias', true) ? weight('bias', [f], 'vector') : undefined;
      if (!w) return ERROR;
      const out = el.newValue(['B', 'T', f], 'f32', module);
      if (fname === 'rmsnorm') el.ops.push({ op: 'rmsnorm', out, x, module, weight: w.name, eps, offset });
      else el.ops.push({ op: 'layernorm', out, x, module, weight: w.name, ...(b ? { bias: b.name } : {}), eps });
      return { t: 'tensor', id: out };
    }
    case 'attention':
      return attention(el, args, bool, tensorId, argLoc);
    case 'gelu':
    case 'gelu_tanh':
    case 'silu':
    case 'relu':
    case 'act': {
      const x = tensorId('x');
      if (features(el, x, fname, argLoc('x')) === undefined) return ERROR;
      let fn = fname as 'gelu' | 'gelu_tanh' | 'silu' | 'relu';
      if (fname === 'act') {
        const name = (args.get('name')!.v as { v: string }).v;
        const mapped = ACTIVATION_NAMES[name];
        if (!mapped) {
          el.ctx.error('E0404', `unknown activation ${quote(name)} (known: ${Object.keys(ACTIVATION_NAMES).join(', ')})`, argLoc('name'));
          return ERROR;
        }
        fn = mapped;
      }
      const out = el.newValue([...el.tensor(x).shape], 'f32', fn);
      el.ops.push({ op: 'activation', out, x, fn });
      return { t: 'tensor', id: out };
    }
    case 'split': {
      const x = tensorId('x');
      const f = features(el, x, 'split', argLoc('x'));
      const parts = dim('parts');
      if (f === undefined || parts === undefined) return ERROR;
      if (f % parts !== 0) {
        el.ctx.error('E0501', `cannot split '${el.tensor(x).label}' ${shapeText(el.tensor(x).shape)} into ${parts} equal parts: ${f} is not a multiple of ${parts}`, argLoc('parts'));
        return ERROR;
      }
      const size = f / parts;
      const ids: ValueId[] = [];
      for (let i = 0; i < parts; i++) {
        const out = el.newValue(['B', 'T', size], 'f32', `split${i}`);
        el.ops.push({ op: 'slice', out, x, start: i * size, end: (i + 1) * size });
        ids.push(out);
      }
      return { t: 'tuple', ids };
    }
    case 'slice': {
      const x = tensorId('x');
      const f = features(el, x, 'slice', argLoc('x'));
      const start = (args.get('start')!.v as { v: number }).v;
      const end = (args.get('end')!.v as { v: number }).v;
      if (f === undefined) return ERROR;
      if (!(start >= 0 && start < end && end <= f)) {
        el.ctx.error('E0501', `cannot slice features [${start}, ${end}) of '${el.tensor(x).label}' ${shapeText(el.tensor(x).shape)}: need 0 <= start < end <= ${f}`, argLoc('start'));
        return ERROR;
      }
      const out = el.newValue(['B', 'T', end - start], 'f32', 'slice');
      el.ops.push({ op: 'slice', out, x, start, end });
      return { t: 'tensor', id: out };
    }
  }
  return ERROR;
}

function attention(
  el: Elaborator,
  args: Args,
  bool: (n: string, d: boolean) => boolean,
  tensorId: (n: string) => ValueId,
  argLoc: (n: string) => Loc,
): Value {
  const [q, k, v] = ['q', 'k', 'v'].map(tensorId) as [ValueId, ValueId, ValueId];
  const fq = features(el, q, 'attention', argLoc('q'));
  const fk = features(el, k, 'attention', argLoc('k'));
  const fv = features(el, v, 'attention', argLoc('v'));
  const heads = el.positiveInt(args.get('heads')!.v, argLoc('heads'), "'heads'");
  const kvArg = args.get('kv_heads');
  const kvHeads = kvArg ? el.positiveInt(kvArg.v, argLoc('kv_heads'), "'kv_heads'") : heads;
  if (fq === undefined || fk === undefined || fv === undefined || heads === undefined || kvHeads === undefined) return ERROR;
  const hdArg = args.get('head_dim');
  let headDim: number | undefined;
  if (hdArg) headDim = el.positiveInt(hdArg.v, argLoc('head_dim'), "'head_dim'");
  else if (fq % heads !== 0) {
    el.ctx.error('E0502', `q has ${fq} features, which ${heads} heads do not divide; give head_dim explicitly`, argLoc('heads'));
    return ERROR;
  } else headDim = fq / heads;
  if (headDim === undefined) return ERROR;
  if (heads % kvHeads !== 0) {
    el.ctx.error('E0502', `heads (${heads}) must be a multiple of kv_heads (${kvHeads}) for grouped-query attention`, kvArg ? argLoc('kv_heads') : argLoc('heads'));
    return ERROR;
  }
  const side = (id: ValueId, f: number, n: number, who: string, loc: Loc): boolean => {
    if (f === n * headDim!) return true;
    const t = el.tensor(id);
    el.ctx.error('E0501', `attention ${who} '${t.label}' has shape ${shapeText(t.shape)}, but ${who === 'q' ? 'heads' : 'kv_heads'} × head_dim = ${n} × ${headDim} = ${n * headDim!}`, loc);
    return false;
  };
  if (!side(q, fq, heads, 'q', argLoc('q')) || !side(k, fk, kvHeads, 'k', argLoc('k')) || !side(v, fv, kvHeads, 'v', argLoc('v'))) return ERROR;
  const rope = ropeOf(el, args.get('rope'), headDim, argLoc('rope'));
  if (rope === undefined) return ERROR;
  const causal = bool('causal', true);
  const windowArg = args.get('window');
  let window: number | null = null;
  if (windowArg) {
    const w = el.positiveInt(windowArg.v, argLoc('window'), "'window'");
    if (w === undefined) return ERROR;
    if (!causal) {
      el.ctx.error('E0502', 'a sliding window needs causal attention', argLoc('window'));
      return ERROR;
    }
    window = w;
  }
  const out = el.newValue(['B', 'T', heads * headDim], 'f32', 'attention');
  el.ops.push({ op: 'attention', out, q, k, v, heads, kvHeads, headDim, rope, causal, window });
  return { t: 'tensor', id: out };
}

/**
 * The attention's RoPE from its `rope` argument: none, a theta (the default type) or a rope(...)
 * value, whose rotary dim is int(head_dim · partial_rotary_factor) as transformers computes it.
 * undefined after an error.
 */
function ropeOf(el: Elaborator, arg: { v: Value } | undefined, headDim: number, loc: Loc): RopeConfig | null | undefined {
  if (!arg || arg.v.t === 'none') return null;
  if (isNumber(arg.v) && !(arg.v.v > 0)) {
    el.ctx.error('E0404', `RoPE theta must be positive, not ${arg.v.v}`, loc);
    return undefined;
  }
  const value = isNumber(arg.v) ? { type: 'default' as const, theta: arg.v.v, partial: 1 } : arg.v.t === 'rope' ? arg.v.rope : undefined;
  if (!value) return undefined;
  const { partial, ...rest } = value;
  const dim = Math.trunc(headDim * partial);
  if (dim % 2 !== 0 || dim < 2) {
    const why = partial === 1 ? `head_dim ${headDim}` : `partial_rotary_factor ${partial} of head_dim ${headDim} (${dim} features)`;
    el.ctx.error('E0502', `RoPE needs an even rotary dimension, not ${why}`, loc);
    return undefined;
  }
  for (const [key, list] of [['short_factor', rest.shortFactor], ['long_factor', rest.longFactor]] as const) {
    if (list && list.length !== dim / 2) {
      el.ctx.error('E0502', `${key} has ${list.length} values, but the rotary dimension ${dim} needs ${dim / 2}`, loc);
      return undefined;
    }
  }
  return { ...rest, dim };
}

/** `tied "module" [when cond]`: share the weight of an earlier embedding or linear of the same logical shape. */
function tie(el: Elaborator, mod: Extract<Call['modifiers'][number], { kind: 'Tied' }>, own: string, logical: [number, number]): void {
  if (mod.when) {
    const w = el.expr(mod.when);
    if (w.t === 'error') return;
    if (w.t !== 'bool') {
      el.ctx.error('E0401', `'when' needs a bool, not ${typeName(w)} ${show(w)}`, mod.when.loc);
      return;
    }
    if (!w.v) return;
  }
  const target = expandModuleName(el.ctx, mod.target, el.lookup, el.names);
  if (target === undefined) return;
  const def = el.modules.get(target);
  const tw = el.weightByName.get(`${target}.weight`);
  if (!def || !tw || tw.name === own) {
    el.ctx.error('E0309', `tied to ${quote(target)}, but no earlier layer has that module name${didYouMean(target, el.modules.keys())}`, mod.target.loc);
    return;
  }
  const theirs = tw.layout === 'conv1d' ? [tw.shape[1], tw.shape[0]] : tw.shape;
  if (theirs.length !== 2 || theirs[0] !== logical[0] || theirs[1] !== logical[1]) {
    el.ctx.error('E0501', `cannot tie ${quote(own)} [${logical.join(', ')}] (out, in) to ${quote(tw.name)} ${shapeText(tw.shape)}: shapes differ`, mod.target.loc);
    return;
  }
  const w = el.weightByName.get(own)!;
  w.tiedTo = tw.tiedTo ?? tw.name;
  // A tied weight is one tensor: it is frozen or trained together with its owner.
  w.role = tw.role;
}
