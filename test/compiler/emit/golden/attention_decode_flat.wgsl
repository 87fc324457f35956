// kernel attention:causal:offset:flat
struct U { batch: u32, t_len: u32, s_len: u32, heads: u32, hd: u32, group: u32, qw: u32, kw: u32, scale: f32, win: u32, off_stride: u32, }
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> offset: array<i32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
fn ld_q(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(select(0.0, q[o + c + 0u], c + 0u < u.hd), select(0.0, q[o + c + 1u], c + 1u < u.hd), select(0.0, q[o + c + 2u], c + 2u < u.hd), select(0.0, q[o + c + 3u], c + 3u < u.hd));
}
fn ld_k(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(select(0.0, k[o + c + 0u], c + 0u < u.hd), select(0.0, k[o + c + 1u], c + 1u < u.hd), select(0.0, k[o + c + 2u], c + 2u < u.hd), select(0.0, k[o + c + 3u], c + 3u < u.hd));
}
fn ld_v(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(select(0.0, v[o + c + 0u], c + 0u < u.hd), select(0.0, v[o + c + 1u], c + 1u < u.hd), select(0.0, v[o + c + 2u], c + 2u < u.hd), select(0.0, v[o + c + 3u], c + 3u < u.hd));
}
fn st_y(o: u32, c: u32, val: vec4<f32>) {
  if (c + 0u < u.hd) { y[o + c + 0u] = val[0]; }
  if (c + 1u < u.hd) { y[o + c + 1u] = val[1]; }
  if (c + 2u < u.hd) { y[o + c + 2u] = val[2]; }
  if (c + 3u < u.hd) { y[o + c + 3u] = val[3]; }
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let total = u.batch * u.heads * u.t_len;
  let row = wg * 64u + lid;
  let rc = min(row, total - 1u);
  let t = select(u.t_len, rc % u.t_len, row < total);
  let tc = rc % u.t_len;
  let h = (rc / u.t_len) % u.heads;
  let b = rc / (u.t_len * u.heads);
  let nv = (u.hd + 3u) / 4u;
  let kvh = h / u.group;
  let qo = (b * u.t_len + tc) * u.qw + h * u.hd;
  let kbase = b * u.s_len * u.kw + kvh * u.hd;
  let pos0 = u32(offset[b * u.off_stride]);
  let lim = pos0 + tc;
  let nk = min(lim + 1u, u.s_len);
  let jlo = select(0u, lim + 1u - u.win, u.win > 0u && lim + 1u > u.win);
  var qv: array<vec4<f32>, 4>;
  qv[0u] = ld_q(qo, 0u * 4u) * u.scale;
  qv[1u] = ld_q(qo, 1u * 4u) * u.scale;
  qv[2u] = ld_q(qo, 2u * 4u) * u.scale;
  qv[3u] = ld_q(qo, 3u * 4u) * u.scale;
  var acc: array<vec4<f32>, 4>;
  
  var m = -3.0e38;
  var l = 0.0;
  
  for (var j = jlo; j < nk; j++) {
    let ko = kbase + j * u.kw;
    var sd = 0.0;
    sd += dot(qv[0u], ld_k(ko, 0u * 4u));
    sd += dot(qv[1u], ld_k(ko, 1u * 4u));
    sd += dot(qv[2u], ld_k(ko, 2u * 4u));
    sd += dot(qv[3u], ld_k(ko, 3u * 4u));
    let vis = (j <= lim && (u.win == 0u || j + u.win > lim));
    let s = select(-3.0e38, sd, vis);
    let mn = max(m, s);
    let corr = exp(m - mn);
    let p = select(0.0, exp(s - mn), vis);
    l = l * corr + p;
  
    acc[0u] = acc[0u] * corr + p * ld_v(ko, 0u * 4u);
  acc[1u] = acc[1u] * corr + p * ld_v(ko, 1u * 4u);
  acc[2u] = acc[2u] * corr + p * ld_v(ko, 2u * 4u);
  acc[3u] = acc[3u] * corr + p * ld_v(ko, 3u * 4u);
    m = mn;
  }
  if (t < u.t_len) {
    let inv = 1.0 / l;
    st_y(qo, 0u * 4u, acc[0u] * inv);
  st_y(qo, 1u * 4u, acc[1u] * inv);
  st_y(qo, 2u * 4u, acc[2u] * inv);
  st_y(qo, 3u * 4u, acc[3u] * inv);
  }
}
