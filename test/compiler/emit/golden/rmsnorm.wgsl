// kernel rmsnorm
struct U { rows: u32, d: u32, eps: f32, }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
fn wg_sum(v: f32, lid: u32) -> f32 { return v; }
fn wg_max(v: f32, lid: u32) -> f32 { return v; }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let r = wg * 64u + lid;
  if (r >= u.rows) { return; }
  let base = r * u.d;
  var ss_p = 0.0;
  for (var c = 0u; c < u.d; c++) { let i = base + c; ss_p += x[i] * x[i]; }
  let ss = wg_sum(ss_p, lid);
  let inv = 1.0 / sqrt(ss / f32(u.d) + u.eps);
  for (var c = 0u; c < u.d; c++) { y[base + c] = x[base + c] * inv * w[c]; }
}
