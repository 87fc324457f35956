// The built-in functions and layers a model body can call, with their argument lists. The static
// rule known-functions.ts checks calls against this table; dataflow.ts evaluates them.
import type { Arg, Call } from '../language/ast.ts';

export type ArgKind = 'tensor' | 'int' | 'float' | 'bool' | 'string' | 'dims' | 'rope';

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
  rmsnorm: { args: [req('x', 'tensor'), opt('eps', 'float')], hasWeights: true, linear: false, summary: 'RMSNorm, weight [d]' },
  layernorm: { args: [req('x', 'tensor'), opt('eps', 'float'), opt('bias', 'bool')], hasWeights: true, linear: false, summary: 'LayerNorm, weight and bias [d]' },
  attention: {
    args: [req('q', 'tensor'), req('k', 'tensor'), req('v', 'tensor'), req('heads', 'int'), opt('kv_heads', 'int'), opt('head_dim', 'int'), opt('rope', 'rope'), opt('causal', 'bool')],
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
