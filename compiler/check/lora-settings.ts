// Evaluates a spec's LoRA settings, `lora(rank = 8, alpha = 16, ...)`, on top of PEFT's defaults
// (compiler/lora/lora-config.ts).
import type { Arg, Loc } from '../language/ast.ts';
import type { CheckContext } from './context.ts';
import { bindArgs, type ArgSpec } from './functions.ts';
import { LORA_DEFAULTS, MAX_RANK, withScaling, type LoraConfig } from '../lora/lora-config.ts';
import { ERROR, evalScalar, isNumber, show, type Value } from './values.ts';

export const LORA_ARGS: ArgSpec[] = [
  { name: 'rank', kind: 'int', required: false },
  { name: 'alpha', kind: 'float', required: false },
  { name: 'dropout', kind: 'float', required: false },
  { name: 'init', kind: 'string', required: false },
  { name: 'rslora', kind: 'bool', required: false },
  { name: 'dora', kind: 'bool', required: false },
];

/** PEFT's rank_pattern / alpha_pattern can change only these two. */
export const OVERRIDE_ARGS: ArgSpec[] = LORA_ARGS.slice(0, 2);

const INITS: Record<string, LoraConfig['init']> = { default: 'default', gaussian: 'gaussian', random: 'random' };

/**
 * Applies `args` on top of `base`. Reports through ctx and returns undefined when a setting is
 * invalid. The argument-list shape (names, arity) is reported here too, once per location.
 */
export function evalLoraSettings(
  ctx: CheckContext,
  args: Arg[],
  where: Loc,
  lookup: (name: string, loc: Loc) => Value,
  base: LoraConfig = LORA_DEFAULTS,
  specs: ArgSpec[] = LORA_ARGS,
): LoraConfig | undefined {
  const bound = bindArgs({ args }, specs, specs === OVERRIDE_ARGS ? 'override' : 'lora');
  for (const p of bound.problems) ctx.error('E0305', p.message, p.arg?.loc ?? where);
  if (bound.problems.length) return undefined;
  const c: LoraConfig = { ...base };
  let ok = true;
  const bad = (msg: string, loc: Loc) => {
    ctx.error('E0604', msg, loc);
    ok = false;
  };
  for (const [name, a] of bound.byName) {
    const v = evalScalar(ctx, a.value, lookup);
    if (v === ERROR || v.t === 'error') {
      ok = false;
      continue;
    }
    const loc = a.value.loc;
    switch (name) {
      case 'rank':
        if (v.t !== 'int' || v.v < 1 || v.v > MAX_RANK) bad(`LoRA rank must be an integer from 1 to ${MAX_RANK}, not ${show(v)}`, loc);
        else c.rank = v.v;
        break;
      case 'alpha':
        if (!isNumber(v) || v.v <= 0) bad(`LoRA alpha must be a positive number, not ${show(v)}`, loc);
        else c.alpha = v.v;
        break;
      case 'dropout':
        if (!isNumber(v) || v.v < 0 || v.v >= 1) bad(`LoRA dropout must be in [0, 1), not ${show(v)}`, loc);
        else c.dropout = v.v;
        break;
      case 'init':
        // PEFT's init_lora_weights: true is the default init, false gives random B (for tests).
        if (v.t === 'bool') c.init = v.v ? 'default' : 'random';
        else if (v.t === 'string' && INITS[v.v]) c.init = INITS[v.v]!;
        else bad(`LoRA init must be "default", "gaussian", "random", true or false, not ${show(v)}`, loc);
        break;
      case 'rslora':
      case 'dora':
        if (v.t !== 'bool') bad(`LoRA ${name} must be true or false, not ${show(v)}`, loc);
        else c[name] = v.v;
        break;
    }
  }
  if (!ok) return undefined;
  return withScaling(c);
}
