// ---- kernel embedding ---- 2 launch(es); first used by %2 embedding (transformer.wte)
struct U { n: u32, d: u32, vocab: u32, start: u32, }
@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 256u + lid;
  if (i >= u.n) { return; }
  let id = ids[i / u.d];
  var val = 0.0;
  if (id >= i32(u.start) && u32(id) - u.start < u.vocab) { val = table[(u32(id) - u.start) * u.d + i % u.d]; }
  y[i] = val;
}

// ---- kernel add:v4 ---- 18 launch(es); first used by %6 add
struct U { n: u32, nb: u32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 256u + lid;
  if (i >= u.n) { return; }
  y[i] = a[i] + b[i % u.nb];
}

// ---- kernel layernorm ---- 5 launch(es); first used by %9 layernorm (transformer.h.0.ln_1)
struct U { rows: u32, d: u32, eps: f32, }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
fn wg_sum(v: f32, lid: u32) -> f32 { return v; }
fn wg_max(v: f32, lid: u32) -> f32 { return v; }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let r = wg * 64u + lid;
  if (r >= u.rows) { return; }
  let base = r * u.d;
  var sx_p = 0.0;
  for (var c = 0u; c < u.d; c++) { let i = base + c; sx_p += x[i]; }
  let sx = wg_sum(sx_p, lid);
  let mu = sx / f32(u.d);
  var sv_p = 0.0;
  for (var c = 0u; c < u.d; c++) { let i = base + c; sv_p += (x[i] - mu) * (x[i] - mu); }
  let sv = wg_sum(sv_p, lid);
  let inv = 1.0 / sqrt(sv / f32(u.d) + u.eps);
  for (var c = 0u; c < u.d; c++) { y[base + c] = (x[base + c] - mu) * inv * w[c] + b[c]; }
}

// ---- kernel matmul:tB:vA:vB ---- 9 launch(es); first used by %14 matmul (transformer.h.0.attn.c_attn.lora_A)
struct U { m: u32, n: u32, k: u32, tiles_n: u32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
var<workgroup> As: array<array<vec4<f32>, 16>, 16>;
var<workgroup> Bs: array<array<vec4<f32>, 16>, 16>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 64u;
  let n0 = (wg % u.tiles_n) * 64u;
  let tx = lid % 16u;
  let ty = lid / 16u;
  // Unrolled by the generator: constant indices keep the accumulators in registers (llvmpipe spills
  // dynamically indexed private arrays to memory).
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < u.k; k0 += 16u) {
    {
      let lo = lid / 4u;
      let lk = (lid % 4u) * 4u;
      let go = m0 + lo;
      let gk = k0 + lk;
      var q = vec4<f32>(0.0);
      if (go < u.m && gk < u.k) { q = a[(go * u.k + gk) / 4u]; }
      As[lk + 0u][lo / 4u][lo % 4u] = q[0];
      As[lk + 1u][lo / 4u][lo % 4u] = q[1];
      As[lk + 2u][lo / 4u][lo % 4u] = q[2];
      As[lk + 3u][lo / 4u][lo % 4u] = q[3];
    }
    {
      let lo = lid / 4u;
      let lk = (lid % 4u) * 4u;
      let go = n0 + lo;
      let gk = k0 + lk;
      var q = vec4<f32>(0.0);
      if (go < u.n && gk < u.k) { q = b[(go * u.k + gk) / 4u]; }
      Bs[lk + 0u][lo / 4u][lo % 4u] = q[0];
      Bs[lk + 1u][lo / 4u][lo % 4u] = q[1];
      Bs[lk + 2u][lo / 4u][lo % 4u] = q[2];
      Bs[lk + 3u][lo / 4u][lo % 4u] = q[3];
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let av = As[kk][ty];
      let bv = Bs[kk][tx];
      acc0 = fma(vec4<f32>(av.x), bv, acc0);
      acc1 = fma(vec4<f32>(av.y), bv, acc1);
      acc2 = fma(vec4<f32>(av.z), bv, acc2);
      acc3 = fma(vec4<f32>(av.w), bv, acc3);
    }
    workgroupBarrier();
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = m0 + ty * 4u + i;
    if (row >= u.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = n0 + tx * 4u + j;
      if (col >= u.n) { break; }
      var val = accs[i][j];
      y[row * u.n + col] = val;
    }
  }
}

// ---- kernel lowrank_matmul:vA:vB:tL:bias ---- 2 launch(es); first used by %15 lowrank_matmul (transformer.h.0.attn.c_attn.bias)
struct U { m: u32, n: u32, k: u32, tiles_n: u32, r: u32, scale: f32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read> l: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<uniform> u: U;
var<workgroup> As: array<array<vec4<f32>, 16>, 16>;
var<workgroup> Bs: array<array<vec4<f32>, 16>, 16>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 64u;
  let n0 = (wg % u.tiles_n) * 64u;
  let tx = lid % 16u;
  let ty = lid / 16u;
  // Unrolled by the generator: constant indices keep the accumulators in registers (llvmpipe spills
  // dynamically indexed private arrays to memory).
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < u.k; k0 += 16u) {
    {
      let lo = lid / 4u;
      let lk = (lid % 4u) * 4u;
      let go = m0 + lo;
      let gk = k0 + lk;
      var q = vec4<f32>(0.0);
      if (go < u.m && gk < u.k) { q = a[(go * u.k + gk) / 4u]; }
      As[lk + 0u][lo / 4u][lo % 4u] = q[0];
      As[lk + 1u][lo / 4u][lo % 4u] = q[1];
      As[lk + 2u][lo / 4u][lo % 4u] = q[2];
      As[lk + 3u][lo / 4u][lo % 4u] = q[3];
    }
    {
      let lo = (lid % 16u) * 4u;
      let lk = lid / 16u;
      let go = n0 + lo;
      let gk = k0 + lk;
      var q = vec4<f32>(0.0);
      if (go < u.n && gk < u.k) { q = b[(gk * u.n + go) / 4u]; }
      Bs[lk][lo / 4u] = q;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let av = As[kk][ty];
      let bv = Bs[kk][tx];
      acc0 = fma(vec4<f32>(av.x), bv, acc0);
      acc1 = fma(vec4<f32>(av.y), bv, acc1);
      acc2 = fma(vec4<f32>(av.z), bv, acc2);
      acc3 = fma(vec4<f32>(av.w), bv, acc3);
    }
    workgroupBarrier();
  }
  for (var q = 0u; q < u.r; q++) {
    let sv = u.scale * vec4<f32>(s[min(m0 + ty * 4u + 0u, u.m - 1u) * u.r + q], s[min(m0 + ty * 4u + 1u, u.m - 1u) * u.r + q], s[min(m0 + ty * 4u + 2u, u.m - 1u) * u.r + q], s[min(m0 + ty * 4u + 3u, u.m - 1u) * u.r + q]);
    let lv = vec4<f32>(l[min(n0 + tx * 4u + 0u, u.n - 1u) * u.r + q], l[min(n0 + tx * 4u + 1u, u.n - 1u) * u.r + q], l[min(n0 + tx * 4u + 2u, u.n - 1u) * u.r + q], l[min(n0 + tx * 4u + 3u, u.n - 1u) * u.r + q]);
    acc0 = fma(vec4<f32>(sv.x), lv, acc0);
    acc1 = fma(vec4<f32>(sv.y), lv, acc1);
    acc2 = fma(vec4<f32>(sv.z), lv, acc2);
    acc3 = fma(vec4<f32>(sv.w), lv, acc3);
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = m0 + ty * 4u + i;
    if (row >= u.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = n0 + tx * 4u + j;
      if (col >= u.n) { break; }
      var val = accs[i][j];
      val += bias[col];
      y[row * u.n + col] = val;
    }
  }
}

// ---- kernel slice ---- 6 launch(es); first used by %16 slice
struct U { n: u32, inner: u32, size: u32, dim: u32, start: u32, }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 256u + lid;
  if (i >= u.n) { return; }
  let o = i / (u.size * u.inner);
  let r = i % (u.size * u.inner);
  y[i] = a[(o * u.dim + u.start) * u.inner + r];
}

// ---- kernel attention:causal ---- 2 launch(es); first used by %19 attention
struct U { batch: u32, t_len: u32, s_len: u32, heads: u32, hd: u32, group: u32, qw: u32, kw: u32, scale: f32, win: u32, }
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
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

// ---- kernel matmul:vA:vB ---- 9 launch(es); first used by %21 matmul (transformer.h.0.attn.c_proj)
struct U { m: u32, n: u32, k: u32, tiles_n: u32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
var<workgroup> As: array<array<vec4<f32>, 16>, 16>;
var<workgroup> Bs: array<array<vec4<f32>, 16>, 16>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 64u;
  let n0 = (wg % u.tiles_n) * 64u;
  let tx = lid % 16u;
  let ty = lid / 16u;
  // Unrolled by the generator: constant indices keep the accumulators in registers (llvmpipe spills
  // dynamically indexed private arrays to memory).
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < u.k; k0 += 16u) {
    {
      let lo = lid / 4u;
      let lk = (lid % 4u) * 4u;
      let go = m0 + lo;
      let gk = k0 + lk;
      var q = vec4<f32>(0.0);
      if (go < u.m && gk < u.k) { q = a[(go * u.k + gk) / 4u]; }
      As[lk + 0u][lo / 4u][lo % 4u] = q[0];
      As[lk + 1u][lo / 4u][lo % 4u] = q[1];
      As[lk + 2u][lo / 4u][lo % 4u] = q[2];
      As[lk + 3u][lo / 4u][lo % 4u] = q[3];
    }
    {
      let lo = (lid % 16u) * 4u;
      let lk = lid / 16u;
      let go = n0 + lo;
      let gk = k0 + lk;
      var q = vec4<f32>(0.0);
      if (go < u.n && gk < u.k) { q = b[(gk * u.n + go) / 4u]; }
      Bs[lk][lo / 4u] = q;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let av = As[kk][ty];
      let bv = Bs[kk][tx];
      acc0 = fma(vec4<f32>(av.x), bv, acc0);
      acc1 = fma(vec4<f32>(av.y), bv, acc1);
      acc2 = fma(vec4<f32>(av.z), bv, acc2);
      acc3 = fma(vec4<f32>(av.w), bv, acc3);
    }
    workgroupBarrier();
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = m0 + ty * 4u + i;
    if (row >= u.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = n0 + tx * 4u + j;
      if (col >= u.n) { break; }
      var val = accs[i][j];
      y[row * u.n + col] = val;
    }
  }
}

// ---- kernel unary:gelu_tanh:v4 ---- 2 launch(es); first used by %32 unary
struct U { n: u32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> u: U;
fn erf_(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - p * exp(-a * a));
}
// tanh of large arguments overflows exp inside some drivers' tanh; clamping is exact in f32.
fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 256u + lid;
  if (i >= u.n) { return; }
  let xv = a[i];
  var r = vec4<f32>(0.0);
  { let x = xv.x; r.x = 0.5 * x * (1.0 + tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
  { let x = xv.y; r.y = 0.5 * x * (1.0 + tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
  { let x = xv.z; r.z = 0.5 * x * (1.0 + tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
  { let x = xv.w; r.w = 0.5 * x * (1.0 + tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
  y[i] = r;
}

// ---- kernel cross_entropy:rows ---- 1 launch(es); first used by %74 cross_entropy (loss)
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

// ---- kernel cross_entropy:mean ---- 1 launch(es); first used by %74 cross_entropy (loss)
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

// ---- kernel const ---- 1 launch(es); first used by %75 const
struct U { n: u32, value: f32, }
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<uniform> u: U;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 256u + lid;
  if (i >= u.n) { return; }
  y[i] = u.value;
}

// ---- kernel cross_entropy:count ---- 1 launch(es); first used by %76 cross_entropy_grad
struct U { rows: u32, d: u32, ignore: i32, }
@group(0) @binding(0) var<storage, read> labels: array<i32>;
@group(0) @binding(1) var<storage, read_write> cnt: array<f32>;
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
  for (var i = lid; i < u.rows; i += 256u) { let l = labels[i]; acc += select(0.0, 1.0, l != u.ignore && l >= 0 && u32(l) < u.d); }
  let n = wg_sum(acc, lid);
  if (lid == 0u) { cnt[0] = n; }
}

// ---- kernel cross_entropy_grad ---- 1 launch(es); first used by %76 cross_entropy_grad
struct U { rows: u32, d: u32, ignore: i32, }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> dloss: array<f32>;
@group(0) @binding(3) var<storage, read> cnt: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
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
  let n = cnt[0];
  let g = select(dloss[0] / n, 0.0, n == 0.0 || !valid);
  for (var c = 0u; c < u.d; c++) {
    let i = base + c;
    y[i] = g * (exp(x[i] - mx) / se - select(0.0, 1.0, i32(c) == label));
  }
}

// ---- kernel layernorm_grad ---- 4 launch(es); first used by %78 layernorm_grad
struct U { rows: u32, d: u32, eps: f32, }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
fn wg_sum(v: f32, lid: u32) -> f32 { return v; }
fn wg_max(v: f32, lid: u32) -> f32 { return v; }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let r = wg * 64u + lid;
  if (r >= u.rows) { return; }
  let base = r * u.d;
  var sx_p = 0.0;
  for (var c = 0u; c < u.d; c++) { let i = base + c; sx_p += x[i]; }
  let sx = wg_sum(sx_p, lid);
  let mu = sx / f32(u.d);
  var sv_p = 0.0;
  for (var c = 0u; c < u.d; c++) { let i = base + c; sv_p += (x[i] - mu) * (x[i] - mu); }
  let sv = wg_sum(sv_p, lid);
  let inv = 1.0 / sqrt(sv / f32(u.d) + u.eps);
  var sg_p = 0.0;
  for (var c = 0u; c < u.d; c++) { let i = base + c; sg_p += dy[i] * w[c]; }
  let sg = wg_sum(sg_p, lid);
  var sgx_p = 0.0;
  for (var c = 0u; c < u.d; c++) { let i = base + c; sgx_p += dy[i] * w[c] * (x[i] - mu) * inv; }
  let sgx = wg_sum(sgx_p, lid);
  let mg = sg / f32(u.d);
  let mgx = sgx / f32(u.d);
  for (var c = 0u; c < u.d; c++) { let i = base + c; y[i] = inv * (dy[i] * w[c] - mg - (x[i] - mu) * inv * mgx); }
}

// ---- kernel unary_grad:gelu_tanh:v4 ---- 2 launch(es); first used by %80 unary_grad
struct U { n: u32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> u: U;
fn erf_(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - p * exp(-a * a));
}
// tanh of large arguments overflows exp inside some drivers' tanh; clamping is exact in f32.
fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 256u + lid;
  if (i >= u.n) { return; }
  let xv = a[i];
  let dv = dy[i];
  var r = vec4<f32>(0.0);
  { let x = xv.x; let t = tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x));
  let d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * x * x); r.x = dv.x * d; }
  { let x = xv.y; let t = tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x));
  let d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * x * x); r.y = dv.y * d; }
  { let x = xv.z; let t = tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x));
  let d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * x * x); r.z = dv.z * d; }
  { let x = xv.w; let t = tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x));
  let d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * x * x); r.w = dv.w * d; }
  y[i] = r;
}

// ---- kernel attention_stats:causal ---- 2 launch(es); first used by %85 attention_stats
struct U { batch: u32, t_len: u32, s_len: u32, heads: u32, hd: u32, group: u32, qw: u32, kw: u32, scale: f32, win: u32, }
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> yo: array<f32>;
@group(0) @binding(4) var<storage, read_write> st: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
fn ld_q(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(select(0.0, q[o + c + 0u], c + 0u < u.hd), select(0.0, q[o + c + 1u], c + 1u < u.hd), select(0.0, q[o + c + 2u], c + 2u < u.hd), select(0.0, q[o + c + 3u], c + 3u < u.hd));
}
fn ld_k(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(select(0.0, k[o + c + 0u], c + 0u < u.hd), select(0.0, k[o + c + 1u], c + 1u < u.hd), select(0.0, k[o + c + 2u], c + 2u < u.hd), select(0.0, k[o + c + 3u], c + 3u < u.hd));
}
fn ld_dy(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(select(0.0, dy[o + c + 0u], c + 0u < u.hd), select(0.0, dy[o + c + 1u], c + 1u < u.hd), select(0.0, dy[o + c + 2u], c + 2u < u.hd), select(0.0, dy[o + c + 3u], c + 3u < u.hd));
}
fn ld_yo(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(select(0.0, yo[o + c + 0u], c + 0u < u.hd), select(0.0, yo[o + c + 1u], c + 1u < u.hd), select(0.0, yo[o + c + 2u], c + 2u < u.hd), select(0.0, yo[o + c + 3u], c + 3u < u.hd));
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
  
  
    m = mn;
  }
  var r = 0.0;
  r += dot(ld_dy(qo, 0u * 4u), ld_yo(qo, 0u * 4u));
  r += dot(ld_dy(qo, 1u * 4u), ld_yo(qo, 1u * 4u));
  r += dot(ld_dy(qo, 2u * 4u), ld_yo(qo, 2u * 4u));
  r += dot(ld_dy(qo, 3u * 4u), ld_yo(qo, 3u * 4u));
  if (t < u.t_len) {
    let si = 2u * ((b * u.heads + h) * u.t_len + t);
    st[si] = m + log(l);
    st[si + 1u] = r;
  }
}

// ---- kernel attention_grad_q:causal ---- 2 launch(es); first used by %86 attention_grad
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

// ---- kernel attention_grad_k:causal ---- 2 launch(es); first used by %87 attention_grad
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

// ---- kernel attention_grad_v:causal ---- 2 launch(es); first used by %88 attention_grad
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
  
  var acc: array<vec4<f32>, 4>;
  for (var h = kvh * u.group; h < (kvh + 1u) * u.group; h++) {
    for (var i = j0; i < iend; i++) {
      let qo = (b * u.t_len + i) * u.qw + h * u.hd;
      let si = 2u * ((b * u.heads + h) * u.t_len + i);
  
      var s = 0.0;
      s += dot(ld_q(qo, 0u * 4u), kv[0u]);
  s += dot(ld_q(qo, 1u * 4u), kv[1u]);
  s += dot(ld_q(qo, 2u * 4u), kv[2u]);
  s += dot(ld_q(qo, 3u * 4u), kv[3u]);
      let p = select(0.0, exp(s - st[si]), (i >= j && (u.win == 0u || i < j + u.win)));
      acc[0u] += p * ld_dy(qo, 0u * 4u);
      acc[1u] += p * ld_dy(qo, 1u * 4u);
      acc[2u] += p * ld_dy(qo, 2u * 4u);
      acc[3u] += p * ld_dy(qo, 3u * 4u);
    }
  }
  if (j < u.t_len) { st_y(ko, 0u * 4u, acc[0u]);
  st_y(ko, 1u * 4u, acc[1u]);
  st_y(ko, 2u * 4u, acc[2u]);
  st_y(ko, 3u * 4u, acc[3u]); }
}

// ---- kernel slice_grad ---- 6 launch(es); first used by %89 slice_grad
struct U { n: u32, inner: u32, size: u32, full: u32, start: u32, }
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 256u + lid;
  if (i >= u.n) { return; }
  let o = i / (u.full * u.inner);
  let j = (i / u.inner) % u.full;
  let r = i % u.inner;
  var val = 0.0;
  if (j >= u.start && j < u.start + u.size) { val = dy[(o * u.size + j - u.start) * u.inner + r]; }
  y[i] = val;
}

// ---- kernel scale:v4 ---- 2 launch(es); first used by %94 scale
struct U { n: u32, c: f32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 256u + lid;
  if (i >= u.n) { return; }
  y[i] = a[i] * u.c;
}

// ---- kernel matmul:tA:vA:vB ---- 4 launch(es); first used by %96 matmul
struct U { m: u32, n: u32, k: u32, tiles_n: u32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
var<workgroup> As: array<array<vec4<f32>, 16>, 16>;
var<workgroup> Bs: array<array<vec4<f32>, 16>, 16>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 64u;
  let n0 = (wg % u.tiles_n) * 64u;
  let tx = lid % 16u;
  let ty = lid / 16u;
  // Unrolled by the generator: constant indices keep the accumulators in registers (llvmpipe spills
  // dynamically indexed private arrays to memory).
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < u.k; k0 += 16u) {
    {
      let lo = (lid % 16u) * 4u;
      let lk = lid / 16u;
      let go = m0 + lo;
      let gk = k0 + lk;
      var q = vec4<f32>(0.0);
      if (go < u.m && gk < u.k) { q = a[(gk * u.m + go) / 4u]; }
      As[lk][lo / 4u] = q;
    }
    {
      let lo = (lid % 16u) * 4u;
      let lk = lid / 16u;
      let go = n0 + lo;
      let gk = k0 + lk;
      var q = vec4<f32>(0.0);
      if (go < u.n && gk < u.k) { q = b[(gk * u.n + go) / 4u]; }
      Bs[lk][lo / 4u] = q;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let av = As[kk][ty];
      let bv = Bs[kk][tx];
      acc0 = fma(vec4<f32>(av.x), bv, acc0);
      acc1 = fma(vec4<f32>(av.y), bv, acc1);
      acc2 = fma(vec4<f32>(av.z), bv, acc2);
      acc3 = fma(vec4<f32>(av.w), bv, acc3);
    }
    workgroupBarrier();
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = m0 + ty * 4u + i;
    if (row >= u.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = n0 + tx * 4u + j;
      if (col >= u.n) { break; }
      var val = accs[i][j];
      y[row * u.n + col] = val;
    }
  }
}

// ---- kernel lowrank_matmul:tB:vA:vB ---- 1 launch(es); first used by %98 lowrank_matmul
struct U { m: u32, n: u32, k: u32, tiles_n: u32, r: u32, scale: f32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read> l: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
var<workgroup> As: array<array<vec4<f32>, 16>, 16>;
var<workgroup> Bs: array<array<vec4<f32>, 16>, 16>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 64u;
  let n0 = (wg % u.tiles_n) * 64u;
  let tx = lid % 16u;
  let ty = lid / 16u;
  // Unrolled by the generator: constant indices keep the accumulators in registers (llvmpipe spills
  // dynamically indexed private arrays to memory).
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < u.k; k0 += 16u) {
    {
      let lo = lid / 4u;
      let lk = (lid % 4u) * 4u;
      let go = m0 + lo;
      let gk = k0 + lk;
      var q = vec4<f32>(0.0);
      if (go < u.m && gk < u.k) { q = a[(go * u.k + gk) / 4u]; }
      As[lk + 0u][lo / 4u][lo % 4u] = q[0];
      As[lk + 1u][lo / 4u][lo % 4u] = q[1];
      As[lk + 2u][lo / 4u][lo % 4u] = q[2];
      As[lk + 3u][lo / 4u][lo % 4u] = q[3];
    }
    {
      let lo = lid / 4u;
      let lk = (lid % 4u) * 4u;
      let go = n0 + lo;
      let gk = k0 + lk;
      var q = vec4<f32>(0.0);
      if (go < u.n && gk < u.k) { q = b[(go * u.k + gk) / 4u]; }
      Bs[lk + 0u][lo / 4u][lo % 4u] = q[0];
      Bs[lk + 1u][lo / 4u][lo % 4u] = q[1];
      Bs[lk + 2u][lo / 4u][lo % 4u] = q[2];
      Bs[lk + 3u][lo / 4u][lo % 4u] = q[3];
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let av = As[kk][ty];
      let bv = Bs[kk][tx];
      acc0 = fma(vec4<f32>(av.x), bv, acc0);
      acc1 = fma(vec4<f32>(av.y), bv, acc1);
      acc2 = fma(vec4<f32>(av.z), bv, acc2);
      acc3 = fma(vec4<f32>(av.w), bv, acc3);
    }
    workgroupBarrier();
  }
  for (var q = 0u; q < u.r; q++) {
    let sv = u.scale * vec4<f32>(s[min(m0 + ty * 4u + 0u, u.m - 1u) * u.r + q], s[min(m0 + ty * 4u + 1u, u.m - 1u) * u.r + q], s[min(m0 + ty * 4u + 2u, u.m - 1u) * u.r + q], s[min(m0 + ty * 4u + 3u, u.m - 1u) * u.r + q]);
    let lv = vec4<f32>(l[q * u.n + min(n0 + tx * 4u + 0u, u.n - 1u)], l[q * u.n + min(n0 + tx * 4u + 1u, u.n - 1u)], l[q * u.n + min(n0 + tx * 4u + 2u, u.n - 1u)], l[q * u.n + min(n0 + tx * 4u + 3u, u.n - 1u)]);
    acc0 = fma(vec4<f32>(sv.x), lv, acc0);
    acc1 = fma(vec4<f32>(sv.y), lv, acc1);
    acc2 = fma(vec4<f32>(sv.z), lv, acc2);
    acc3 = fma(vec4<f32>(sv.w), lv, acc3);
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = m0 + ty * 4u + i;
    if (row >= u.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = n0 + tx * 4u + j;
      if (col >= u.n) { break; }
      var val = accs[i][j];
      y[row * u.n + col] = val;
    }
  }
}

// ---- kernel adamw ---- 4 launch(es); first used by %123 adamw (transformer.h.0.attn.c_attn.lora_A.weight.adamw)
struct U { n: u32, beta1: f32, beta2: f32, eps: f32, wd: f32, }
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> hyper: array<f32>;
@group(0) @binding(5) var<storage, read> gscale: array<f32>;
@group(0) @binding(6) var<uniform> u: U;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i4 = wg * 256u + lid;
  if (i4 * 4u >= u.n) { return; }
  // Flag 2: a gradient-accumulation micro-step that must not update.
  if ((u32(hyper[3]) & 2u) != 0u) { return; }
  // Same operation order as torch.optim.AdamW's single-tensor path (and the interpreter).
  let lr = hyper[0];
  {
    let i = i4 * 4u + 0u;
    if (i < u.n) {
      let gi = g[i] * gscale[0];
      let pi = p[i] * (1.0 - lr * u.wd);
      let mi = u.beta1 * m[i] + (1.0 - u.beta1) * gi;
      let vi = u.beta2 * v[i] + (1.0 - u.beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi - (lr / hyper[1]) * mi / (sqrt(vi) / sqrt(hyper[2]) + u.eps);
    }
  }
  {
    let i = i4 * 4u + 1u;
    if (i < u.n) {
      let gi = g[i] * gscale[0];
      let pi = p[i] * (1.0 - lr * u.wd);
      let mi = u.beta1 * m[i] + (1.0 - u.beta1) * gi;
      let vi = u.beta2 * v[i] + (1.0 - u.beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi - (lr / hyper[1]) * mi / (sqrt(vi) / sqrt(hyper[2]) + u.eps);
    }
  }
  {
    let i = i4 * 4u + 2u;
    if (i < u.n) {
      let gi = g[i] * gscale[0];
      let pi = p[i] * (1.0 - lr * u.wd);
      let mi = u.beta1 * m[i] + (1.0 - u.beta1) * gi;
      let vi = u.beta2 * v[i] + (1.0 - u.beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi - (lr / hyper[1]) * mi / (sqrt(vi) / sqrt(hyper[2]) + u.eps);
    }
  }
  {
    let i = i4 * 4u + 3u;
    if (i < u.n) {
      let gi = g[i] * gscale[0];
      let pi = p[i] * (1.0 - lr * u.wd);
      let mi = u.beta1 * m[i] + (1.0 - u.beta1) * gi;
      let vi = u.beta2 * v[i] + (1.0 - u.beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi - (lr / hyper[1]) * mi / (sqrt(vi) / sqrt(hyper[2]) + u.eps);
    }
  }
}
