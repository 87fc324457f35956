// Rule: resolves `lora targets` blocks over the unrolled module names with PEFT's semantics
// (compiler/lora/targets.ts) and attaches each layer's LoRA settings; resolves `lora trainable`
// (PEFT's modules_to_save). A list item matches a module equal to it or ending in "." + item;
// `regex` must match the whole name (Python's re.fullmatch); `all-linear` is every linear but the
// output head. An override pattern P applies where `(.*\.)?(P)$` matches (PEFT's rank_pattern).
// LoRA goes on linear maps and embedding tables. Errors: a pattern that matches nothing, a match
// that cannot take LoRA, a module configured twice, a bad regular expression, a `bias` that
// differs between blocks (PEFT has one), a trainable module that is also a LoRA target or tied.
import type { Loc, Spec } from '../../language/ast.ts';
import { quote } from '../../language/diagnostics.ts';
import { didYouMean, type CheckContext } from '../context.ts';
import type { Elaborator } from '../dataflow.ts';
import { evalLoraSettings, OVERRIDE_ARGS } from '../lora-settings.ts';
import { adapterTensors } from '../../lora/keys.ts';
import { compilePyRegex, PyRegexError } from '../../lora/pyregex.ts';
import { matchesListEntry, modulesToSaveLeaves, patternKeyMatches, withContainers, type ModuleInfo } from '../../lora/targets.ts';
import type { AdapterOptions, BiasMode, LoraConfig, LoraTarget, Op } from '../model.ts';
import { ERROR, type Value } from '../values.ts';

type AdaptableOp = Extract<Op, { op: 'linear' | 'embedding' | 'position_embedding' }>;

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

function shapeOf(op: AdaptableOp): { kind: 'linear' | 'embedding'; inFeatures: number; outFeatures: number } {
  return op.op === 'linear' ? { kind: 'linear', inFeatures: op.inFeatures, outFeatures: op.outFeatures } : { kind: 'embedding', inFeatures: op.num, outFeatures: op.dim };
}

export function resolveLoraTargets(ctx: CheckContext, spec: Spec, el: Elaborator, params: Map<string, Value>): { targets: LoraTarget[]; options?: AdapterOptions } {
  const lookup = (n: string) => params.get(n) ?? ERROR;
  const adaptable = new Map<string, AdaptableOp>();
  for (const op of el.ops) if (op.op === 'linear' || op.op === 'embedding' || op.op === 'position_embedding') adaptable.set(op.module, op);
  const assigned = new Map<string, { config: LoraConfig; loc: Loc }>(el.inlineLora);
  const lastSegments = () => new Set([...el.modules.keys()].map((m) => m.slice(m.lastIndexOf('.') + 1)));
  let bias: { mode: BiasMode; loc: Loc } | undefined;
  const setBias = (b: { mode: BiasMode; loc: Loc } | undefined) => {
    if (!b) return;
    if (bias && bias.mode !== b.mode) ctx.error('E0604', `LoRA bias is "${b.mode}" here but "${bias.mode}" on line ${bias.loc.line}; PEFT has one bias setting per adapter`, b.loc);
    else bias ??= b;
  };
  for (const l of el.inlineLora.values()) setBias(l.biasMode);

  for (const decl of spec.decls) {
    if (decl.kind !== 'LoraDecl') continue;
    const base = evalLoraSettings(ctx, decl.args, decl.loc, lookup);
    setBias(base?.biasMode);
    const matched: string[] = [];
    const take = (modules: string[], what: string, loc: Loc): void => {
      if (modules.length === 0) {
        ctx.error('E0602', `LoRA target ${what} matches no module${what.startsWith("'") ? didYouMean(what.slice(1, -1), lastSegments()) : ''}`, loc);
        return;
      }
      const bad = modules.find((m) => !adaptable.has(m));
      if (bad) ctx.error('E0601', `LoRA target ${what} matches ${quote(bad)} (${el.modules.get(bad)!.fn}); LoRA applies only to linear, conv1d and embedding layers`, loc);
      matched.push(...modules.filter((m) => adaptable.has(m)));
    };
    const t = decl.target;
    if (t.kind === 'List') {
      for (const item of t.items) take([...el.modules.keys()].filter((m) => matchesListEntry(m, item.value)), quote(item.value), item.loc);
    } else if (t.kind === 'Regex') {
      const p = t.pattern.value;
      if (compiles(ctx, p, t.pattern.loc, (x) => x)) take([...el.modules.keys()].filter((m) => compilePyRegex(p).fullmatch(m)), `regex ${quote(p)}`, t.pattern.loc);
    } else {
      take([...adaptable.values()].filter((op) => op.op === 'linear' && !op.head).map((op) => op.module), 'all-linear', t.loc);
    }
    if (!base) continue;
    const { biasMode: _b, ...baseConfig } = base;
    const configs = new Map<string, LoraConfig>(matched.map((m) => [m, baseConfig]));
    for (const o of decl.overrides) {
      const ok = compiles(ctx, o.pattern.value, o.pattern.loc, (p) => `(.*\\.)?(${p})$`);
      const cfg = evalLoraSettings(ctx, o.args, o.loc, lookup, baseConfig, OVERRIDE_ARGS);
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
  for (const op of adaptable.values()) {
    const a = assigned.get(op.module);
    if (!a) continue;
    const shape = shapeOf(op);
    if (shape.kind === 'embedding' && a.config.loraBias) {
      ctx.error('E0604', `LoRA lora_bias is not supported on the embedding ${quote(op.module)} (as in PEFT)`, a.loc);
      continue;
    }
    op.lora = a.config;
    targets.push({ module: op.module, ...shape, config: a.config });
    for (const w of adapterTensors(op.module, shape.kind, shape.inFeatures, shape.outFeatures, a.config)) {
      el.addWeight({ name: w.name, module: op.module, shape: w.shape, layout: w.shape.length === 1 ? 'vector' : 'linear', role: 'adapter' }, el.modules.get(op.module)!.loc);
    }
  }
  const modulesToSave = resolveTrainable(ctx, spec, el, new Set(targets.map((t) => t.module)));
  const any = targets.length > 0 || modulesToSave.length > 0 || bias !== undefined;
  return { targets, ...(any ? { options: { bias: bias?.mode ?? 'none', modulesToSave } } : {}) };
}

/** `lora trainable [...]`: PEFT's modules_to_save (a plain suffix match over module names). */
function resolveTrainable(ctx: CheckContext, spec: Spec, el: Elaborator, targets: Set<string>): string[] {
  const leaves: ModuleInfo[] = [...el.modules.keys()].map((name) => ({ name, kind: 'other', type: el.modules.get(name)!.fn }));
  const modules = withContainers(leaves);
  const entries: string[] = [];
  for (const decl of spec.decls) {
    if (decl.kind !== 'LoraTrainable') continue;
    for (const item of decl.items) {
      const hits = modulesToSaveLeaves(modules, [item.value]);
      if (hits.length === 0) {
        ctx.error('E0602', `trainable module ${quote(item.value)} matches no module${didYouMean(item.value, new Set(leaves.map((m) => m.name.slice(m.name.lastIndexOf('.') + 1))))}`, item.loc);
        continue;
      }
      const both = hits.find((m) => targets.has(m));
      if (both) ctx.error('E0603', `module ${quote(both)} is both a LoRA target and trainable in full; PEFT gives a module one or the other`, item.loc);
      const tied = el.weights.find((w) => w.tiedTo !== undefined && hits.some((m) => w.module === m || el.weightByName.get(w.tiedTo!)?.module === m));
      if (tied) ctx.error('E0310', `${quote(tied.name)} is tied to ${quote(tied.tiedTo!)}; a tied weight cannot be trained as a separate copy`, item.loc);
      for (const w of el.weights) if (hits.includes(w.module) && w.role !== 'adapter') w.role = 'trainable';
      entries.push(item.value);
    }
  }
  return [...new Set(entries)];
}
