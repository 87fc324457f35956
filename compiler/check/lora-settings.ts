// Evaluates a spec's LoRA settings, `lora(rank = 8, alpha = 16, ...)`, on top of PEFT's defaults
// (compiler/lora/lora-config.ts).
import type { Arg, Loc } from '../language/ast.ts';
import type { CheckContext } from './context.ts';
import { bindArgs, type ArgSpec } from './functions.ts';
import { initFromPeft, LORA_DEFAULTS, MAX_RANK, withScaling, type BiasMode, type LoraConfig } from '../lora/lora-config.ts';
import { ERROR, evalScalar, isNumber, show, type Value } from './values.ts';

export const LORA_ARGS: ArgSpec[] = [
  { name: 'rank', kind: 'int', required: false },
  { name: 'alpha', kind: 'float', required: false },
  { name: 'dropout', kind: 'float', required: false },
  { name: 'init', kind: 'string', required: false },
  { name: 'rslora', kind: 'bool', required: false },
  { name: 'dora', kind: 'bool', required: false },
  { name: 'lora_bias', kind: 'bool', required: false },
  { name: 'bias', kind: 'string', required: false },
];

/** PEFT's rank_pattern / alpha_pattern can change only these two. */
export const OVERRIDE_ARGS: ArgSpec[] = LORA_ARGS.slice(0, 2);

const BIAS_MODES: BiasMode[] = ['none', 'all', 'lora_only'];

/** The LoRA settings of a spec: the per-module config, and PEFT's `bias` when given. */
export interface LoraSettings extends LoraConfig {
  biasMode?: { mode: BiasMode; loc: Loc };
}

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
): LoraSettings | undefined {
  const bound = bindArgs({ args }, specs, specs === OVERRIDE_ARGS ? 'override' : 'lora');
  for (const p of bound.problems) ctx.error('E0305', p.message, p.arg?.loc ?? where);
  if (bound.problems.length) return undefined;
  const c: LoraSettings = { ...base };
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
      case 'init': {
        // PEFT's init_lora_weights ("default" = true, "random" = false), checked as for training.
        const init = v.t === 'bool' ? initFromPeft(v.v, true) : v.t === 'string' ? (v.v === 'default' ? 'default' : v.v === 'random' ? 'random' : initFromPeft(v.v, true)) : undefined;
        if (typeof init === 'string') c.init = init;
        else bad(`LoRA init must be "default", "gaussian", "random", "pissa", "pissa_niter_K", "olora", true or false, not ${show(v)}${init ? `: ${init.error}` : ''}`, loc);
        break;
      }
      case 'rslora':
      case 'dora':
        if (v.t !== 'bool') bad(`LoRA ${name} must be true or false, not ${show(v)}`, loc);
        else c[name] = v.v;
        break;
      case 'lora_bias':
        if (v.t !== 'bool') bad(`LoRA lora_bias must be true or false, not ${show(v)}`, loc);
        else c.loraBias = v.v;
        break;
      case 'bias':
        if (v.t !== 'string' || !(BIAS_MODES as string[]).includes(v.v)) bad(`LoRA bias must be "none", "all" or "lora_only", not ${show(v)}`, loc);
        else c.biasMode = { mode: v.v as BiasMode, loc };
        break;
    }
  }
  if (c.loraBias && c.dora) bad('LoRA lora_bias is not supported with DoRA (as in PEFT)', where);
  if (c.loraBias && c.init !== 'default' && c.init !== 'random') bad(`LoRA lora_bias needs init true or false, not "${c.init}" (as in PEFT)`, where);
  if (!ok) return undefined;
  const { biasMode, ...config } = c;
  return { ...withScaling(config), ...(biasMode ? { biasMode } : {}) };
}
