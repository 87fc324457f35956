// Rankfold's public TypeScript API (`import { ... } from 'rankfold'`): everything the CLI does, as
// functions a script can call. See dsl-examples/scripted-train.ts for a whole run.
// The WebGPU types (GPUDevice, ...) appear in this API: the built .d.ts files load them for users.
/// <reference types="@webgpu/types" preserve="true" />

// Specs and compilation.
export { loadSpec, readConfigJson, specForModelType, EXAMPLES_DIR, type LoadSpecOptions } from './model/load-spec.ts';
export { checkSpec, formatSummary } from '../compiler/check/index.ts';
export type { CheckedModel, LoraConfig, Weight } from '../compiler/check/model.ts';
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
export { planMemory } from '../compiler/plan/memory-plan.ts';
export { CompileError } from '../compiler/errors.ts';

// Devices and execution.
export { createGpu, listAdapters, type GpuContext } from './device/device.ts';
export type { Executor, BackendName } from './exec/executor.ts';
export { createExecutor, executorTarget, type ExecutorOptions } from './exec/create.ts';
export { targetFor } from './device/target.ts';

// Weights and adapters.
export { readBaseWeights, initBaseWeights, setWeights, type WeightMap } from './model/weights.ts';
export { initAdapterWeights, residualBase } from './adapters/init.ts';
export { adapterWeights, readAdapterFromExecutor, peftConfigFor, type AdapterWeightsOptions } from './adapters/adapter-weights.ts';
export { applyPeftConfig, type ApplyPeftOptions } from './adapters/apply-peft.ts';
export { mergeAdapter, unmergeAdapter, mergeAdapterWeights, unmergeAdapterWeights, stripAdapters, type MergeResult } from './adapters/merge-model.ts';
// Spec + base weights file + adapter folder in, merged (or unmerged) safetensors file out (`rankfold merge`, `unmerge`).
export { mergeAdapterIntoBase, unmergeAdapterFromBase, type MergeFilesOptions, type MergeFilesResult } from './adapters/merge-files.ts';
export { combineAdapters, type CombineInput, type CombineMethod, type CombineOptions } from './adapters/combine.ts';
export { AdapterSet } from './adapters/adapter-set.ts';
export { readAdapter, writeAdapter, makePeftConfig, parsePeftConfig, serializePeftConfig, type Adapter, type PeftConfig } from './io/peft.ts';
export { readSafetensorsFile, writeSafetensorsFile, readAdapterDir, writeAdapterDir } from './io/node-fs.ts';
export { ModelFolder, readTokenizerFiles, type FolderTensor } from './io/model-folder.ts';
export { writeModelFolder, type TensorSource, type WriteModelFolderOptions, type WrittenFolder } from './io/model-folder-write.ts';
export { openSafetensors, SafetensorsFileWriter } from './io/safetensors-node.ts';
export { toFloat32, fromFloat32, convertFloat, type StoredTensor, type FloatDtype } from './io/dtypes.ts';

// Data and training.
export { ByteTokenizer, loadTokenizer, type Tokenizer } from './data/tokenizer.ts';
export { HfTokenizer } from './data/hf-tokenizer.ts';
export { loadFolderTokenizer } from './data/node-files.ts';
export { ChatTemplate, type ChatMessage } from './data/chat-template.ts';
export { StreamDecoder } from './data/detokenize.ts';
export { BatchLoader, evalBatches } from './data/loader.ts';
export { trainLoop, feedBatch, NonFiniteLossError, type TrainLoopOptions, type StepInfo, type TrainCallbacks } from './train/trainer.ts';
export { learningRate, type ScheduleOptions } from './train/schedule.ts';
export { runTrainJob, type TrainJobOptions, type TrainJobResult, type TrainReporter } from './train/train-job.ts';
export { feedTokens, positionsFor } from './model/feeds.ts';

// Generation and verification.
export { Generator, type GenerateOptions } from './generate/generator.ts';
// Spec + weights file + adapter folders in, one completion per adapter out (`rankfold generate`).
export { generateTexts, type GenerateTextsOptions, type GeneratedText } from './generate/generate-texts.ts';
export { sampleToken, type SamplingOptions } from './generate/sampling.ts';
export { verifyCase } from './verify/verify-case.ts';

// Inspection.
// A safetensors file's tensors, or an adapter folder's config and modules, as text (`rankfold inspect`).
export { describePath, describeSafetensors, describeAdapter } from './report/inspect.ts';

export { UserError } from '../compiler/errors.ts';
