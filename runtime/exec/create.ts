// Choosing an executor for a compiled program, and the target to compile for it: the GPU program
// runs the program's kernels under its plan; the interpreter runs its graph.
import { makeTarget, NO_SIZE_LIMITS, type Target } from '../../compiler/target.ts';
import type { Executable } from '../../compiler/compile.ts';
import type { GpuContext } from '../device/device.ts';
import { targetFor } from '../device/target.ts';
import type { BackendName, Executor } from './executor.ts';
import { InterpExecutor } from './interp-executor.ts';

export interface ExecutorOptions {
  backend: BackendName;
  gpu?: GpuContext;
  /** Interpreter precision (default f32, like the GPU). */
  precision?: 'f32' | 'f64';
}

/**
 * The interpreter's target: it runs no kernel and binds no buffer, so nothing is split or refused
 * for size (a 152k-vocab model runs unsplit, as in PyTorch).
 */
export const INTERP_TARGET: Target = makeTarget('gpu', { limits: NO_SIZE_LIMITS });

/** What to compile for these options: the device's Target on webgpu; INTERP_TARGET for the interpreter. */
export function executorTarget(o: ExecutorOptions): Target {
  if (o.backend === 'webgpu' && o.gpu) return targetFor(o.gpu);
  return INTERP_TARGET;
}

export async function createExecutor(program: Executable, o: ExecutorOptions): Promise<Executor> {
  if (o.backend === 'interp') return new InterpExecutor(program.graph, o.precision ?? 'f32');
  if (!o.gpu) throw new Error('createExecutor: the webgpu backend needs a GpuContext');
  const { GpuExecutor } = await import('./gpu-executor.ts');
  return GpuExecutor.create(o.gpu, program);
}
