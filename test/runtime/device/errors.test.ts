// Device failures are loud: a WebGPU validation error in a run, a kernel that does not compile, a
// buffer used after it was destroyed and a lost device each become a DeviceError that names the
// kernel or buffer, at the next read; no value computed by a failed command buffer (zeros) is ever
// returned, and every later read throws again. Buffers over the device's limits are refused by name
// before anything is created.
import { describe, expect } from 'vitest';
import { gpuTest } from '../../helpers/gpu.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { compileGraph, type Executable } from '../../../compiler/compile.ts';
import { DeviceLimitError } from '../../../compiler/errors.ts';
import { createGpu, getGpuEntry, type GpuContext } from '../../../runtime/device/device.ts';
import { DeviceError } from '../../../runtime/device/errors.ts';
import { GpuProgram } from '../../../runtime/device/program.ts';
import { targetFor } from '../../../runtime/device/target.ts';

function tiny(gpu: Pick<GpuContext, 'adapterName' | 'limits' | 'features'>, label = 'scaled'): Executable {
  const b = new GraphBuilder();
  const x = b.input('x', 'f32', [4]);
  b.output('y', b.scale(b.unary('exp', x), 2, label));
  return compileGraph(b.graph, { target: targetFor(gpu) });
}

async function failure(p: Promise<unknown>): Promise<DeviceError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DeviceError);
  return err as DeviceError;
}

describe('device errors', () => {
  gpuTest('a dispatch the device refuses is a DeviceError naming the kernel, at the next read, and on every read after', async (gpu) => {
    // The failure stays with its program: other programs on the device still work (tests below).
    const exe = tiny(gpu);
    // Injected: an explicit grid past maxComputeWorkgroupsPerDimension (the compiler never emits one).
    const scale = exe.kernels[2]!.launches[0]!;
    (scale as { workgroups: [number, number, number] }).workgroups = [gpu.limits.maxComputeWorkgroupsPerDimension + 1, 1, 1];
    const p = await GpuProgram.create(gpu, exe);
    p.setInput('x', Float32Array.of(1, 2, 3, 4));
    p.run(); // returns at once: WebGPU reports asynchronously
    const e = await failure(p.read('y'));
    expect(e.kind).toBe('validation');
    expect(e.kernel).toBe(`${scale.key} %2 (scaled)`);
    expect(e.message).toMatch(/^GPU validation error in kernel scale.* %2 \(scaled\) while running step 1 .*exceeds max compute workgroups per dimension.*nothing written/);
    // No zeros from the failed command buffer, ever: reading again throws again.
    await failure(p.read('y'));
    await failure(p.check());
    p.destroy();
    const ok = await GpuProgram.create(gpu, tiny(gpu));
    ok.setInput('x', Float32Array.of(0, 0, 0, 0));
    ok.run();
    expect(Array.from(await ok.read('y'))).toEqual([2, 2, 2, 2]);
    ok.destroy();
  });

  gpuTest('a kernel that does not compile is a DeviceError naming its key, from create', async (gpu) => {
    const exe = tiny(gpu);
    const launch = exe.kernels[1]!.launches[0]!;
    Object.assign(launch, { key: 'broken:kernel:for:test', code: launch.code.replace('exp(', 'no_such_function(') });
    const e = await failure(GpuProgram.create(gpu, exe));
    expect(e.message).toMatch(/^GPU validation error while compiling kernel broken:kernel:for:test: .*no_such_function/);
  });

  gpuTest('a buffer destroyed under a program is a DeviceError naming the buffer', async () => {
    const own = await createGpu(); // a device of its own: the failure stays with it
    const p = await GpuProgram.create(own, tiny(own, 'exp2'));
    p.bufferOf(p.graph.outputs['y']!)!.destroy();
    p.setInput('x', Float32Array.of(1, 2, 3, 4));
    p.run();
    const e = await failure(p.read('y'));
    expect(e.message).toMatch(/\[Buffer "exp2"\] used in submit while destroyed/);
    own.device.destroy();
  });

  gpuTest('a lost device is a DeviceError at the next use', async () => {
    const own = await createGpu();
    const p = await GpuProgram.create(own, tiny(own));
    p.setInput('x', Float32Array.of(1, 2, 3, 4));
    own.device.destroy();
    await own.device.lost;
    const e = await failure((async () => {
      p.run();
      return p.read('y');
    })());
    expect(e.kind).toBe('lost');
    expect(e.message).toMatch(/^GPU device lost while .*the device was destroyed/);
  });

  gpuTest('a plan over the device limits is refused by name before any buffer is created', async (gpu) => {
    const exe = tiny(gpu);
    // A hand-made plan (compile checks its own): one buffer past maxBufferSize.
    exe.plan.buffers[0]!.size = gpu.limits.maxBufferSize + 16;
    const err = await GpuProgram.create(gpu, exe).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceLimitError);
    expect((err as Error).message).toMatch(/^buffer "x" needs [\d,]+ bytes .* maxBufferSize/);
  });

  gpuTest('the device has the adapter\'s maximum buffer limits, not WebGPU\'s defaults', async (gpu) => {
    const adapter = await (await getGpuEntry()).requestAdapter({ powerPreference: 'high-performance' });
    expect(gpu.limits.maxStorageBufferBindingSize).toBe(adapter!.limits.maxStorageBufferBindingSize);
    expect(gpu.limits.maxBufferSize).toBe(adapter!.limits.maxBufferSize);
  });
});
