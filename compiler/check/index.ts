// The checker's entry points: parse, run the static rules over the AST (checkRules, the compile
// stage 'check'), bind parameters, elaborate the dataflow (unrolled, shaped), resolve LoRA targets
// and the train block (elaborateSpec, the stage 'elaborate'). checkSpec does all of it and returns a
// CheckedModel only when there are no diagnostics; none of them throws on user input.
import { parseSpec, MAX_DIAGNOSTICS } from '../language/index.ts';
import { sortDiagnostics, type Diagnostic } from '../language/diagnostics.ts';
import { Source } from '../language/source.ts';
import type { ModelDecl, Spec } from '../language/ast.ts';
import { checkConfigFields } from './config-fields.ts';
import { CheckContext } from './context.ts';
import { Elaborator } from './dataflow.ts';
import { applyFunction } from './layers.ts';
import type { CheckedModel, ParamCounts, Weight } from './model.ts';
import { bindParams, type BindOptions } from './params.ts';
import { checkDefinedBeforeUse } from './rules/defined-before-use.ts';
import { checkKnownFunctions } from './rules/known-functions.ts';
import { resolveLoraTargets } from './rules/lora-targets.ts';
import { checkModifiers } from './rules/modifiers.ts';
import { checkStructure } from './rules/structure.ts';
import { checkTrain } from './rules/train.ts';
import { checkUniqueNames } from './rules/unique-names.ts';

export type * from './model.ts';
export type { Diagnostic } from '../language/diagnostics.ts';
export { formatDiagnostics, formatDiagnostic } from '../language/diagnostics.ts';
export { Source } from '../language/source.ts';
export { formatSummary } from './summary.ts';

export interface CheckOptions extends BindOptions {}

export interface CheckResult {
  model?: CheckedModel;
  diagnostics: Diagnostic[];
  /** For printing excerpts with formatDiagnostics. */
  source: Source;
}

export function countParams(weights: Weight[]): ParamCounts {
  const c: ParamCounts = { base: 0, adapter: 0, total: 0, trainable: 0, frozen: 0 };
  for (const w of weights) {
    if (w.tiedTo) continue; // shares its owner's storage: counted once
    if (w.role === 'adapter') c.adapter += w.numel;
    else c.base += w.numel;
    if (w.role === 'frozen') c.frozen += w.numel;
    else c.trainable += w.numel;
  }
  c.total = c.base + c.adapter;
  return c;
}

function finish(ctx: CheckContext): Diagnostic[] {
  const sorted = sortDiagnostics(ctx.diagnostics);
  if (sorted.length <= MAX_DIAGNOSTICS) return sorted;
  const next = sorted[MAX_DIAGNOSTICS]!;
  return [...sorted.slice(0, MAX_DIAGNOSTICS), { code: 'E0299', message: `too many errors; ${sorted.length - MAX_DIAGNOSTICS} more not shown`, file: ctx.file, line: next.line, col: next.col }];
}

/**
 * The static rules over the AST (one model, unique names, defined before use, known functions,
 * modifiers): the model declaration when the spec passes them. The compile stage 'check'.
 */
export function checkRules(spec: Spec, file: string): { decl?: ModelDecl; diagnostics: Diagnostic[] } {
  const ctx = new CheckContext(file);
  const decl = checkStructure(ctx, spec);
  if (decl) {
    checkUniqueNames(ctx, spec, decl);
    checkDefinedBeforeUse(ctx, spec, decl);
    checkKnownFunctions(ctx, decl);
    checkModifiers(ctx, decl);
  }
  if (!decl || ctx.failed) return { diagnostics: finish(ctx) };
  return { decl, diagnostics: [] };
}

/**
 * Elaboration of a spec that passed checkRules: binds the parameters (overrides, config.json,
 * defaults), runs the model body (repeats unrolled, every tensor shaped), resolves the LoRA targets
 * and the train block. The compile stage 'elaborate'.
 */
export function elaborateSpec(spec: Spec, decl: ModelDecl, file: string, opts: CheckOptions = {}): { model?: CheckedModel; diagnostics: Diagnostic[] } {
  const ctx = new CheckContext(file);
  const unread = opts.config ? checkConfigFields(ctx, decl, opts.config) : undefined;
  const params = bindParams(ctx, decl, opts);
  if (ctx.failed) return { diagnostics: finish(ctx) };
  const el = new Elaborator(ctx, decl, params, applyFunction);
  el.run();
  const { targets: lora, options: adapterOptions } = ctx.failed ? { targets: [] } : resolveLoraTargets(ctx, spec, el, params);
  const train = checkTrain(ctx, spec, params, ctx.failed ? undefined : el);
  if (ctx.failed) return { diagnostics: finish(ctx) };
  const bound: Record<string, number | boolean | string> = {};
  for (const [k, v] of params) if (v.t === 'int' || v.t === 'float' || v.t === 'bool' || v.t === 'string') bound[k] = v.v;
  // Base weights first (in order of use), then adapters, so loaders can stop at the first adapter.
  const weights = [...el.weights.filter((w) => w.role !== 'adapter'), ...el.weights.filter((w) => w.role === 'adapter')];
  const model: CheckedModel = {
    name: decl.name.name,
    file,
    params: bound,
    inputs: el.inputs,
    outputs: el.outputs,
    values: el.values,
    ops: el.ops,
    weights,
    lora,
    ...(adapterOptions ? { adapterOptions } : {}),
    counts: countParams(weights),
  };
  if (train) model.train = train;
  if (unread) model.unreadConfigKeys = unread;
  return { model, diagnostics: [] };
}

/** Checks a parsed spec (see checkSpec): checkRules, then elaborateSpec. */
export function checkAst(spec: Spec, file: string, opts: CheckOptions = {}): { model?: CheckedModel; diagnostics: Diagnostic[] } {
  const checked = checkRules(spec, file);
  if (!checked.decl) return checked;
  return elaborateSpec(spec, checked.decl, file, opts);
}

/** A bug caught while checking user input, as a diagnostic: the CLI never prints a stack trace. */
export function internalErrorDiagnostic(e: unknown, file: string): Diagnostic {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { code: 'E0901', message: `internal error (please report): ${msg.slice(0, 200)}`, file, line: 1, col: 1 };
}

/** Parses and checks a spec's text. `file` is used in diagnostics only. */
export function checkSpec(source: string, file: string, opts: CheckOptions = {}): CheckResult {
  const src = new Source(source, file);
  try {
    const parsed = parseSpec(source, file);
    if (!parsed.spec) return { diagnostics: parsed.diagnostics, source: parsed.source };
    return { ...checkAst(parsed.spec, file, opts), source: parsed.source };
  } catch (e) {
    return { diagnostics: [internalErrorDiagnostic(e, file)], source: src };
  }
}
