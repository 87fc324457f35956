// The browser-safe part of Rankfold's API: everything that works on text, bytes and a WebGPU device,
// with no file system, no process and no Node-only package. A page imports this module (the
// playground in apps/playground does); runtime/index.ts is this plus the Node extras (files and
// folders on disk, the train job, verify, inspect). test/runtime/browser-safe.test.ts walks its
// imports and fails on anything Node-only.

// Specs and compilation (compiler/ is browser-safe as a whole; see compiler/index.ts).
export { checkSpec, formatSummary, formatDiagnostics, Source } from '../compiler/check/index.ts';
export type { CheckedModel, LoraConfig, Weight, Diagnostic, CheckResult } from '../compiler/check/index.ts';
export {
  compile,
  compileGraph,
  STAGES,
  DEFAULT_ADAMW,
  type CompileOptions,
  type CompiledProgram,
  type Executable,
  type GraphMode,
  type GraphOptions,
  type PartialProgram,
  type SpecSource,
  type Stage,
} from '../compiler/compile.ts';
export { makeTarget, DEFAULT_TARGET, type Target, type TargetKind, type GemmChoice } from '../compiler/target.ts';
export { planMemory, formatMemoryPlan, formatPlanBytes } from '../compiler/plan/memory-plan.ts';
export { printGraph } from '../compiler/ir/print.ts';
export { CompileError, UserError } from '../compiler/errors.ts';

// Devices and execution (navigator.gpu in a browser; Dawn, loaded on demand, in Node).
export { createGpu, listAdapters, NO_ADAPTER_HELP, type GpuContext, type DeviceOptions } from './device/device.ts';
export type { Executor, BackendName } from './exec/executor.ts';
export { createExecutor, executorTarget, type ExecutorOptions } from './exec/create.ts';
export { targetFor } from './device/target.ts';

// Weights and adapters, as bytes: safetensors (whole or streamed through a ByteSource), PEFT adapters.
export { readBaseWeights, streamBaseWeights, initBaseWeights, setWeights, weightTensors, type WeightMap } from './model/weights.ts';
export { initAdapterWeights, residualBase } from './adapters/init.ts';
export { adapterWeights, readAdapterFromExecutor, peftConfigFor, type AdapterWeightsOptions } from './adapters/adapter-weights.ts';
export { applyPeftConfig, type ApplyPeftOptions } from './adapters/apply-peft.ts';
export { mergeAdapter, unmergeAdapter, mergeAdapterWeights, unmergeAdapterWeights, stripAdapters, type MergeResult } from './adapters/merge-model.ts';
export { combineAdapters, type CombineInput, type CombineMethod, type CombineOptions } from './adapters/combine.ts';
export { AdapterSet } from './adapters/adapter-set.ts';
export { parseSafetensors, serializeSafetensors, type SafetensorsFile, type TensorInput } from './io/safetensors.ts';
export { SafetensorsReader, type ByteSource } from './io/safetensors-reader.ts';
export { HfFolder, readFolder, type FolderSource, type FolderTensor } from './io/hf-folder.ts';
export { toFloat32, fromFloat32, convertFloat, type StoredTensor, type FloatDtype } from './io/dtypes.ts';
export {
  readAdapter,
  writeAdapter,
  makePeftConfig,
  parsePeftConfig,
  serializePeftConfig,
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
  type Adapter,
  type AdapterFiles,
  type PeftConfig,
} from './io/peft.ts';

// Data and training.
export { ByteTokenizer, loadTokenizer, type Tokenizer } from './data/tokenizer.ts';
export { HfTokenizer } from './data/hf-tokenizer.ts';
export { ChatTemplate, type ChatMessage } from './data/chat-template.ts';
export { StreamDecoder } from './data/detokenize.ts';
export { tokenizeExample, packPadded, packConcat, parseJsonl, parseText, type Example, type Rows } from './data/dataset.ts';
export { BatchLoader, evalBatches } from './data/loader.ts';
export { trainLoop, feedBatch, NonFiniteLossError, type TrainLoopOptions, type StepInfo, type TrainCallbacks } from './train/trainer.ts';
export { learningRate, type ScheduleOptions } from './train/schedule.ts';
export { feedTokens, positionsFor } from './model/feeds.ts';
export { MetricsLog, type MetricRecord, type LogFormat } from './report/logger.ts';

// Generation.
export { Generator, type GenerateOptions } from './generate/generator.ts';
export { sampleToken, type SamplingOptions } from './generate/sampling.ts';

// Charts (Vega-Lite specs rendered to SVG text: the same figures in a page and in files).
export { lineChartSvg, heatmapSvg, barChartSvg, type LineChartOptions, type HeatmapOptions, type BarChartOptions, type Series } from './report/charts.ts';
