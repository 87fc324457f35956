// The compiler's entry point: `compile(source | checkedModel, options)` runs the named stages in
// order and returns a CompiledProgram (the checked model, the final graph, its memory plan, every
// node's WGSL kernels and the target), which the runtime executes without compiling anything more.
// Each stage is a function of its own, and `stopAfter` ends the pipeline after any of them
// (`rankfold compile --emit ast|ir|plan|wgsl` prints what a stage made). spec/architecture.md shows
// the stages and where each concept lives.
//
//   parse      text -> AST                           compiler/language
//   check      static rules over the AST             compiler/check (rules/)
//   elaborate  parameters bound, body unrolled and
//              shaped, LoRA targets resolved         compiler/check (dataflow, layers), compiler/lora
//   lower      CheckedModel -> IR graph              compiler/lower
//   split      weights over one binding -> row chunks compiler/passes/split.ts (Target limits)
//   autodiff   d(loss)/d(param) (train mode)         compiler/autodiff
//   optimizer  AdamW step as IR (train mode)         compiler/optim
//   passes     dce, cse, LoRA and elementwise fusion,
//              16-bit storage of frozen weights      compiler/passes
//   plan       GPU buffers and their categories,
//              checked against the Target's limits   compiler/plan
//   emit       WGSL kernels per node for the Target  compiler/emit
//
// Front-end stages throw a CompileError carrying the diagnostics; the rest throw on misuse only.
import { differentiate } from './autodiff/differentiate.ts';
import { checkRules, elaborateSpec, internalErrorDiagnostic } from './check/index.ts';
import type { CheckedModel } from './check/model.ts';
import type { BindOptions } from './check/params.ts';
import { emitKernels, type NodeKernels } from './emit/index.ts';
import { CompileError } from './errors.ts';
import type { Graph } from './ir/types.ts';
import type { ModelDecl, Spec } from './language/ast.ts';
import { parseSpec } from './language/index.ts';
import { Source } from './language/source.ts';
import { lowerModel, type LowerOptions, type MultiAdapterOptions } from './lower/lower-model.ts';
import { appendAdamW, DEFAULT_ADAMW, type AdamWSettings } from './optim/adamw.ts';
import { pipeline } from './passes/pipeline.ts';
import { splitOversized } from './passes/split.ts';
import type { ParamDtypes } from './passes/storage.ts';
import { checkKernelLimits, checkPlanLimits } from './plan/limits.ts';
import { RECOMPUTE_MODES, type RecomputeMode } from './passes/recompute.ts';
import { planMemory, type PlanOptions } from './plan/memory-plan.ts';
import type { MemoryPlan } from './plan/types.ts';
import { DEFAULT_TARGET, type Target } from './target.ts';

export { DEFAULT_ADAMW } from './optim/adamw.ts';
export { RECOMPUTE_MODES, type RecomputeMode } from './passes/recompute.ts';
export { ADAPTER_INDEX_INPUT, stackedLoraNames, type MultiAdapterOptions } from './lower/lower-model.ts';
export type { AdamWSettings } from './optim/adamw.ts';
export type { ParamDtypes } from './passes/storage.ts';

export const STAGES = ['parse', 'check', 'elaborate', 'lower', 'split', 'autodiff', 'optimizer', 'passes', 'plan', 'emit'] as const;
export type Stage = (typeof STAGES)[number];

/** A spec's text and the file name its diagnostics name (a language/source.ts Source is one). */
export interface SpecSource {
  readonly text: string;
  readonly file: string;
}

export interface ParsedSpec {
  source: Source;
  ast: Spec;
}

export interface CheckedSpec extends ParsedSpec {
  /** The spec's model declaration, which passed the static rules. */
  decl: ModelDecl;
}

/** How the spec's parameters are bound: a Hugging Face config.json's contents, and overrides. */
export type ElaborateOptions = BindOptions;

/**
 * 'train': forward, loss, backward and one AdamW step. 'eval': forward and loss. 'decode': forward
 * with a KV cache of `cacheLen` positions, `seq` tokens per run, no loss.
 */
export type GraphMode = 'train' | 'eval' | 'decode';

/** What the graph is built for: everything the stages from 'lower' on need. */
export interface GraphOptions {
  mode: GraphMode;
  batch: number;
  seq: number;
  /** KV-cache length for mode 'decode' (default seq). */
  cacheLen?: number;
  /** Run the fusion passes (default true; off for fused-vs-unfused comparisons). */
  fuse?: boolean;
  /** Train every base weight too (full fine-tuning). */
  fullFinetune?: boolean;
  /** The optimizer's settings (mode 'train'; default DEFAULT_ADAMW). */
  adamw?: AdamWSettings;
  /** Seed of the adapter-dropout masks (mode 'train'). */
  dropoutSeed?: number;
  /**
   * How base weights are stored in their files, by weight name: frozen weight matrices stored bf16
   * or f16 stay 16-bit on the device (the storage pass); absent names are f32.
   */
  paramDtypes?: ParamDtypes;
  /** Mode 'decode': one KV-cache position per batch row (the `offset` input is i32 [batch]). */
  rowOffsets?: boolean;
  /** Mode 'decode': the graph only writes the KV cache (a prefill): no logits output, nothing computed only for them. */
  kvOnly?: boolean;
  /** Modes 'decode' and 'eval': many adapters in one batch, picked per row (MultiAdapterOptions). */
  adapters?: MultiAdapterOptions;
  /**
   * Mode 'train': 'blocks' keeps only each repeated block's input for the backward and recomputes
   * the rest of the block's forward there (gradient checkpointing); 'none' (default) keeps all.
   */
  recompute?: RecomputeMode;
}

export interface CompileOptions extends ElaborateOptions, Partial<GraphOptions> {
  /** What the kernels are emitted for (default DEFAULT_TARGET: 'gpu' with WebGPU's default limits). */
  target?: Target;
  /** The last stage to run (default 'emit'). */
  stopAfter?: Stage;
}

/** What an executor runs: the final graph, its memory plan and every node's kernels for one target. */
export interface Executable {
  graph: Graph;
  plan: MemoryPlan;
  kernels: NodeKernels;
  target: Target;
}

/** Everything `compile` made: the Executable the runtime runs, and what it was made from. */
export interface CompiledProgram extends AfterPlan, Executable {
  /** Every node's kernels for the target, by node id (undefined for leaves). */
  kernels: NodeKernels;
}

/** What `compile` made when stopped after `stage`: the products of the stages that ran. */
export interface AfterParse {
  /** The last stage that ran (front-end stages are skipped for a CheckedModel input). */
  stage: Stage;
  target: Target;
  /** The spec's text and AST (source input only). */
  source?: Source;
  ast?: Spec;
}
export interface AfterCheck extends AfterParse {
  /** The model declaration that passed the static rules (source input only). */
  decl?: ModelDecl;
}
export interface AfterElaborate extends AfterCheck {
  model: CheckedModel;
}
/** After 'lower', 'autodiff', 'optimizer' or 'passes': the graph as that stage left it. */
export interface AfterLower extends AfterElaborate {
  graph: Graph;
  options: GraphOptions;
}
export interface AfterPlan extends AfterLower {
  plan: MemoryPlan;
}

export type ProgramAfter<S extends Stage> = S extends 'parse'
  ? AfterParse
  : S extends 'check'
    ? AfterCheck
    : S extends 'elaborate'
      ? AfterElaborate
      : S extends 'plan'
        ? AfterPlan
        : S extends 'emit'
          ? CompiledProgram
          : AfterLower;

/** Any stage's result. */
export type PartialProgram = ProgramAfter<Stage>;

/** Front-end stages report bugs as an E0901 diagnostic, like checkSpec: no stack trace for users. */
function frontEnd<T>(source: Source, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof CompileError) throw e;
    throw new CompileError([internalErrorDiagnostic(e, source.file)], source);
  }
}

/** Stage 'parse': text -> AST. */
export function parse(input: SpecSource): ParsedSpec {
  const source = input instanceof Source ? input : new Source(input.text, input.file);
  return frontEnd(source, () => {
    const parsed = parseSpec(source.text, source.file);
    if (!parsed.spec || parsed.diagnostics.length > 0) throw new CompileError(parsed.diagnostics, parsed.source);
    return { source: parsed.source, ast: parsed.spec };
  });
}

/** Stage 'check': the static rules over the AST. */
export function check(parsed: ParsedSpec): CheckedSpec {
  return frontEnd(parsed.source, () => {
    const { decl, diagnostics } = checkRules(parsed.ast, parsed.source.file);
    if (!decl || diagnostics.length > 0) throw new CompileError(diagnostics, parsed.source);
    return { ...parsed, decl };
  });
}

/** Stage 'elaborate': parameters bound, the body unrolled and shaped, LoRA targets and train block resolved. */
export function elaborate(checked: CheckedSpec, options: ElaborateOptions = {}): CheckedModel {
  return frontEnd(checked.source, () => {
    const bind: ElaborateOptions = {};
    if (options.config !== undefined) bind.config = options.config;
    if (options.overrides !== undefined) bind.overrides = options.overrides;
    const { model, diagnostics } = elaborateSpec(checked.ast, checked.decl, checked.source.file, bind);
    if (!model || diagnostics.length > 0) throw new CompileError(diagnostics, checked.source);
    return model;
  });
}

/** Stage 'lower': the checked model as an IR graph for one batch and sequence length (mode 'decode': with a KV cache). */
export function lower(model: CheckedModel, o: GraphOptions): Graph {
  const options: LowerOptions = { batch: o.batch, seq: o.seq, fullFinetune: o.fullFinetune, loss: o.mode !== 'decode', training: o.mode === 'train' };
  if (o.mode === 'decode') options.decode = { cacheLen: o.cacheLen ?? o.seq, rowOffsets: o.rowOffsets ?? false, kvOnly: o.kvOnly ?? false };
  if (o.adapters !== undefined) options.adapters = o.adapters;
  if (o.dropoutSeed !== undefined) options.dropoutSeed = o.dropoutSeed;
  return lowerModel(model, options);
}

/**
 * Stage 'split': weights larger than one binding of the target (maxStorageBufferBindingSize) become
 * row chunks, and their readers work per chunk (compiler/passes/split.ts); other graphs are unchanged.
 */
export function split(graph: Graph, target: Target = DEFAULT_TARGET, paramDtypes?: ParamDtypes): Graph {
  return splitOversized(graph, { limit: target.limits.maxStorageBufferBindingSize, ...(paramDtypes ? { paramDtypes } : {}) });
}

/** Stage 'autodiff' (mode 'train'): appends d(loss)/d(param) of every trainable parameter. */
export function autodiff(graph: Graph): Graph {
  const loss = graph.outputs['loss'];
  if (loss === undefined) throw new Error('autodiff: the graph has no "loss" output to differentiate');
  return differentiate(graph, loss);
}

/** Stage 'optimizer' (mode 'train'): appends one AdamW step (with clipping and accumulation when set). */
export function optimizer(graph: Graph, adamw: AdamWSettings = DEFAULT_ADAMW): Graph {
  return appendAdamW(graph, adamw);
}

/**
 * Stage 'passes': dce and cse, then (with fuse, the default) LoRA and elementwise fusion, then
 * (recompute 'blocks', training graphs) block recompute, then (with 16-bit paramDtypes) the storage
 * pass: frozen 16-bit weight matrices stay 16-bit.
 */
export function passes(graph: Graph, options: { fuse?: boolean; recompute?: RecomputeMode; paramDtypes?: ParamDtypes } = {}): Graph {
  return pipeline(graph, { fuse: options.fuse ?? true, recompute: options.recompute ?? 'none', ...(options.paramDtypes ? { paramDtypes: options.paramDtypes } : {}) });
}

/**
 * Stage 'plan': which GPU buffer holds each value, and the memory category of each buffer. With a
 * target, every value and buffer is checked against its limits (a DeviceLimitError names the first
 * that does not fit).
 */
export function plan(graph: Graph, options: PlanOptions & { target?: Target } = {}): MemoryPlan {
  const memory = planMemory(graph, options);
  if (options.target) checkPlanLimits(graph, memory, options.target);
  return memory;
}

/** Stage 'emit': every node's WGSL kernels for the target, checked against its limits (scratch, grid). */
export function emit(graph: Graph, target: Target = DEFAULT_TARGET): NodeKernels {
  const kernels = emitKernels(graph, target);
  checkKernelLimits(graph, kernels, target);
  return kernels;
}

/**
 * The back end alone (plan and emit, no passes) for a graph built by hand with the IR builder:
 * what kernel tests and benchmarks run. `reuseBuffers: false` gives every value its own buffer.
 */
export function compileGraph(graph: Graph, options: { target?: Target; reuseBuffers?: boolean } = {}): Executable {
  const target = options.target ?? DEFAULT_TARGET;
  return { graph, plan: plan(graph, { reuse: options.reuseBuffers ?? true, target }), kernels: emit(graph, target), target };
}

function isSource(input: SpecSource | CheckedModel): input is SpecSource {
  return typeof (input as SpecSource).text === 'string';
}

function graphOptions(o: CompileOptions, model: CheckedModel): GraphOptions {
  if (o.mode === undefined || o.batch === undefined || o.seq === undefined) {
    throw new Error(`compile ${model.file}: options.mode, batch and seq are needed from stage 'lower' on (or stop after 'elaborate')`);
  }
  for (const [name, v] of [['batch', o.batch], ['seq', o.seq], ['cacheLen', o.cacheLen]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`compile ${model.file}: ${name} must be a positive integer, got ${v}`);
  }
  if ((o.rowOffsets || o.kvOnly) && o.mode !== 'decode') throw new Error(`compile ${model.file}: rowOffsets and kvOnly need mode 'decode'`);
  if (o.adapters && o.mode === 'train') throw new Error(`compile ${model.file}: a multi-adapter graph (adapters) serves adapters; it cannot train them`);
  if (o.recompute !== undefined && !RECOMPUTE_MODES.includes(o.recompute)) throw new Error(`compile ${model.file}: recompute must be one of ${RECOMPUTE_MODES.join(', ')}, got ${JSON.stringify(o.recompute)}`);
  if (o.recompute === 'blocks' && o.mode !== 'train') throw new Error(`compile ${model.file}: recompute 'blocks' is for training graphs (mode 'train'), not '${o.mode}'`);
  const { mode, batch, seq, cacheLen, fuse, fullFinetune, adamw, dropoutSeed, paramDtypes, rowOffsets, kvOnly, adapters, recompute } = o;
  return { mode, batch, seq, cacheLen, fuse, fullFinetune, adamw, dropoutSeed, paramDtypes, rowOffsets, kvOnly, adapters, recompute };
}

/**
 * Compiles a spec's text or a checked model through every stage up to `stopAfter` (default 'emit',
 * which gives a CompiledProgram). A spec with errors throws a CompileError whose message is the
 * formatted diagnostics.
 */
export function compile<S extends Stage = 'emit'>(input: SpecSource | CheckedModel, options: CompileOptions & { stopAfter?: S }): ProgramAfter<S> {
  const stopAfter: Stage = options.stopAfter ?? 'emit';
  if (!STAGES.includes(stopAfter)) throw new Error(`compile: stopAfter must be one of ${STAGES.join(', ')}, got ${JSON.stringify(stopAfter)}`);
  const done = (stage: Stage) => STAGES.indexOf(stage) >= STAGES.indexOf(stopAfter);
  const result = (r: AfterParse | AfterElaborate | AfterPlan) => r as ProgramAfter<S>;
  const target = options.target ?? DEFAULT_TARGET;

  let front: AfterCheck = { stage: 'parse', target };
  let model: CheckedModel;
  if (isSource(input)) {
    const parsed = parse(input);
    front = { ...front, ...parsed };
    if (done('parse')) return result(front);
    const checked = check(parsed);
    front = { ...front, stage: 'check', decl: checked.decl };
    if (done('check')) return result(front);
    model = elaborate(checked, options);
  } else {
    model = input;
  }
  if (done('elaborate')) return result({ ...front, stage: 'elaborate', model });

  const g = graphOptions(options, model);
  const at = (stage: Stage, graph: Graph): AfterLower => ({ ...front, stage, model, graph, options: g });
  let graph = lower(model, g);
  if (done('lower')) return result(at('lower', graph));
  graph = split(graph, target, g.paramDtypes);
  if (done('split')) return result(at('split', graph));
  if (g.mode === 'train') {
    if (graph.outputs['loss'] === undefined) throw new Error(`${model.file}: the model has no loss to train (no token output?)`);
    graph = autodiff(graph);
  }
  if (done('autodiff')) return result(at('autodiff', graph));
  if (g.mode === 'train') graph = optimizer(graph, g.adamw);
  if (done('optimizer')) return result(at('optimizer', graph));
  graph = passes(graph, { fuse: g.fuse ?? true, recompute: g.mode === 'train' ? g.recompute : 'none', ...(g.paramDtypes ? { paramDtypes: g.paramDtypes } : {}) });
  if (done('passes')) return result(at('passes', graph));
  const memory = plan(graph, { target });
  if (done('plan')) return result({ ...at('plan', graph), plan: memory });
  const program: CompiledProgram = { ...at('emit', graph), plan: memory, kernels: emit(graph, target) };
  return result(program);
}
