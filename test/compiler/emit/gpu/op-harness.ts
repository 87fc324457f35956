// Runs one IR op on the GPU through GpuProgram and on the CPU interpreter in f64, and compares.
import { expect } from 'vitest';
import { GraphBuilder } from '../../../../compiler/ir/builder.ts';
import type { OpAttrs, OpName } from '../../../../compiler/ir/ops.ts';
import type { DType, Shape } from '../../../../compiler/ir/types.ts';
import { evalOp } from '../../../../compiler/ir/interp.ts';
import type { GpuContext } from '../../../../runtime/device/device.ts';
import { GpuProgram } from '../../../../runtime/device/program.ts';
import { compileGraph } from '../../../../compiler/compile.ts';
import type { Graph } from '../../../../compiler/ir/types.ts';
import { targetFor } from '../../../../runtime/device/target.ts';
import type { TargetKind } from '../../../../compiler/target.ts';

/** Deterministic uniform [-1, 1) values (mulberry32). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

export function randInt(n: number, seed: number, hi: number): Int32Array {
  return Int32Array.from(rand(n, seed, 0, 1), (x) => Math.min(hi - 1, Math.floor(x * hi)));
}

export interface Operand {
  data: Float32Array | Int32Array;
  shape: Shape;
}

export const f = (shape: Shape, seed: number, lo = -1, hi = 1): Operand => ({
  data: rand(shape.reduce((a, b) => a * b, 1), seed, lo, hi),
  shape,
});
export const ids = (shape: Shape, seed: number, hi: number): Operand => ({
  data: randInt(shape.reduce((a, b) => a * b, 1), seed, hi),
  shape,
});

/**
 * Tolerance for f32 kernels against the f64 oracle: |gpu - ref| <= atol + rtol·|ref|. The defaults
 * cover sums of up to a few hundred O(1) terms in f32 (error ~ sqrt(n)·2⁻²⁴ relative to the terms).
 */
export interface Tol {
  rtol?: number;
  atol?: number;
}

export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol = {}, what = ''): number {
  const rtol = tol.rtol ?? 1e-4;
  const atol = tol.atol ?? 1e-5;
  expect(got.length, `${what} length`).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i]! - want[i]!);
    const err = diff === 0 || (Number.isNaN(got[i]!) && Number.isNaN(want[i]!)) ? 0 : diff / (atol + rtol * Math.abs(want[i]!));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (!(worst <= 1)) {
    throw new Error(`${what}: element ${at}: gpu ${got[at]} vs ref ${want[at]} (${worst.toFixed(2)}x tolerance rtol=${rtol} atol=${atol})`);
  }
  return worst;
}

/** Kernels for the device's own target kind unless `target` names the other one. */
export interface HarnessOptions {
  target?: TargetKind;
}

/**
 * A GPU program of a hand-built graph, compiled for the device's target (or the other kind), with
 * one buffer per value unless `reuseBuffers` (the memory plan's sharing) is asked for.
 */
export function gpuProgram(gpu: GpuContext, graph: Graph, o: HarnessOptions & { reuseBuffers?: boolean } = {}): Promise<GpuProgram> {
  const target = targetFor(gpu, o.target ? { kind: o.target } : {});
  return GpuProgram.create(gpu, compileGraph(graph, { target, reuseBuffers: o.reuseBuffers ?? false }));
}

/** Builds a one-op graph (operands as inputs x0, x1, ...), runs it on the GPU and in f64, compares. */
export async function checkOp<K extends OpName>(
  gpu: GpuContext, op: K, attrs: OpAttrs[K], operands: Operand[], tol: Tol = {}, what = op as string, options: HarnessOptions = {},
): Promise<{ program: GpuProgram; gpuOut: Float32Array | Int32Array }> {
  const b = new GraphBuilder();
  const ins = operands.map((o, i) => b.input(`x${i}`, (o.data instanceof Int32Array ? 'i32' : 'f32') as DType, o.shape));
  b.output('y', b.emit(op, ins, attrs));
  const program = await gpuProgram(gpu, b.graph, options);
  operands.forEach((o, i) => program.setInput(`x${i}`, o.data));
  program.run();
  // adamw's result is a placeholder without a buffer; its effect is read from the operands below.
  const gpuOut = op === 'adamw' ? new Float32Array(0) : await program.read('y');
  // The oracle gets f64 copies (adamw mutates its operands in place, as the GPU kernel does).
  const hostIns = operands.map((o) => ({ data: o.data instanceof Int32Array ? o.data : Float64Array.from(o.data), shape: o.shape }));
  const ref = evalOp(op, attrs, hostIns, { precision: 'f64' });
  if (op === 'adamw') {
    for (const i of [0, 2, 3]) {
      expectClose(await program.read(ins[i]!), hostIns[i]!.data, tol, `${what} operand ${i}`);
    }
  } else {
    expectClose(gpuOut, ref.data, tol, what);
  }
  program.destroy();
  return { program, gpuOut };
}
