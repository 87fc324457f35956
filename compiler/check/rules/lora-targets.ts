// Rule: resolves `lora targets` blocks over the unrolled module names with PEFT's semantics
// (compiler/lora/targets.ts) and attaches each linear's LoRA settings. A list item matches a module
// equal to it or ending in "." + item; `regex` must match the whole name (Python's re.fullmatch);
// `all-linear` is every linear except the output head. An override pattern P applies where
// `(.*\.)?(P)$` matches (PEFT's rank_pattern). Errors: a pattern that matches nothing, a match that
// is not linear, a module configured twice, a bad regular expression.
import type { Loc, Spec } from '../../language/ast.ts';
import { quote } from '../../language/diagnostics.ts';
import { didYouMean, type CheckContext } from '../context.ts';
import type { Elaborator } from '../dataflow.ts';
import { evalLoraSettings, OVERRIDE_ARGS } from '../lora-settings.ts';
import { adapterTensors } from '../../lora/keys.ts';
import { compilePyRegex, PyRegexError } from '../../lora/pyregex.ts';
import { matchesListEntry, patternKeyMatches } from '../../lora/targets.ts';
import type { LoraConfig, LoraTarget, Op } from '../model.ts';
import { ERROR, type Value } from '../values.ts';

type LinearOp = Extract<Op, { op: 'linear' }>;

/** Compiles `pattern` spliced into PEFT's template; reports E0605 naming the user's pattern. */
function compiles(ctx: CheckContext, source: string, loc: Loc, template: (p: string) => string): boolean {
  try {
    compilePyRegex(template(source));
    return true;
  } catch (e) {
    if (!(e instanceof PyRegexError)) throw e;
    ctx.error('E0605', `bad regular expression ${quote(source)}: ${e.message}`, loc);
    return false;
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
      for (const item of t.items) take([...el.modules.keys()].filter((m) => matchesListEntry(m, item.value)), quote(item.value), item.loc);
    } else if (t.kind === 'Regex') {
      const p = t.pattern.value;
      if (compiles(ctx, p, t.pattern.loc, (x) => x)) take([...el.modules.keys()].filter((m) => compilePyRegex(p).fullmatch(m)), `regex ${quote(p)}`, t.pattern.loc);
    } else {
      take([...linears.values()].filter((op) => !op.head).map((op) => op.module), 'all-linear', t.loc);
    }
    if (!base) continue;
    const configs = new Map<string, LoraConfig>(matched.map((m) => [m, base]));
    for (const o of decl.overrides) {
      const ok = compiles(ctx, o.pattern.value, o.pattern.loc, (p) => `(.*\\.)?(${p})$`);
      const cfg = evalLoraSettings(ctx, o.args, o.loc, lookup, base, OVERRIDE_ARGS);
      if (!ok) continue;
      const hits = matched.filter((m) => patternKeyMatches(o.pattern.value, m));
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
    for (const w of adapterTensors(op.module, 'linear', op.inFeatures, op.outFeatures, a.config)) {
      el.addWeight({ name: w.name, module: op.module, shape: w.shape, layout: w.shape.length === 1 ? 'vector' : 'linear', role: 'adapter' }, el.modules.get(op.module)!.loc);
    }
  }
  return targets;
}
