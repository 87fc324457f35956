// The compiler's public API (`import { ... } from 'rankfold/compiler'`): checking a spec and the
// forms a compiled graph prints as. Everything under compiler/ is free of Node APIs, so a browser
// can load this entry; the Node runtime (`rankfold`) re-exports what scripts need most.
export { checkSpec, formatDiagnostics, formatSummary, Source, type CheckOptions, type CheckResult, type Diagnostic } from './check/index.ts';
export type { CheckedModel, LoraConfig, Weight } from './check/model.ts';
export { planMemory, formatMemoryPlan, MEMORY_CATEGORIES } from './plan/memory-plan.ts';
export type { MemoryCategory, MemoryPlan } from './plan/types.ts';
export { emitWgsl, type Target } from './emit/index.ts';
export { printGraph } from './ir/print.ts';
export { graphToDot } from './ir/dot.ts';
export { interpret } from './ir/interp.ts';
export type { Graph } from './ir/types.ts';
export { UserError } from './errors.ts';
