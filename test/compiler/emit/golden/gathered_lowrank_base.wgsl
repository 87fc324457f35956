// kernel gathered_lowrank_shrink
struct U { rows: u32, per_batch: u32, slots: u32, rank: u32, k: u32, n: u32, }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> index: array<i32>;
@group(0) @binding(3) var<storage, read_write> s: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 64u + lid;
  if (i >= u.rows * u.rank) { return; }
  let row = i / u.rank;
  let r = i % u.rank;
  let raw = index[row / u.per_batch];
  let live = raw >= 0 && u32(raw) < u.slots;
  let slot = select(0u, u32(raw), live);
  var acc = 0.0;
  if (live) {
    let ao = (slot * u.rank + r) * u.k;
    let xo = row * u.k;
    for (var k = 0u; k < u.k; k++) { acc += a[ao + k] * x[xo + k]; }
  }
  s[i] = acc;
}

// kernel gathered_lowrank_expand:base
struct U { rows: u32, per_batch: u32, slots: u32, rank: u32, k: u32, n: u32, }
@group(0) @binding(0) var<storage, read> b: array<f32>;
@group(0) @binding(1) var<storage, read> index: array<i32>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read> base: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 64u + lid;
  if (i >= u.rows * u.n) { return; }
  let row = i / u.n;
  let col = i % u.n;
  let raw = index[row / u.per_batch];
  let live = raw >= 0 && u32(raw) < u.slots;
  let slot = select(0u, u32(raw), live);
  var acc = 0.0;
  if (live) {
    let bo = (slot * u.n + col) * u.rank;
    let so = row * u.rank;
    for (var r = 0u; r < u.rank; r++) { acc += b[bo + r] * s[so + r]; }
  }
  y[i] = base[i] + acc;
}
