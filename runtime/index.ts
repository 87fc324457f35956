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

// Files and folders.
// Spec + base weights file + adapter folder in, merged (or unmerged) safetensors file out (`rankfold merge`, `unmerge`).
export { mergeAdapterIntoBase, unmergeAdapterFromBase, type MergeFilesOptions, type MergeFilesResult } from './adapters/merge-files.ts';
export { readSafetensorsFile, writeSafetensorsFile, readAdapterDir, writeAdapterDir } from './io/node-fs.ts';
export { ModelFolder, nodeFolder, readTokenizerFiles } from './io/model-folder.ts';
export { writeModelFolder, type TensorSource, type WriteModelFolderOptions, type WrittenFolder } from './io/model-folder-write.ts';
export { openSafetensors, SafetensorsFileWriter } from './io/safetensors-node.ts';
export { loadFolderTokenizer } from './data/node-files.ts';

// The train job, generation from files, verification and inspection.
export { runTrainJob, type TrainJobOptions, type TrainJobResult, type TrainReporter } from './train/train-job.ts';
// Spec + weights file + adapter folders in, one completion per adapter out (`rankfold generate`).
export { generateTexts, type GenerateTextsOptions, type GeneratedText } from './generate/generate-texts.ts';
export { verifyCase } from './verify/verify-case.ts';
// A safetensors file's tensors, or an adapter folder's config and modules, as text (`rankfold inspect`).
export { describePath, describeSafetensors, describeAdapter } from './report/inspect.ts';
