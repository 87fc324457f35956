// Option parsing shared by the train, merge, generate and compile commands: typed numbers with
// one-line errors, `--set name=value`, spec + config loading, and the backend's GPU context.
import { InvalidArgumentError } from 'commander';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { UserError } from '../../compiler/errors.ts';
import type { BackendName } from '../../runtime/exec/executor.ts';
import { createGpu, type DeviceOptions, type GpuContext } from '../../runtime/device/device.ts';
import { requireGpuFileSizeLimit } from '../../runtime/io/fs-errors.ts';
import { ModelFolder } from '../../runtime/io/model-folder.ts';
import { loadModelSpec, loadSpec, readConfigJson } from '../../runtime/model/load-spec.ts';

export type SetValues = Record<string, number | boolean | string>;

export function intArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return n;
}

export function floatArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
}

export function collect(value: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), value];
}

/** `--set name=value`: numbers and true/false become typed, anything else stays a string. */
export function setArg(item: string, prev: SetValues | undefined): SetValues {
  const eq = item.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected name=value, got "${item}"`);
  const raw = item.slice(eq + 1);
  const value = raw === 'true' ? true : raw === 'false' ? false : raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return { ...(prev ?? {}), [item.slice(0, eq)]: value };
}

export function readConfigOption(file: string | undefined): Record<string, unknown> | undefined {
  return file === undefined ? undefined : readConfigJson(file);
}

export function loadSpecWith(spec: string, o: { config?: string; set?: SetValues }): { model: CheckedModel; config?: Record<string, unknown> } {
  const config = o.config ? readConfigJson(o.config) : undefined;
  return { model: loadSpec(spec, { config, overrides: o.set }), config };
}

/**
 * The checked model of a command's `[spec]` with `--config` or `--model DIR` (a Hugging Face model
 * folder: its config binds the spec, which defaults to the shipped spec of its model_type). Only
 * the folder's config is read here; the folder is closed again.
 */
export async function loadModelSpecWith(spec: string | undefined, o: { config?: string; model?: string; set?: SetValues }): Promise<{ model: CheckedModel; config?: Record<string, unknown> }> {
  if (o.model !== undefined) {
    if (o.config !== undefined) throw new UserError('give --config or --model, not both (a model folder has its config.json)');
    const folder = await ModelFolder.open(o.model);
    try {
      const loaded = loadModelSpec(folder, { ...(spec !== undefined ? { spec } : {}), ...(o.set ? { overrides: o.set } : {}) });
      return { model: loaded.model, config: loaded.config };
    } finally {
      await folder.close();
    }
  }
  if (spec === undefined) throw new UserError('give a spec file or --model DIR');
  return loadSpecWith(spec, o);
}

export function backendArg(name: string): BackendName {
  if (name !== 'webgpu' && name !== 'interp') throw new UserError(`unknown backend "${name}" (webgpu or interp)`);
  return name;
}

/**
 * Creates the GPU context every command uses, refusing a setup known to crash the process later
 * (a CPU driver under a file-size limit) before any buffer exists.
 */
export async function openGpu(options: DeviceOptions = {}): Promise<GpuContext> {
  const gpu = await createGpu(options);
  try {
    requireGpuFileSizeLimit(gpu.adapterName);
  } catch (err) {
    gpu.device.destroy();
    throw err;
  }
  return gpu;
}

/** Runs `body` with a GPU context for the webgpu backend (none for interp), released afterwards. */
export async function withBackend<T>(name: string, body: (backend: BackendName, gpu?: GpuContext) => Promise<T>): Promise<T> {
  const backend = backendArg(name);
  const gpu = backend === 'webgpu' ? await openGpu() : undefined;
  try {
    return await body(backend, gpu);
  } finally {
    gpu?.device.destroy();
  }
}
