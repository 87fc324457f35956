// Shared GPU access for backend tests: one device per test worker. Outside CI a machine without
// a WebGPU adapter skips these tests with a one-line reason; under CI=true that is a failure.
import { it } from 'vitest';
import { createGpu, type GpuContext } from '../../runtime/device/device.ts';

let shared: Promise<GpuContext | Error> | undefined;

export function getGpu(): Promise<GpuContext | Error> {
  shared ??= createGpu().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  return shared;
}

export const inCi = process.env.CI === 'true' || process.env.CI === '1';

/** Declares a test that needs the GPU. */
export function gpuTest(name: string, body: (gpu: GpuContext) => Promise<void>, timeout?: number): void {
  it(
    name,
    async (ctx) => {
      const gpu = await getGpu();
      if (gpu instanceof Error) {
        if (inCi) throw new Error(`CI=true but no WebGPU adapter: ${gpu.message}`);
        ctx.skip(`no WebGPU adapter (${gpu.message.split('\n')[0]})`);
        return;
      }
      await body(gpu);
    },
    timeout,
  );
}
