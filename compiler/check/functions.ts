// The built-in functions and layers a model body can call, with their argument lists. The static
// rule known-functions.ts checks calls against this table; dataflow.ts evaluates them.
import type { Arg, Call, Loc } from '../language/ast.ts';
import type { CheckContext } from './context.ts';
import { isNumber, show, typeName, type Value } from './values.ts';

/**
 * 'rope': a number (theta), none or a rope(...) value; 'floats': a list of numbers; 'list': any
 * list; 'any': any value (select's branches).
 */
export type ArgKind = 'tensor' | 'int' | 'float' | 'bool' | 'string' | 'dims' | 'rope' | 'floats' | 'list' | 'any';

export interface ArgSpec {
  name: string;
  kind: ArgKind;
  required: boolean;
}

export interface FunctionSpec {
  args: ArgSpec[];
  /** Owns weights, so it needs `as "module"` and accepts frozen/trainable. */
  hasWeights: boolean;
  /** A linear map, so it accepts `lora` and `tied`. */
  linear: boolean;
  /** Accepts `lora` (linear maps and embedding tables, as PEFT's LoRA layers). */
  lora?: boolean;
  /** Computes a value from scalars (sqrt, select, len, rope): allowed in parameter defaults too. */
  scalar?: boolean;
  summary: string;
}

const req = (name: string, kind: ArgKind): ArgSpec => ({ name, kind, required: true });
const opt = (name: string, kind: ArgKind): ArgSpec => ({ name, kind, required: false });

const ACTIVATION: FunctionSpec = { args: [req('x', 'tensor')], hasWeights: false, linear: false, summary: 'activation' };

export const FUNCTIONS: Record<string, FunctionSpec> = {
  embedding: { args: [req('ids', 'tensor'), req('num', 'int'), req('dim', 'int')], hasWeights: true, linear: false, lora: true, summary: 'token embedding [num, dim]' },
  positions: { args: [req('ids', 'tensor'), req('num', 'int'), req('dim', 'int')], hasWeights: true, linear: false, lora: true, summary: 'learned position embedding [num, dim]' },
  linear: { args: [req('x', 'tensor'), req('dims', 'dims'), opt('bias', 'bool')], hasWeights: true, linear: true, lora: true, summary: 'linear map, weight [out, in]' },
  conv1d: { args: [req('x', 'tensor'), req('dims', 'dims'), opt('bias', 'bool')], hasWeights: true, linear: true, lora: true, summary: "GPT-2 Conv1D: a linear map stored [in, out]" },
  rmsnorm: { args: [req('x', 'tensor'), opt('eps', 'float'), opt('offset', 'float')], hasWeights: true, linear: false, summary: 'RMSNorm, weight [d] (used as offset + weight)' },
  layernorm: { args: [req('x', 'tensor'), opt('eps', 'float'), opt('bias', 'bool')], hasWeights: true, linear: false, summary: 'LayerNorm, weight and bias [d]' },
  attention: {
    args: [
      req('q', 'tensor'), req('k', 'tensor'), req('v', 'tensor'), req('heads', 'int'), opt('kv_heads', 'int'), opt('head_dim', 'int'),
      opt('rope', 'rope'), opt('causal', 'bool'), opt('window', 'int'),
    ],
    hasWeights: false,
    linear: false,
    summary: 'scaled dot-product self-attention',
  },
  gelu: ACTIVATION,
  gelu_tanh: ACTIVATION,
  silu: ACTIVATION,
  relu: ACTIVATION,
  act: { args: [req('x', 'tensor'), req('name', 'string')], hasWeights: false, linear: false, summary: 'activation by Hugging Face name' },
  split: { args: [req('x', 'tensor'), req('parts', 'int')], hasWeights: false, linear: false, summary: 'split the last dimension into equal parts' },
  slice: { args: [req('x', 'tensor'), req('start', 'int'), req('end', 'int')], hasWeights: false, linear: false, summary: 'features [start, end) of the last dimension' },
  // Scalar functions (also allowed in parameter defaults).
  sqrt: { args: [req('x', 'float')], hasWeights: false, linear: false, scalar: true, summary: 'square root of a number' },
  select: { args: [req('cond', 'bool'), req('then', 'any'), req('else', 'any')], hasWeights: false, linear: false, scalar: true, summary: 'then when cond, else else (only the chosen one is evaluated)' },
  len: { args: [req('list', 'list')], hasWeights: false, linear: false, scalar: true, summary: 'number of items of a list' },
  rope: {
    // Named as transformers' RoPE settings (rope_theta, then rope_scaling / rope_parameters keys).
    args: [
      req('theta', 'float'), opt('type', 'string'), opt('factor', 'float'), opt('low_freq_factor', 'float'), opt('high_freq_factor', 'float'),
      opt('original_max_position_embeddings', 'int'), opt('max_position_embeddings', 'int'), opt('beta_fast', 'float'), opt('beta_slow', 'float'),
      opt('mscale', 'float'), opt('mscale_all_dim', 'float'), opt('attention_factor', 'float'), opt('truncate', 'bool'),
      opt('partial_rotary_factor', 'float'), opt('short_factor', 'floats'), opt('long_factor', 'floats'),
    ],
    hasWeights: false,
    linear: false,
    scalar: true,
    summary: 'a rotary embedding as transformers configures it (for attention(rope = ...))',
  },
};

/** Hugging Face activation names (config.json's hidden_act / activation_function). */
export const ACTIVATION_NAMES: Record<string, 'gelu' | 'gelu_tanh' | 'silu' | 'relu'> = {
  gelu: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_tanh: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  silu: 'silu',
  swish: 'silu',
  relu: 'relu',
};

export interface BoundArgs {
  byName: Map<string, Arg>;
  problems: { message: string; arg?: Arg }[];
}

/** Matches a call's positional and named arguments to a spec's parameters, collecting problems. */
export function bindArgs(call: { args: Arg[] }, names: ArgSpec[], what: string): BoundArgs {
  const byName = new Map<string, Arg>();
  const problems: BoundArgs['problems'] = [];
  let pos = 0;
  let sawNamed = false;
  for (const a of call.args) {
    if (a.name) {
      sawNamed = true;
      const spec = names.find((s) => s.name === a.name!.name);
      if (!spec) problems.push({ message: `${what} has no argument '${a.name.name}' (arguments: ${names.map((n) => n.name).join(', ')})`, arg: a });
      else if (byName.has(spec.name)) problems.push({ message: `argument '${spec.name}' is given twice`, arg: a });
      else byName.set(spec.name, a);
      continue;
    }
    if (sawNamed) {
      problems.push({ message: 'a positional argument cannot follow a named one', arg: a });
      continue;
    }
    const spec = names[pos++];
    if (!spec) problems.push({ message: `${what} takes at most ${names.length} argument${names.length === 1 ? '' : 's'}`, arg: a });
    else byName.set(spec.name, a);
  }
  for (const s of names) if (s.required && !byName.has(s.name)) problems.push({ message: `${what} needs argument '${s.name}'` });
  for (const [name, a] of byName) {
    const spec = names.find((s) => s.name === name)!;
    if (spec.kind === 'dims' && !a.to) problems.push({ message: `argument '${name}' must be 'in -> out'`, arg: a });
    if (spec.kind !== 'dims' && a.to) problems.push({ message: `'->' only belongs in the dimensions of linear and conv1d`, arg: a });
  }
  return { byName, problems };
}

export function isCall(x: unknown): x is Call {
  return typeof x === 'object' && x !== null && (x as Call).kind === 'Call';
}

/** Whether `v` fits an argument of `kind`; reports E0401 naming the argument when not. */
export function checkArgKind(ctx: CheckContext, v: Value, kind: ArgKind, name: string, loc: Loc): boolean {
  if (v.t === 'error') return false;
  let ok: boolean;
  switch (kind) {
    case 'tensor': ok = v.t === 'tensor'; break;
    case 'int': ok = v.t === 'int'; break;
    case 'float': ok = isNumber(v); break;
    case 'bool': ok = v.t === 'bool'; break;
    case 'string': ok = v.t === 'string'; break;
    case 'rope': ok = isNumber(v) || v.t === 'none' || v.t === 'rope'; break;
    case 'floats': ok = v.t === 'list' && v.items.every(isNumber); break;
    case 'list': ok = v.t === 'list'; break;
    default: ok = true;
  }
  if (!ok) {
    const expected = kind === 'rope' ? 'a number (RoPE theta), a rope(...) or none'
      : kind === 'float' ? 'a number' : kind === 'floats' ? 'a list of numbers' : `${kind === 'int' ? 'an' : 'a'} ${kind}`;
    ctx.error('E0401', `argument '${name}' must be ${expected}, not ${typeName(v)} ${v.t === 'tensor' || v.t === 'tuple' ? '' : show(v)}`.trimEnd(), loc);
  }
  return ok;
}
