// Rankfold's public TypeScript API (`import { ... } from 'rankfold'`): everything the CLI does, as
// functions a script can call. See dsl-examples/scripted-train.ts for a whole run. The browser-safe
// part is runtime/core.ts (a page imports that); this adds what needs Node: spec files, files and
// folders on disk, the train job, merging and generating from files, verification, inspection.
// The WebGPU types (GPUDevice, ...) appear in this API: the built .d.ts files load them for users.
/// <reference types="@webgpu/types" preserve="true" />
export * from './core.ts';

// Spec files.
export {
  loadSpec, loadModelSpec, readConfigJson, specForModelType, EXAMPLES_DIR, MODEL_TYPES, type LoadSpecOptions, type LoadModelSpecOptions, type LoadedModelSpec,
} from './model/load-spec.ts';
// A Hugging Face model folder as a spec and base weights (what `--model DIR` does).
export { loadFolderBase, loadFolderSpec, readFolderWeights, requireSameTensors, withModelFolder, type FolderSpecOptions } from './model/folder-model.ts';

// Files and folders.
// A model folder (or spec + base weights file) + adapter folder in, merged (or unmerged) model folder (or file) out (`rankfold merge`, `unmerge`).
export { mergeAdapterIntoBase, unmergeAdapterFromBase, type MergeFilesOptions, type MergeFilesResult } from './adapters/merge-files.ts';
export { readSafetensorsFile, writeSafetensorsFile, readAdapterDir, writeAdapterDir } from './io/node-fs.ts';
export { ModelFolder, nodeFolder, readTokenizerFiles } from './io/model-folder.ts';
export { writeModelFolder, type TensorSource, type WriteModelFolderOptions, type WrittenFolder } from './io/model-folder-write.ts';
export { openSafetensors, SafetensorsFileWriter } from './io/safetensors-node.ts';
export { loadFolderTokenizer } from './data/node-files.ts';
// The tokenizer of a run (a folder's, bytes, gpt2), checked against the model's vocabulary.
export { tokenizerFor, checkTokenizerFits } from './data/job-data.ts';

// The train job, generation from files, verification and inspection.
export { runTrainJob, type TrainJobOptions, type TrainJobResult, type TrainReporter } from './train/train-job.ts';
// A model folder (or spec + weights file) + adapter folders in, one streamed completion per adapter out (`rankfold generate`).
export { generateTexts, promptIds, type GenerateTextsOptions, type GeneratedText } from './generate/generate-texts.ts';
export { verifyCase } from './verify/verify-case.ts';

// Serving: many adapters over one base, decoded in one batch (`rankfold serve` is HTTP over it).
export { Engine, ShuttingDownError, type EngineOptions, type EngineStats } from './serve/engine.ts';
export { AdapterRegistry, AdapterError, type AdapterInfo } from './serve/adapter-registry.ts';
export { QueueFullError } from './serve/scheduler.ts';
export { loadModelFolder, loadSpecModel, type ServeModel } from './serve/model-source.ts';
export type { GenerationRequest, GenerationResult, FinishReason } from './serve/sequence.ts';
// A safetensors file's tensors, or an adapter folder's config and modules, as text (`rankfold inspect`).
export { describePath, describeSafetensors, describeAdapter } from './report/inspect.ts';
