// kernel attention_grad_k:causal
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
  let kvheads = u.heads / u.group;
  let blk = wg % nblk;
  let kvh = (wg / nblk) % kvheads;
  let b = wg / (nblk * kvheads);
  if (b >= u.batch) { return; }
  let nv = (u.hd + 3u) / 4u;
  let j0 = blk * 64u;
  let j = j0 + lid;
  let jc = min(j, u.t_len - 1u);
  let ko = (b * u.t_len + jc) * u.kw + kvh * u.hd;
  // With a sliding window, query i sees key j only while i < j + win: no query past the block's last key's window.
  let iend = select(u.t_len, min(u.t_len, min(j0 + 63u, u.t_len - 1u) + u.win), u.win > 0u);
  var kv: array<vec4<f32>, 4>;
  kv[0u] = ld_k(ko, 0u * 4u) * u.scale;
  kv[1u] = ld_k(ko, 1u * 4u) * u.scale;
  kv[2u] = ld_k(ko, 2u * 4u) * u.scale;
  kv[3u] = ld_k(ko, 3u * 4u) * u.scale;
  var vv: array<vec4<f32>, 4>;
  vv[0u] = ld_v(ko, 0u * 4u);
  vv[1u] = ld_v(ko, 1u * 4u);
  vv[2u] = ld_v(ko, 2u * 4u);
  vv[3u] = ld_v(ko, 3u * 4u);
  var qi: array<vec4<f32>, 4>;
  var acc: array<vec4<f32>, 4>;
  for (var h = kvh * u.group; h < (kvh + 1u) * u.group; h++) {
    for (var i = j0; i < iend; i++) {
      let qo = (b * u.t_len + i) * u.qw + h * u.hd;
      let si = 2u * ((b * u.heads + h) * u.t_len + i);
      qi[0u] = ld_q(qo, 0u * 4u);
  qi[1u] = ld_q(qo, 1u * 4u);
  qi[2u] = ld_q(qo, 2u * 4u);
  qi[3u] = ld_q(qo, 3u * 4u);
      var s = 0.0;
      s += dot(qi[0u], kv[0u]);
  s += dot(qi[1u], kv[1u]);
  s += dot(qi[2u], kv[2u]);
  s += dot(qi[3u], kv[3u]);
      let p = select(0.0, exp(s - st[si]), (i >= j && (u.win == 0u || i < j + u.win)));
      var dp = 0.0;
      dp += dot(vv[0u], ld_dy(qo, 0u * 4u));
      dp += dot(vv[1u], ld_dy(qo, 1u * 4u));
      dp += dot(vv[2u], ld_dy(qo, 2u * 4u));
      dp += dot(vv[3u], ld_dy(qo, 3u * 4u));
      let w = p * (dp - st[si + 1u]);
      acc[0u] += w * qi[0u];
      acc[1u] += w * qi[1u];
      acc[2u] += w * qi[2u];
      acc[3u] += w * qi[3u];
    }
  }
  if (j < u.t_len) { st_y(ko, 0u * 4u, acc[0u] * u.scale);
  st_y(ko, 1u * 4u, acc[1u] * u.scale);
  st_y(ko, 2u * 4u, acc[2u] * u.scale);
  st_y(ko, 3u * 4u, acc[3u] * u.scale); }
}
