// Compute pipelines shared per device, keyed by the kernel's shader key. Keys never contain sizes,
// so a second program (or a second graph of other shapes) on the same device compiles nothing new.
import type { Launch } from '../../compiler/emit/kernel.ts';
import { DeviceError } from './errors.ts';

export interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

interface DeviceCache {
  entries: Map<string, Promise<CachedPipeline>>;
  created: number;
}

const caches = new WeakMap<GPUDevice, DeviceCache>();

function cacheOf(device: GPUDevice): DeviceCache {
  let c = caches.get(device);
  if (!c) caches.set(device, (c = { entries: new Map(), created: 0 }));
  return c;
}

/** Pipelines ever created on this device (the counter tests and benchmarks read). */
export function pipelinesCreated(device: GPUDevice): number {
  return cacheOf(device).created;
}

async function build(device: GPUDevice, launch: Launch): Promise<CachedPipeline> {
  // Explicit layouts: 'auto' would drop bindings a variant does not touch and make bind groups fail.
  const entries: GPUBindGroupLayoutEntry[] = launch.bindings.map((b, binding) => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' },
  }));
  entries.push({ binding: launch.bindings.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
  const layout = device.createBindGroupLayout({ label: launch.key, entries });
  const module = device.createShaderModule({ label: launch.key, code: launch.code });
  try {
    const pipeline = await device.createComputePipelineAsync({
      label: launch.key,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    return { pipeline, layout };
  } catch (err) {
    const info = await module.getCompilationInfo();
    const messages = info.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
    // The kernel's text is in `rankfold compile --emit wgsl`; the message names it by key.
    throw new DeviceError('validation', `compiling kernel ${launch.key}`, `${(err as Error).message}${messages ? `; ${messages}` : ''}`);
  }
}

/** The pipeline for a launch's key, compiling it (asynchronously, in parallel with others) once per device. */
export function getPipeline(device: GPUDevice, launch: Launch): Promise<CachedPipeline> {
  const cache = cacheOf(device);
  let entry = cache.entries.get(launch.key);
  if (!entry) {
    cache.created++;
    entry = build(device, launch);
    // A failed compile must not poison the cache for a fixed retry.
    entry.catch(() => cache.entries.delete(launch.key));
    cache.entries.set(launch.key, entry);
  }
  return entry;
}
