// Assembles a WGSL compute module from bindings, a uniform struct and a body. Every kernel gets the
// same entry signature so bodies can use `wg` (the linear workgroup index, 2-D dispatch folded),
// `lid` (local index) and `u` (the uniform); helpers are emitted only when asked for.
import type { Binding, Launch, Uniform } from './kernel.ts';

export interface KernelSource {
  key: string;
  bindings: Binding[];
  uniforms: Uniform[];
  workgroupSize: number;
  body: string;
  /** Module-scope declarations (workgroup arrays, helper fns). */
  decls?: string;
  workgroups: Launch['workgroups'];
}

function elemType(b: Binding): string {
  if (b.elem === 'vec4f') return 'vec4<f32>';
  if (b.elem === 'vec2u') return 'vec2<u32>';
  if (b.elem === 'vec4h') return 'vec4<f16>';
  return b.elem;
}

export function kernel(src: KernelSource): Launch {
  const lines: string[] = [];
  // f16 bindings (shader-f16 targets only) need the extension enabled in the module.
  if (src.bindings.some((b) => b.elem === 'f16' || b.elem === 'vec4h')) lines.push('enable f16;');
  lines.push(`struct U { ${src.uniforms.map(([n, t]) => `${n}: ${t},`).join(' ')} }`);
  src.bindings.forEach((b, i) => {
    const access = b.access === 'read' ? 'read' : 'read_write';
    lines.push(`@group(0) @binding(${i}) var<storage, ${access}> ${b.name}: array<${elemType(b)}>;`);
  });
  lines.push(`@group(0) @binding(${src.bindings.length}) var<uniform> u: U;`);
  if (src.decls) lines.push(src.decls.trim());
  lines.push(`@compute @workgroup_size(${src.workgroupSize})`);
  lines.push(
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {',
  );
  lines.push('  let wg = wid.y * nwg.x + wid.x;');
  lines.push(
    src.body
      .trim()
      .split('\n')
      .map((l) => `  ${l.trimEnd()}`)
      .join('\n'),
  );
  lines.push('}');
  return { key: src.key, code: lines.join('\n') + '\n', bindings: src.bindings, uniforms: src.uniforms, workgroups: src.workgroups };
}

export const inp = (name: string, index: number, elem: Binding['elem'] = 'f32'): Binding => ({
  name,
  ref: { kind: 'input', index },
  access: 'read',
  elem,
});
export const out = (name = 'y', elem: Binding['elem'] = 'f32'): Binding => ({ name, ref: { kind: 'output' }, access: 'read_write', elem });
export const scratch = (name: string, slot: number, access: Binding['access'] = 'read_write'): Binding => ({
  name,
  ref: { kind: 'scratch', slot },
  access,
  elem: 'f32',
});

/**
 * A workgroup-wide sum (and max) over `size` lanes through workgroup memory. Call sites must be in
 * uniform control flow; the result is returned to every lane.
 */
export function reduceDecls(size: number): string {
  return `
var<workgroup> red: array<f32, ${size}>;
fn wg_sum(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${size / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}
fn wg_max(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${size / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  return red[0];
}`;
}

/** A finite stand-in for -inf (WGSL has no infinity literal; exp(NEG_BIG - finite) is exactly 0). */
export const NEG_BIG = '-3.0e38';

export const last = (s: readonly number[]): number => s[s.length - 1] ?? 1;
export const count = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
