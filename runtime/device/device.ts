// The one place that creates a WebGPU device. In Node it loads Dawn through the `webgpu`
// package; in a browser it uses navigator.gpu. Everything else takes a GpuContext.
import { UserError } from '../../compiler/errors.ts';
import { watchOf } from './errors.ts';

export interface GpuContext {
  device: GPUDevice;
  adapterName: string;
  features: ReadonlySet<string>;
  limits: GPUSupportedLimits;
}

export interface DeviceOptions {
  /** Pick an adapter whose description/vendor/architecture contains this text (case-insensitive). */
  adapter?: string;
}

export const NO_ADAPTER_HELP = `no WebGPU adapter found.
Rankfold runs on any Vulkan, Metal or D3D12 GPU through Dawn. On a Linux machine without a GPU,
install Mesa's lavapipe CPU driver (Debian bookworm needs Mesa 25 from bookworm-backports):
    sudo bash scripts/install-vulkan-driver.sh
and make sure XDG_RUNTIME_DIR is set (Rankfold sets it to /tmp if it is missing).`;

let nodeGpu: GPU | undefined;

async function gpuEntry(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (nodeGpu) return nodeGpu;
  // Node: Dawn wants a runtime dir for its caches; an unset one makes adapter creation fail.
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
  if (env && !env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = '/tmp';
  const webgpu = await import('webgpu');
  Object.assign(globalThis, webgpu.globals);
  nodeGpu = webgpu.create([]) as GPU;
  return nodeGpu;
}

/** The GPU entry point createGpu uses (navigator.gpu, or the one Dawn instance in Node), for tools such as the tfjs baseline in bench/. */
export function getGpuEntry(): Promise<GPU> {
  return gpuEntry();
}

/** A software adapter the browser offers when no GPU qualifies (SwiftShader in Chromium). */
function isFallback(adapter: GPUAdapter): boolean {
  const a = adapter as GPUAdapter & { isFallbackAdapter?: boolean };
  return (adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? a.isFallbackAdapter ?? false;
}

function describe(info: GPUAdapterInfo): string {
  return [info.description, info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unknown';
}

/** Lists the adapters Dawn offers, as names usable with the adapter option. */
export async function listAdapters(): Promise<string[]> {
  const gpu = await gpuEntry();
  const names = new Set<string>();
  for (const powerPreference of ['high-performance', 'low-power'] as const) {
    const adapter = await gpu.requestAdapter({ powerPreference });
    if (adapter) names.add(describe(adapter.info));
  }
  return [...names];
}

/**
 * Creates a device on the chosen adapter with the adapter's real limits (not WebGPU's defaults,
 * which cap storage buffers at 128 MiB) and the optional features we use when present.
 */
export async function createGpu(options: DeviceOptions = {}): Promise<GpuContext> {
  const want = options.adapter ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
    .RANKFOLD_ADAPTER;
  const gpu = await gpuEntry();
  const candidates: GPUAdapter[] = [];
  for (const powerPreference of ['high-performance', 'low-power'] as const) {
    const adapter = await gpu.requestAdapter({ powerPreference });
    if (adapter) candidates.push(adapter);
  }
  // A browser whose WebGPU runs on OpenGL ES (Chromium through ANGLE) offers a compatibility-mode
  // adapter only when asked for one. Prefer it to nothing and to a software fallback (SwiftShader).
  const compat = new Set<GPUAdapter>();
  if (candidates.every(isFallback)) {
    const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
    if (adapter && !isFallback(adapter)) {
      compat.add(adapter);
      candidates.unshift(adapter);
    }
  }
  if (candidates.length === 0) throw new UserError(NO_ADAPTER_HELP);
  const nameOf = (a: GPUAdapter) => (!compat.has(a) ? describe(a.info) : describe(a.info) === 'unknown' ? 'compatibility-mode adapter' : `${describe(a.info)} (compatibility mode)`);
  let adapter = candidates[0]!;
  if (want) {
    const match = candidates.find((a) => nameOf(a).toLowerCase().includes(want.toLowerCase()));
    if (!match) throw new UserError(`no WebGPU adapter matches "${want}"; available: ${candidates.map(nameOf).join(', ')}`);
    adapter = match;
  }
  const optional: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = optional.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const key of [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBuffersPerShaderStage',
  ] as const) {
    requiredLimits[key] = adapter.limits[key];
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  // Errors, uncaptured ones and device loss become a DeviceError at the next check (errors.ts).
  watchOf(device);
  return {
    device,
    adapterName: nameOf(adapter),
    features: new Set(device.features as unknown as Iterable<string>),
    limits: device.limits,
  };
}
