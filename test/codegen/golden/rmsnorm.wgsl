// kernel rmsnorm
struct U { rows: u32, d: u32, eps: f32, }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
var<workgroup> red: array<f32, 64>;
fn wg_sum(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}
fn wg_max(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  return red[0];
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let r = wg;
  if (r >= u.rows) { return; }
  let base = r * u.d;
  var ss_p = 0.0;
  for (var c = lid; c < u.d; c += 64u) { let i = base + c; ss_p += x[i] * x[i]; }
  let ss = wg_sum(ss_p, lid);
  let inv = 1.0 / sqrt(ss / f32(u.d) + u.eps);
  for (var c = lid; c < u.d; c += 64u) { y[base + c] = x[base + c] * inv * w[c]; }
}
