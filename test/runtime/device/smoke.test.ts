import { describe, expect } from 'vitest';
import { runSmokeKernel } from '../../../runtime/device/smoke.ts';
import { gpuTest } from '../../helpers/gpu.ts';

describe('WebGPU smoke', () => {
  gpuTest('runs a WGSL kernel on the adapter and gets exact numbers', async (gpu) => {
    const result = await runSmokeKernel(gpu, 4099);
    expect(result.detail).toContain('max error 0');
    expect(result.ok).toBe(true);
  });
});
