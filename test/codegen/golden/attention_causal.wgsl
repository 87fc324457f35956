// kernel attention:causal
struct U { batch: u32, t_len: u32, s_len: u32, heads: u32, hd: u32, group: u32, qw: u32, kw: u32, scale: f32, }
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
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
var<workgroup> qs: array<f32, 256>;
var<workgroup> ps: array<f32, 64>;
var<workgroup> pos_sh: u32;
fn score(koff: u32, j: u32) -> f32 {
  var d = 0.0;
  for (var c = 0u; c < u.hd; c++) { d = fma(qs[c], k[koff + j * u.kw + c], d); }
  return d * u.scale;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let t = wg % u.t_len;
  let h = (wg / u.t_len) % u.heads;
  let b = wg / (u.t_len * u.heads);
  if (b >= u.batch) { return; }
  let kvh = h / u.group;
  let qoff = (b * u.t_len + t) * u.qw + h * u.hd;
  let koff = b * u.s_len * u.kw + kvh * u.hd;
  let pos0 = 0u;
  let nkeys = min(pos0 + t + 1u, u.s_len);
  for (var c = lid; c < u.hd; c += 64u) { qs[c] = q[qoff + c]; }
  workgroupBarrier();
  
  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, 4>;
  for (var j0 = 0u; j0 < nkeys; j0 += 64u) {
    let j = j0 + lid;
    var s = -3.0e38;
    if (j < nkeys) { s = score(koff, j); }
    let mnew = max(m, wg_max(s, lid));
    let corr = exp(m - mnew);
    ps[lid] = select(0.0, exp(s - mnew), j < nkeys);
    workgroupBarrier();
    l = l * corr;
    let cnt = min(64u, nkeys - j0);
    for (var i = 0u; i < 4u; i++) { acc[i] = acc[i] * corr; }
    for (var jj = 0u; jj < cnt; jj++) {
      let p = ps[jj];
      l += p;
      for (var i = 0u; i < 4u; i++) {
        let c = lid + i * 64u;
        if (c < u.hd) { acc[i] = fma(p, v[koff + (j0 + jj) * u.kw + c], acc[i]); }
      }
    }
    m = mnew;
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let c = lid + i * 64u;
    if (c < u.hd) { y[qoff + c] = acc[i] / l; }
  }
}
