// Rule: resolves `lora targets` blocks over the unrolled module names with PEFT's semantics and
// attaches each linear's LoRA settings. A list item matches a module equal to it or ending in
// "." + item; `regex` must match the whole name; `all-linear` is every linear except the output
// head. An override pattern P applies where `(.*\.)?(P)` matches the whole name (PEFT's
// rank_pattern). Errors: a pattern that matches nothing, a match that is not linear, a module
// configured twice.
import type { Loc, Spec } from '../../language/ast.ts';
import { quote } from '../../language/diagnostics.ts';
import { didYouMean, type CheckContext } from '../context.ts';
import type { Elaborator } from '../dataflow.ts';
import { evalLoraSettings, OVERRIDE_ARGS } from '../../lora/lora-config.ts';
import type { LoraConfig, LoraTarget, Op } from '../model.ts';
import { ERROR, type Value } from '../values.ts';

type LinearOp = Extract<Op, { op: 'linear' }>;

function compile(ctx: CheckContext, source: string, loc: Loc, wrap: (p: string) => string): RegExp | undefined {
  try {
    return new RegExp(wrap(source), 'u');
  } catch (e) {
    ctx.error('E0605', `bad regular expression ${quote(source)}: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`, loc);
    return undefined;
  }
}

export function resolveLoraTargets(ctx: CheckContext, spec: Spec, el: Elaborator, params: Map<string, Value>): LoraTarget[] {
  const lookup = (n: string) => params.get(n) ?? ERROR;
  const linears = new Map<string, LinearOp>();
  for (const op of el.ops) if (op.op === 'linear') linears.set(op.module, op);
  const assigned = new Map<string, { config: LoraConfig; loc: Loc }>(el.inlineLora);
  const lastSegments = () => new Set([...el.modules.keys()].map((m) => m.slice(m.lastIndexOf('.') + 1)));

  for (const decl of spec.decls) {
    if (decl.kind !== 'LoraDecl') continue;
    const base = evalLoraSettings(ctx, decl.args, decl.loc, lookup);
    const matched: string[] = [];
    const take = (modules: string[], what: string, loc: Loc): void => {
      if (modules.length === 0) {
        ctx.error('E0602', `LoRA target ${what} matches no module${what.startsWith("'") ? didYouMean(what.slice(1, -1), lastSegments()) : ''}`, loc);
        return;
      }
      const bad = modules.find((m) => !linears.has(m));
      if (bad) ctx.error('E0601', `LoRA target ${what} matches ${quote(bad)} (${el.modules.get(bad)!.fn}); LoRA applies only to linear and conv1d layers`, loc);
      matched.push(...modules.filter((m) => linears.has(m)));
    };
    const t = decl.target;
    if (t.kind === 'List') {
      for (const item of t.items) take([...el.modules.keys()].filter((m) => m === item.value || m.endsWith('.' + item.value)), quote(item.value), item.loc);
    } else if (t.kind === 'Regex') {
      const re = compile(ctx, t.pattern.value, t.pattern.loc, (p) => `^(?:${p})$`);
      if (re) take([...el.modules.keys()].filter((m) => re.test(m)), `regex ${quote(t.pattern.value)}`, t.pattern.loc);
    } else {
      take([...linears.values()].filter((op) => !op.head).map((op) => op.module), 'all-linear', t.loc);
    }
    if (!base) continue;
    const configs = new Map<string, LoraConfig>(matched.map((m) => [m, base]));
    for (const o of decl.overrides) {
      const re = compile(ctx, o.pattern.value, o.pattern.loc, (p) => `^(?:.*\\.)?(?:${p})$`);
      const cfg = evalLoraSettings(ctx, o.args, o.loc, lookup, base, OVERRIDE_ARGS);
      if (!re) continue;
      const hits = matched.filter((m) => re.test(m));
      if (hits.length === 0) ctx.error('E0602', `override ${quote(o.pattern.value)} matches none of this block's ${matched.length} targets`, o.pattern.loc);
      if (cfg) for (const m of hits) configs.set(m, cfg);
    }
    for (const [m, config] of configs) {
      const prev = assigned.get(m);
      if (prev) {
        ctx.error('E0603', `module ${quote(m)} already has LoRA settings from line ${prev.loc.line}`, t.loc);
        continue;
      }
      assigned.set(m, { config, loc: t.loc });
    }
  }

  const targets: LoraTarget[] = [];
  for (const op of linears.values()) {
    const a = assigned.get(op.module);
    if (!a) continue;
    op.lora = a.config;
    targets.push({ module: op.module, inFeatures: op.inFeatures, outFeatures: op.outFeatures, config: a.config });
    const r = a.config.rank;
    const add = (suffix: string, shape: number[]) =>
      el.addWeight({ name: `${op.module}.${suffix}`, module: op.module, shape, layout: suffix.startsWith('lora_magnitude') ? 'vector' : 'linear', role: 'adapter' }, el.modules.get(op.module)!.loc);
    add('lora_A.weight', [r, op.inFeatures]);
    add('lora_B.weight', [op.outFeatures, r]);
    if (a.config.dora) add('lora_magnitude_vector.weight', [op.outFeatures]);
  }
  return targets;
}
