import type { GpuContext } from './device.ts';

const SAXPY = /* wgsl */ `
struct Params { n: u32, a: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < params.n) { y[gid.x] = params.a * x[gid.x] + y[gid.x]; }
}`;

/** Runs y = a*x + y on the GPU and checks every element against the CPU. */
export async function runSmokeKernel(gpu: GpuContext, n = 1000): Promise<{ ok: boolean; detail: string }> {
  const { device } = gpu;
  const x = Float32Array.from({ length: n }, (_, i) => i * 0.5);
  const y = Float32Array.from({ length: n }, (_, i) => 1 - i);
  const a = 3;
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const xb = device.createBuffer({ size: x.byteLength, usage });
  const yb = device.createBuffer({ size: y.byteLength, usage });
  const pb = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const rb = device.createBuffer({ size: y.byteLength, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(xb, 0, x);
  device.queue.writeBuffer(yb, 0, y);
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 1)[0] = n;
  new Float32Array(params, 4, 1)[0] = a;
  device.queue.writeBuffer(pb, 0, params);
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: SAXPY }), entryPoint: 'main' },
  });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [xb, yb, pb].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  encoder.copyBufferToBuffer(yb, 0, rb, 0, y.byteLength);
  device.queue.submit([encoder.finish()]);
  await rb.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(rb.getMappedRange().slice(0));
  rb.unmap();
  for (const b of [xb, yb, pb, rb]) b.destroy();
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(out[i]! - (a * x[i]! + y[i]!)));
  return { ok: worst === 0, detail: `saxpy over ${n} elements, max error ${worst}` };
}
