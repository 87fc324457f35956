// kernel cross_entropy:rows
struct U { rows: u32, d: u32, ignore: i32, }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
fn wg_sum(v: f32, lid: u32) -> f32 { return v; }
fn wg_max(v: f32, lid: u32) -> f32 { return v; }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let r = wg * 64u + lid;
  if (r >= u.rows) { return; }
  let base = r * u.d;
  var mx_p = -3.0e38;
  for (var c = 0u; c < u.d; c++) { mx_p = max(mx_p, x[base + c]); }
  let mx = wg_max(mx_p, lid);
  var se_p = 0.0;
  for (var c = 0u; c < u.d; c++) { let i = base + c; se_p += exp(x[i] - mx); }
  let se = wg_sum(se_p, lid);
  let label = labels[r];
  // Out-of-range labels count as ignored (the interpreter rejects them; a kernel cannot throw).
  let valid = label != u.ignore && label >= 0 && u32(label) < u.d;
  {
    part[r] = select(0.0, mx + log(se) - x[base + u32(clamp(label, 0, i32(u.d) - 1))], valid);
    part[u.rows + r] = select(0.0, 1.0, valid);
  }
}

// kernel cross_entropy:mean
struct U { rows: u32, }
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
var<workgroup> red: array<f32, 256>;
fn wg_sum(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}
fn wg_max(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  return red[0];
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  var acc = 0.0;
  var cnt = 0.0;
  for (var i = lid; i < u.rows; i += 256u) { acc += part[i]; cnt += part[u.rows + i]; }
  let total = wg_sum(acc, lid);
  let n = wg_sum(cnt, lid);
  if (lid == 0u) { y[0] = select(total / n, 0.0, n == 0.0); }
}
