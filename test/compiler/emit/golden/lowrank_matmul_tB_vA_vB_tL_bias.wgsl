// kernel lowrank_matmul:tB:vA:vB:tL:bias
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
