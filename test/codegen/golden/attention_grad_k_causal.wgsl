// kernel attention_stats:causal
struct U { batch: u32, t_len: u32, s_len: u32, heads: u32, hd: u32, group: u32, qw: u32, kw: u32, scale: f32, }
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> st: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
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
fn dpv(doff: u32, koff: u32, j: u32) -> f32 {
  var d = 0.0;
  for (var c = 0u; c < u.hd; c++) { d = fma(dy[doff + c], v[koff + j * u.kw + c], d); }
  return d;
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
  
    for (var jj = 0u; jj < cnt; jj++) {
      let p = ps[jj];
      l += p;
  
    }
    m = mnew;
    workgroupBarrier();
  }
  let lse = m + log(l);
  var rd = 0.0;
  for (var j0 = 0u; j0 < nkeys; j0 += 64u) {
    let j = j0 + lid;
    if (j < nkeys) { rd += exp(score(koff, j) - lse) * dpv(qoff, koff, j); }
  }
  let row_dot = wg_sum(rd, lid);
  if (lid == 0u) { st[2u * wg] = lse; st[2u * wg + 1u] = row_dot; }
}

// kernel attention_grad_k:causal
struct U { batch: u32, t_len: u32, s_len: u32, heads: u32, hd: u32, group: u32, qw: u32, kw: u32, scale: f32, }
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> st: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<uniform> u: U;
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
var<workgroup> ks: array<f32, 256>;
var<workgroup> vs: array<f32, 256>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let j = wg % u.t_len;
  let kvh = (wg / u.t_len) % (u.heads / u.group);
  let b = wg / (u.t_len * (u.heads / u.group));
  if (b >= u.batch) { return; }
  let kidx = (b * u.t_len + j) * u.kw + kvh * u.hd;
  for (var c = lid; c < u.hd; c += 64u) { ks[c] = k[kidx + c]; vs[c] = v[kidx + c]; }
  workgroupBarrier();
  let first = j;
  var acc: array<f32, 4>;
  for (var h = kvh * u.group; h < (kvh + 1u) * u.group; h++) {
    for (var i0 = first; i0 < u.t_len; i0 += 64u) {
      let i = i0 + lid;
      var w = 0.0;
      if (i < u.t_len) {
        let qoff = (b * u.t_len + i) * u.qw + h * u.hd;
        let si = 2u * ((b * u.heads + h) * u.t_len + i);
        var s = 0.0;
        var dpk = 0.0;
        for (var c = 0u; c < u.hd; c++) { s = fma(q[qoff + c], ks[c], s); dpk = fma(dy[qoff + c], vs[c], dpk); }
        let p = exp(s * u.scale - st[si]);
        w = u.scale * p * (dpk - st[si + 1u]);
      }
      workgroupBarrier();
      ps[lid] = w;
      workgroupBarrier();
      let cnt = min(64u, u.t_len - i0);
      for (var ii = 0u; ii < cnt; ii++) {
        let wi = ps[ii];
        let off = (b * u.t_len + i0 + ii) * u.qw + h * u.hd;
        for (var x = 0u; x < 4u; x++) {
          let c = lid + x * 64u;
          if (c < u.hd) { acc[x] = fma(wi, q[off + c], acc[x]); }
        }
      }
    }
  }
  for (var x = 0u; x < 4u; x++) {
    let c = lid + x * 64u;
    if (c < u.hd) { y[kidx + c] = acc[x]; }
  }
}
