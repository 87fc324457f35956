// Rule: the `train` block's settings are known keys with values of the right type and range.
// Values may use model parameters (`seq = ctx`). With learned positions, seq may not exceed them.
import type { Arg, Call, Loc, Spec, TrainDecl } from '../../language/ast.ts';
import { didYouMean, type CheckContext } from '../context.ts';
import type { Elaborator } from '../dataflow.ts';
import { bindArgs, type ArgSpec } from '../functions.ts';
import type { OptimizerConfig, ScheduleConfig, TrainConfig } from '../model.ts';
import { ERROR, evalScalar, isNumber, show, type Value } from '../values.ts';
import { RECOMPUTE_MODES } from '../../passes/recompute.ts';

const f = (name: string, required = false): ArgSpec => ({ name, kind: 'float', required });
const OPTIMIZERS: Record<string, ArgSpec[]> = {
  adamw: [f('lr', true), f('weight_decay'), f('beta1'), f('beta2'), f('eps')],
  adam: [f('lr', true), f('weight_decay'), f('beta1'), f('beta2'), f('eps')],
  sgd: [f('lr', true), f('momentum'), f('weight_decay')],
};
const SCHEDULES: Record<string, ArgSpec[]> = { constant: [], cosine: [f('warmup'), f('min_lr')], linear: [f('warmup'), f('min_lr')] };

type Kind = 'posint' | 'nonneg_int' | 'posfloat' | 'string' | 'optimizer' | 'schedule' | 'recompute';
const SETTINGS: Record<string, { key: keyof TrainConfig; kind: Kind }> = {
  optimizer: { key: 'optimizer', kind: 'optimizer' },
  schedule: { key: 'schedule', kind: 'schedule' },
  batch: { key: 'batch', kind: 'posint' },
  seq: { key: 'seq', kind: 'posint' },
  steps: { key: 'steps', kind: 'posint' },
  grad_accum: { key: 'gradAccum', kind: 'posint' },
  log_every: { key: 'logEvery', kind: 'posint' },
  save_every: { key: 'saveEvery', kind: 'posint' },
  eval_every: { key: 'evalEvery', kind: 'posint' },
  seed: { key: 'seed', kind: 'nonneg_int' },
  max_grad_norm: { key: 'maxGradNorm', kind: 'posfloat' },
  data: { key: 'data', kind: 'string' },
  out: { key: 'out', kind: 'string' },
  recompute: { key: 'recompute', kind: 'recompute' },
};

function callArgs(ctx: CheckContext, c: Call, specs: ArgSpec[], lookup: (n: string) => Value): Map<string, number> | undefined {
  const b = bindArgs(c, specs, `'${c.callee.name}'`);
  for (const p of b.problems) ctx.error('E0305', p.message, p.arg?.loc ?? c.callee.loc);
  if (b.problems.length) return undefined;
  const out = new Map<string, number>();
  let ok = true;
  for (const [name, a] of b.byName as Map<string, Arg>) {
    const v = evalScalar(ctx, a.value, lookup);
    if (v.t === 'error') ok = false;
    else if (!isNumber(v) || v.v < 0) {
      ctx.error('E0702', `'${name}' must be a non-negative number, not ${show(v)}`, a.value.loc);
      ok = false;
    } else out.set(name, v.v);
  }
  return ok ? out : undefined;
}

function optimizer(ctx: CheckContext, c: Call, lookup: (n: string) => Value): OptimizerConfig | undefined {
  const a = callArgs(ctx, c, OPTIMIZERS[c.callee.name]!, lookup);
  if (!a) return undefined;
  const o: OptimizerConfig = {
    name: c.callee.name as OptimizerConfig['name'],
    lr: a.get('lr')!,
    weightDecay: a.get('weight_decay') ?? (c.callee.name === 'adamw' ? 0.01 : 0),
    beta1: a.get('beta1') ?? 0.9,
    beta2: a.get('beta2') ?? 0.999,
    eps: a.get('eps') ?? 1e-8,
    momentum: a.get('momentum') ?? 0,
  };
  const loc = (n: string): Loc => c.args.find((x) => x.name?.name === n)?.value.loc ?? c.callee.loc;
  if (!(o.lr > 0)) ctx.error('E0702', `learning rate must be positive, not ${o.lr}`, loc('lr'));
  else if (o.beta1 >= 1 || o.beta2 >= 1) ctx.error('E0702', `betas must be below 1`, loc(o.beta1 >= 1 ? 'beta1' : 'beta2'));
  else if (!(o.eps > 0)) ctx.error('E0702', `eps must be positive`, loc('eps'));
  else return o;
  return undefined;
}

export function checkTrain(ctx: CheckContext, spec: Spec, params: Map<string, Value>, el: Elaborator | undefined): TrainConfig | undefined {
  const decl = spec.decls.find((d): d is TrainDecl => d.kind === 'Train');
  if (!decl) return undefined;
  const lookup = (n: string) => params.get(n) ?? ERROR;
  const out: TrainConfig = {};
  for (const s of decl.settings) {
    const def = SETTINGS[s.name.name];
    if (!def) {
      ctx.error('E0701', `unknown train setting '${s.name.name}'${didYouMean(s.name.name, Object.keys(SETTINGS))}`, s.name.loc);
      continue;
    }
    const e = s.value;
    if (def.kind === 'optimizer' || def.kind === 'schedule') {
      const table = def.kind === 'optimizer' ? OPTIMIZERS : SCHEDULES;
      if (e.kind !== 'Call' || !table[e.callee.name] || e.module || e.modifiers.length) {
        const got = e.kind === 'Call' ? `'${e.callee.name}'` : 'a value';
        ctx.error('E0702', `${s.name.name} must be one of ${Object.keys(table).map((k) => k + '(...)').join(', ')}, not ${got}`, e.kind === 'Call' ? e.callee.loc : e.loc);
        continue;
      }
      if (def.kind === 'optimizer') {
        const o = optimizer(ctx, e, lookup);
        if (o) out.optimizer = o;
      } else {
        const a = callArgs(ctx, e, SCHEDULES[e.callee.name]!, lookup);
        if (a) out.schedule = { name: e.callee.name as ScheduleConfig['name'], warmup: Math.floor(a.get('warmup') ?? 0), minLr: a.get('min_lr') ?? 0 };
      }
      continue;
    }
    const v = evalScalar(ctx, e, lookup);
    if (v.t === 'error') continue;
    const bad = (what: string) => ctx.error('E0702', `${s.name.name} must be ${what}, not ${show(v)}`, e.loc);
    if (def.kind === 'recompute') {
      if (v.t !== 'string' || !(RECOMPUTE_MODES as readonly string[]).includes(v.v)) bad(`one of ${RECOMPUTE_MODES.map((m) => `"${m}"`).join(', ')}`);
      else out.recompute = v.v as TrainConfig['recompute'];
    } else if (def.kind === 'string') {
      if (v.t !== 'string') bad('a string');
      else (out as Record<string, unknown>)[def.key] = v.v;
    } else if (def.kind === 'posfloat') {
      if (!isNumber(v) || !(v.v > 0)) bad('a positive number');
      else (out as Record<string, unknown>)[def.key] = v.v;
    } else if (v.t !== 'int' || v.v < (def.kind === 'posint' ? 1 : 0)) bad(def.kind === 'posint' ? 'a positive int' : 'an int >= 0');
    else (out as Record<string, unknown>)[def.key] = v.v;
  }
  if (el && out.seq !== undefined) {
    for (const op of el.ops) {
      if (op.op === 'position_embedding' && out.seq > op.num) {
        const s = decl.settings.find((x) => x.name.name === 'seq')!;
        ctx.error('E0503', `seq = ${out.seq} is longer than the ${op.num} learned positions of ${op.module}`, s.value.loc);
        break;
      }
    }
  }
  return out;
}
