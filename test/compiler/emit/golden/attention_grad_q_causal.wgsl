// kernel attention_grad_q:causal
struct U { batch: u32, t_len: u32, s_len: u32, heads: u32, hd: u32, group: u32, qw: u32, kw: u32, scale: f32, win: u32, }
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> st: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<uniform> u: U;
fn ld_q(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(select(0.0, q[o + c + 0u], c + 0u < u.hd), select(0.0, q[o + c + 1u], c + 1u < u.hd), select(0.0, q[o + c + 2u], c + 2u < u.hd), select(0.0, q[o + c + 3u], c + 3u < u.hd));
}
fn ld_k(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(select(0.0, k[o + c + 0u], c + 0u < u.hd), select(0.0, k[o + c + 1u], c + 1u < u.hd), select(0.0, k[o + c + 2u], c + 2u < u.hd), select(0.0, k[o + c + 3u], c + 3u < u.hd));
}
fn ld_v(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(select(0.0, v[o + c + 0u], c + 0u < u.hd), select(0.0, v[o + c + 1u], c + 1u < u.hd), select(0.0, v[o + c + 2u], c + 2u < u.hd), select(0.0, v[o + c + 3u], c + 3u < u.hd));
}
fn ld_dy(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(select(0.0, dy[o + c + 0u], c + 0u < u.hd), select(0.0, dy[o + c + 1u], c + 1u < u.hd), select(0.0, dy[o + c + 2u], c + 2u < u.hd), select(0.0, dy[o + c + 3u], c + 3u < u.hd));
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
  let nblk = (u.t_len + 63u) / 64u;
  let blk = wg % nblk;
  let h = (wg / nblk) % u.heads;
  let b = wg / (nblk * u.heads);
  if (b >= u.batch) { return; }
  let nv = (u.hd + 3u) / 4u;
  let t0 = blk * 64u;
  let t = t0 + lid;
  let tc = min(t, u.t_len - 1u);
  let kvh = h / u.group;
  let qo = (b * u.t_len + tc) * u.qw + h * u.hd;
  let kbase = b * u.s_len * u.kw + kvh * u.hd;
  let pos0 = 0u;
  let lim = pos0 + tc;
  let nk = min(pos0 + min(t0 + 64u, u.t_len), u.s_len);
  // With a sliding window, no row of the block sees keys before its first row's window.
  let jlo = select(0u, pos0 + t0 + 1u - u.win, u.win > 0u && pos0 + t0 + 1u > u.win);
  var qv: array<vec4<f32>, 4>;
  qv[0u] = ld_q(qo, 0u * 4u) * u.scale;
  qv[1u] = ld_q(qo, 1u * 4u) * u.scale;
  qv[2u] = ld_q(qo, 2u * 4u) * u.scale;
  qv[3u] = ld_q(qo, 3u * 4u) * u.scale;
  var dyv: array<vec4<f32>, 4>;
  dyv[0u] = ld_dy(qo, 0u * 4u);
  dyv[1u] = ld_dy(qo, 1u * 4u);
  dyv[2u] = ld_dy(qo, 2u * 4u);
  dyv[3u] = ld_dy(qo, 3u * 4u);
  let si = 2u * ((b * u.heads + h) * u.t_len + tc);
  let lse = st[si];
  let row_dot = st[si + 1u];
  var acc: array<vec4<f32>, 4>;
  for (var j = jlo; j < nk; j++) {
    let ko = kbase + j * u.kw;
    var sd = 0.0;
    sd += dot(qv[0u], ld_k(ko, 0u * 4u));
    sd += dot(qv[1u], ld_k(ko, 1u * 4u));
    sd += dot(qv[2u], ld_k(ko, 2u * 4u));
    sd += dot(qv[3u], ld_k(ko, 3u * 4u));
    var dp = 0.0;
    dp += dot(dyv[0u], ld_v(ko, 0u * 4u));
    dp += dot(dyv[1u], ld_v(ko, 1u * 4u));
    dp += dot(dyv[2u], ld_v(ko, 2u * 4u));
    dp += dot(dyv[3u], ld_v(ko, 3u * 4u));
    let ds = select(0.0, exp(sd - lse) * (dp - row_dot), (j <= lim && (u.win == 0u || j + u.win > lim)));
    acc[0u] += ds * ld_k(ko, 0u * 4u);
  acc[1u] += ds * ld_k(ko, 1u * 4u);
  acc[2u] += ds * ld_k(ko, 2u * 4u);
  acc[3u] += ds * ld_k(ko, 3u * 4u);
  }
  if (t < u.t_len) { st_y(qo, 0u * 4u, acc[0u] * u.scale);
  st_y(qo, 1u * 4u, acc[1u] * u.scale);
  st_y(qo, 2u * 4u, acc[2u] * u.scale);
  st_y(qo, 3u * 4u, acc[3u] * u.scale); }
}
