// The compiler's public API (`import { ... } from 'rankfold/compiler'`): compile and its stages,
// targets, checking a spec, the op registry, and the forms a compiled graph prints as. Everything under compiler/ is free of Node APIs, so a browser
// can load this entry; the Node runtime (`rankfold`) re-exports what scripts need most.
export { checkSpec, formatDiagnostics, formatSummary, Source, type CheckOptions, type CheckResult, type Diagnostic } from './check/index.ts';
export type { CheckedModel, LoraConfig, Weight } from './check/model.ts';
export { planMemory, formatMemoryPlan, formatPlanBytes, MEMORY_CATEGORIES } from './plan/memory-plan.ts';
export type { MemoryCategory, MemoryPlan } from './plan/types.ts';
export {
  compile,
  compileGraph,
  parse,
  check,
  elaborate,
  lower,
  autodiff,
  optimizer,
  passes,
  plan,
  emit,
  STAGES,
  DEFAULT_ADAMW,
  RECOMPUTE_MODES,
  ADAPTER_INDEX_INPUT,
  stackedLoraNames,
  type MultiAdapterOptions,
  type RecomputeMode,
  type CompileOptions,
  type CompiledProgram,
  type Executable,
  type GraphMode,
  type GraphOptions,
  type PartialProgram,
  type ProgramAfter,
  type SpecSource,
  type Stage,
} from './compile.ts';
export { makeTarget, DEFAULT_TARGET, DEFAULT_LIMITS, type Target, type TargetKind, type TargetLimits, type TargetFeatures, type GemmChoice } from './target.ts';
export { emitWgsl, formatWgsl, type EmittedOp, type Launch, type NodeKernels } from './emit/index.ts';
export { OPS, opFamily, type OpEntry, type OpFamily } from './ops/registry.ts';
export { printGraph } from './ir/print.ts';
export { graphToDot } from './ir/dot.ts';
export { interpret } from './ir/interp.ts';
export type { Graph } from './ir/types.ts';
export { UserError, CompileError } from './errors.ts';
