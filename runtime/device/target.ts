// The compile Target of an opened device: its kind (software drivers run the 'cpu' kernels), its
// real limits and its optional features. Programs compiled for it run on that device.
import { LIMIT_NAMES, makeTarget, type GemmChoice, type Target, type TargetKind, type TargetLimits } from '../../compiler/target.ts';
import type { GpuContext } from './device.ts';

/** Software Vulkan/D3D adapters (lavapipe/llvmpipe, SwiftShader, WARP) run compute shaders on CPU threads. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|warp|software/i;

export function targetKindFor(adapterName: string): TargetKind {
  return SOFTWARE_ADAPTER.test(adapterName) ? 'cpu' : 'gpu';
}

export interface TargetForOptions {
  /** Tune for another kind than the adapter's (tests run both kernel forms on one adapter). */
  kind?: TargetKind;
  gemm?: GemmChoice;
}

/** The Target of `gpu`: its kind by adapter name, its limits and features. */
export function targetFor(gpu: Pick<GpuContext, 'adapterName' | 'limits' | 'features'>, options: TargetForOptions = {}): Target {
  const limits: Partial<TargetLimits> = {};
  for (const name of LIMIT_NAMES) limits[name] = gpu.limits[name];
  return makeTarget(options.kind ?? targetKindFor(gpu.adapterName), {
    limits,
    features: { shaderF16: gpu.features.has('shader-f16'), subgroups: gpu.features.has('subgroups') },
    ...(options.gemm ? { gemm: options.gemm } : {}),
  });
}
