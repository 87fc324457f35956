// ---- kernel embedding ---- 1 launch(es); first used by %2 embedding (model.embed_tokens)
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

// ---- kernel rmsnorm ---- 5 launch(es); first used by %4 rmsnorm (model.layers.0.input_layernorm)
struct U { rows: u32, d: u32, eps: f32, }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
fn wg_sum(v: f32, lid: u32) -> f32 { return v; }
fn wg_max(v: f32, lid: u32) -> f32 { return v; }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let r = wg * 64u + lid;
  if (r >= u.rows) { return; }
  let base = r * u.d;
  var ss_p = 0.0;
  for (var c = 0u; c < u.d; c++) { let i = base + c; ss_p += x[i] * x[i]; }
  let ss = wg_sum(ss_p, lid);
  let inv = 1.0 / sqrt(ss / f32(u.d) + u.eps);
  for (var c = 0u; c < u.d; c++) { y[base + c] = x[base + c] * inv * w[c]; }
}

// ---- kernel dropout ---- 6 launch(es); first used by %8 dropout (model.layers.0.self_attn.q_proj.lora_dropout)
struct U { n: u32, seed: u32, threshold: u32, s: f32, }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 256u + lid;
  if (i >= u.n) { return; }
  let h = pcg(pcg(pcg(u.seed) ^ 0u) ^ i);
  y[i] = select(0.0, a[i] * u.s, (h >> 8u) >= u.threshold);
}

// ---- kernel matmul:reg:r4c1x2:tB:vA:vB ---- 4 launch(es); first used by %9 matmul (model.layers.0.self_attn.q_proj.lora_A)
struct U { m: u32, n: u32, k: u32, tiles_n: u32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
fn store(row: u32, col: u32, acc: f32) {
  var val = acc;
  y[row * u.n + col] = val;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 128u + (lid / 2u) * 4u;
  let n0 = (wg % u.tiles_n) * 8u + (lid % 2u) * 4u;
  let mr0 = min(m0 + 0u, u.m - 1u);
  let mr1 = min(m0 + 1u, u.m - 1u);
  let mr2 = min(m0 + 2u, u.m - 1u);
  let mr3 = min(m0 + 3u, u.m - 1u);
  let nc0_0 = min(n0 + 0u, u.n - 1u);
  let nc0_1 = min(n0 + 1u, u.n - 1u);
  let nc0_2 = min(n0 + 2u, u.n - 1u);
  let nc0_3 = min(n0 + 3u, u.n - 1u);
  var acc0_0 = vec4<f32>(0.0);
  var acc1_0 = vec4<f32>(0.0);
  var acc2_0 = vec4<f32>(0.0);
  var acc3_0 = vec4<f32>(0.0);
  let k4 = u.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let av0 = a[(mr0 * u.k + k) / 4u];
    let av1 = a[(mr1 * u.k + k) / 4u];
    let av2 = a[(mr2 * u.k + k) / 4u];
    let av3 = a[(mr3 * u.k + k) / 4u];
    let bv0_0 = b[(nc0_0 * u.k + k) / 4u];
    let bv0_1 = b[(nc0_1 * u.k + k) / 4u];
    let bv0_2 = b[(nc0_2 * u.k + k) / 4u];
    let bv0_3 = b[(nc0_3 * u.k + k) / 4u];
    let b0_0 = vec4<f32>(bv0_0[0], bv0_1[0], bv0_2[0], bv0_3[0]);
    let a0_0 = av0[0];
    acc0_0 = fma(vec4<f32>(a0_0), b0_0, acc0_0);
    let a0_1 = av1[0];
    acc1_0 = fma(vec4<f32>(a0_1), b0_0, acc1_0);
    let a0_2 = av2[0];
    acc2_0 = fma(vec4<f32>(a0_2), b0_0, acc2_0);
    let a0_3 = av3[0];
    acc3_0 = fma(vec4<f32>(a0_3), b0_0, acc3_0);
    let b1_0 = vec4<f32>(bv0_0[1], bv0_1[1], bv0_2[1], bv0_3[1]);
    let a1_0 = av0[1];
    acc0_0 = fma(vec4<f32>(a1_0), b1_0, acc0_0);
    let a1_1 = av1[1];
    acc1_0 = fma(vec4<f32>(a1_1), b1_0, acc1_0);
    let a1_2 = av2[1];
    acc2_0 = fma(vec4<f32>(a1_2), b1_0, acc2_0);
    let a1_3 = av3[1];
    acc3_0 = fma(vec4<f32>(a1_3), b1_0, acc3_0);
    let b2_0 = vec4<f32>(bv0_0[2], bv0_1[2], bv0_2[2], bv0_3[2]);
    let a2_0 = av0[2];
    acc0_0 = fma(vec4<f32>(a2_0), b2_0, acc0_0);
    let a2_1 = av1[2];
    acc1_0 = fma(vec4<f32>(a2_1), b2_0, acc1_0);
    let a2_2 = av2[2];
    acc2_0 = fma(vec4<f32>(a2_2), b2_0, acc2_0);
    let a2_3 = av3[2];
    acc3_0 = fma(vec4<f32>(a2_3), b2_0, acc3_0);
    let b3_0 = vec4<f32>(bv0_0[3], bv0_1[3], bv0_2[3], bv0_3[3]);
    let a3_0 = av0[3];
    acc0_0 = fma(vec4<f32>(a3_0), b3_0, acc0_0);
    let a3_1 = av1[3];
    acc1_0 = fma(vec4<f32>(a3_1), b3_0, acc1_0);
    let a3_2 = av2[3];
    acc2_0 = fma(vec4<f32>(a3_2), b3_0, acc2_0);
    let a3_3 = av3[3];
    acc3_0 = fma(vec4<f32>(a3_3), b3_0, acc3_0);
  }
  for (var k = k4; k < u.k; k++) {
    let bt0 = vec4<f32>(b[(nc0_0 * u.k + k) / 4u][(nc0_0 * u.k + k) % 4u], b[(nc0_1 * u.k + k) / 4u][(nc0_1 * u.k + k) % 4u], b[(nc0_2 * u.k + k) / 4u][(nc0_2 * u.k + k) % 4u], b[(nc0_3 * u.k + k) / 4u][(nc0_3 * u.k + k) % 4u]);
    let at0 = a[(mr0 * u.k + k) / 4u][(mr0 * u.k + k) % 4u];
    acc0_0 = fma(vec4<f32>(at0), bt0, acc0_0);
    let at1 = a[(mr1 * u.k + k) / 4u][(mr1 * u.k + k) % 4u];
    acc1_0 = fma(vec4<f32>(at1), bt0, acc1_0);
    let at2 = a[(mr2 * u.k + k) / 4u][(mr2 * u.k + k) % 4u];
    acc2_0 = fma(vec4<f32>(at2), bt0, acc2_0);
    let at3 = a[(mr3 * u.k + k) / 4u][(mr3 * u.k + k) % 4u];
    acc3_0 = fma(vec4<f32>(at3), bt0, acc3_0);
  }
  if (m0 + 0u < u.m) {
    let row = m0 + 0u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc0_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc0_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc0_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc0_0[3]);
    }
  }
  if (m0 + 1u < u.m) {
    let row = m0 + 1u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc1_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc1_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc1_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc1_0[3]);
    }
  }
  if (m0 + 2u < u.m) {
    let row = m0 + 2u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc2_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc2_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc2_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc2_0[3]);
    }
  }
  if (m0 + 3u < u.m) {
    let row = m0 + 3u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc3_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc3_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc3_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc3_0[3]);
    }
  }
}

// ---- kernel lowrank_matmul:reg:r4c1:tB:vA:vB:tL ---- 2 launch(es); first used by %10 lowrank_matmul (model.layers.0.self_attn.q_proj.lora)
struct U { m: u32, n: u32, k: u32, tiles_n: u32, r: u32, scale: f32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read> l: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
fn store(row: u32, col: u32, acc: f32) {
  var val = acc;
  y[row * u.n + col] = val;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 32u + (lid / 8u) * 4u;
  let n0 = (wg % u.tiles_n) * 32u + (lid % 8u) * 4u;
  let mr0 = min(m0 + 0u, u.m - 1u);
  let mr1 = min(m0 + 1u, u.m - 1u);
  let mr2 = min(m0 + 2u, u.m - 1u);
  let mr3 = min(m0 + 3u, u.m - 1u);
  let nc0_0 = min(n0 + 0u, u.n - 1u);
  let nc0_1 = min(n0 + 1u, u.n - 1u);
  let nc0_2 = min(n0 + 2u, u.n - 1u);
  let nc0_3 = min(n0 + 3u, u.n - 1u);
  var acc0_0 = vec4<f32>(0.0);
  var acc1_0 = vec4<f32>(0.0);
  var acc2_0 = vec4<f32>(0.0);
  var acc3_0 = vec4<f32>(0.0);
  for (var q = 0u; q < u.r; q++) {
    let lq0 = vec4<f32>(l[nc0_0 * u.r + q], l[nc0_1 * u.r + q], l[nc0_2 * u.r + q], l[nc0_3 * u.r + q]);
    let sq0 = u.scale * s[mr0 * u.r + q];
    acc0_0 = fma(vec4<f32>(sq0), lq0, acc0_0);
    let sq1 = u.scale * s[mr1 * u.r + q];
    acc1_0 = fma(vec4<f32>(sq1), lq0, acc1_0);
    let sq2 = u.scale * s[mr2 * u.r + q];
    acc2_0 = fma(vec4<f32>(sq2), lq0, acc2_0);
    let sq3 = u.scale * s[mr3 * u.r + q];
    acc3_0 = fma(vec4<f32>(sq3), lq0, acc3_0);
  }
  let k4 = u.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let av0 = a[(mr0 * u.k + k) / 4u];
    let av1 = a[(mr1 * u.k + k) / 4u];
    let av2 = a[(mr2 * u.k + k) / 4u];
    let av3 = a[(mr3 * u.k + k) / 4u];
    let bv0_0 = b[(nc0_0 * u.k + k) / 4u];
    let bv0_1 = b[(nc0_1 * u.k + k) / 4u];
    let bv0_2 = b[(nc0_2 * u.k + k) / 4u];
    let bv0_3 = b[(nc0_3 * u.k + k) / 4u];
    let b0_0 = vec4<f32>(bv0_0[0], bv0_1[0], bv0_2[0], bv0_3[0]);
    let a0_0 = av0[0];
    acc0_0 = fma(vec4<f32>(a0_0), b0_0, acc0_0);
    let a0_1 = av1[0];
    acc1_0 = fma(vec4<f32>(a0_1), b0_0, acc1_0);
    let a0_2 = av2[0];
    acc2_0 = fma(vec4<f32>(a0_2), b0_0, acc2_0);
    let a0_3 = av3[0];
    acc3_0 = fma(vec4<f32>(a0_3), b0_0, acc3_0);
    let b1_0 = vec4<f32>(bv0_0[1], bv0_1[1], bv0_2[1], bv0_3[1]);
    let a1_0 = av0[1];
    acc0_0 = fma(vec4<f32>(a1_0), b1_0, acc0_0);
    let a1_1 = av1[1];
    acc1_0 = fma(vec4<f32>(a1_1), b1_0, acc1_0);
    let a1_2 = av2[1];
    acc2_0 = fma(vec4<f32>(a1_2), b1_0, acc2_0);
    let a1_3 = av3[1];
    acc3_0 = fma(vec4<f32>(a1_3), b1_0, acc3_0);
    let b2_0 = vec4<f32>(bv0_0[2], bv0_1[2], bv0_2[2], bv0_3[2]);
    let a2_0 = av0[2];
    acc0_0 = fma(vec4<f32>(a2_0), b2_0, acc0_0);
    let a2_1 = av1[2];
    acc1_0 = fma(vec4<f32>(a2_1), b2_0, acc1_0);
    let a2_2 = av2[2];
    acc2_0 = fma(vec4<f32>(a2_2), b2_0, acc2_0);
    let a2_3 = av3[2];
    acc3_0 = fma(vec4<f32>(a2_3), b2_0, acc3_0);
    let b3_0 = vec4<f32>(bv0_0[3], bv0_1[3], bv0_2[3], bv0_3[3]);
    let a3_0 = av0[3];
    acc0_0 = fma(vec4<f32>(a3_0), b3_0, acc0_0);
    let a3_1 = av1[3];
    acc1_0 = fma(vec4<f32>(a3_1), b3_0, acc1_0);
    let a3_2 = av2[3];
    acc2_0 = fma(vec4<f32>(a3_2), b3_0, acc2_0);
    let a3_3 = av3[3];
    acc3_0 = fma(vec4<f32>(a3_3), b3_0, acc3_0);
  }
  for (var k = k4; k < u.k; k++) {
    let bt0 = vec4<f32>(b[(nc0_0 * u.k + k) / 4u][(nc0_0 * u.k + k) % 4u], b[(nc0_1 * u.k + k) / 4u][(nc0_1 * u.k + k) % 4u], b[(nc0_2 * u.k + k) / 4u][(nc0_2 * u.k + k) % 4u], b[(nc0_3 * u.k + k) / 4u][(nc0_3 * u.k + k) % 4u]);
    let at0 = a[(mr0 * u.k + k) / 4u][(mr0 * u.k + k) % 4u];
    acc0_0 = fma(vec4<f32>(at0), bt0, acc0_0);
    let at1 = a[(mr1 * u.k + k) / 4u][(mr1 * u.k + k) % 4u];
    acc1_0 = fma(vec4<f32>(at1), bt0, acc1_0);
    let at2 = a[(mr2 * u.k + k) / 4u][(mr2 * u.k + k) % 4u];
    acc2_0 = fma(vec4<f32>(at2), bt0, acc2_0);
    let at3 = a[(mr3 * u.k + k) / 4u][(mr3 * u.k + k) % 4u];
    acc3_0 = fma(vec4<f32>(at3), bt0, acc3_0);
  }
  if (m0 + 0u < u.m) {
    let row = m0 + 0u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc0_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc0_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc0_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc0_0[3]);
    }
  }
  if (m0 + 1u < u.m) {
    let row = m0 + 1u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc1_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc1_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc1_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc1_0[3]);
    }
  }
  if (m0 + 2u < u.m) {
    let row = m0 + 2u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc2_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc2_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc2_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc2_0[3]);
    }
  }
  if (m0 + 3u < u.m) {
    let row = m0 + 3u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc3_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc3_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc3_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc3_0[3]);
    }
  }
}

// ---- kernel matmul:reg:r4c1x4:tB:vA:vB ---- 2 launch(es); first used by %12 matmul (model.layers.0.self_attn.k_proj)
struct U { m: u32, n: u32, k: u32, tiles_n: u32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
fn store(row: u32, col: u32, acc: f32) {
  var val = acc;
  y[row * u.n + col] = val;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 64u + (lid / 4u) * 4u;
  let n0 = (wg % u.tiles_n) * 16u + (lid % 4u) * 4u;
  let mr0 = min(m0 + 0u, u.m - 1u);
  let mr1 = min(m0 + 1u, u.m - 1u);
  let mr2 = min(m0 + 2u, u.m - 1u);
  let mr3 = min(m0 + 3u, u.m - 1u);
  let nc0_0 = min(n0 + 0u, u.n - 1u);
  let nc0_1 = min(n0 + 1u, u.n - 1u);
  let nc0_2 = min(n0 + 2u, u.n - 1u);
  let nc0_3 = min(n0 + 3u, u.n - 1u);
  var acc0_0 = vec4<f32>(0.0);
  var acc1_0 = vec4<f32>(0.0);
  var acc2_0 = vec4<f32>(0.0);
  var acc3_0 = vec4<f32>(0.0);
  let k4 = u.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let av0 = a[(mr0 * u.k + k) / 4u];
    let av1 = a[(mr1 * u.k + k) / 4u];
    let av2 = a[(mr2 * u.k + k) / 4u];
    let av3 = a[(mr3 * u.k + k) / 4u];
    let bv0_0 = b[(nc0_0 * u.k + k) / 4u];
    let bv0_1 = b[(nc0_1 * u.k + k) / 4u];
    let bv0_2 = b[(nc0_2 * u.k + k) / 4u];
    let bv0_3 = b[(nc0_3 * u.k + k) / 4u];
    let b0_0 = vec4<f32>(bv0_0[0], bv0_1[0], bv0_2[0], bv0_3[0]);
    let a0_0 = av0[0];
    acc0_0 = fma(vec4<f32>(a0_0), b0_0, acc0_0);
    let a0_1 = av1[0];
    acc1_0 = fma(vec4<f32>(a0_1), b0_0, acc1_0);
    let a0_2 = av2[0];
    acc2_0 = fma(vec4<f32>(a0_2), b0_0, acc2_0);
    let a0_3 = av3[0];
    acc3_0 = fma(vec4<f32>(a0_3), b0_0, acc3_0);
    let b1_0 = vec4<f32>(bv0_0[1], bv0_1[1], bv0_2[1], bv0_3[1]);
    let a1_0 = av0[1];
    acc0_0 = fma(vec4<f32>(a1_0), b1_0, acc0_0);
    let a1_1 = av1[1];
    acc1_0 = fma(vec4<f32>(a1_1), b1_0, acc1_0);
    let a1_2 = av2[1];
    acc2_0 = fma(vec4<f32>(a1_2), b1_0, acc2_0);
    let a1_3 = av3[1];
    acc3_0 = fma(vec4<f32>(a1_3), b1_0, acc3_0);
    let b2_0 = vec4<f32>(bv0_0[2], bv0_1[2], bv0_2[2], bv0_3[2]);
    let a2_0 = av0[2];
    acc0_0 = fma(vec4<f32>(a2_0), b2_0, acc0_0);
    let a2_1 = av1[2];
    acc1_0 = fma(vec4<f32>(a2_1), b2_0, acc1_0);
    let a2_2 = av2[2];
    acc2_0 = fma(vec4<f32>(a2_2), b2_0, acc2_0);
    let a2_3 = av3[2];
    acc3_0 = fma(vec4<f32>(a2_3), b2_0, acc3_0);
    let b3_0 = vec4<f32>(bv0_0[3], bv0_1[3], bv0_2[3], bv0_3[3]);
    let a3_0 = av0[3];
    acc0_0 = fma(vec4<f32>(a3_0), b3_0, acc0_0);
    let a3_1 = av1[3];
    acc1_0 = fma(vec4<f32>(a3_1), b3_0, acc1_0);
    let a3_2 = av2[3];
    acc2_0 = fma(vec4<f32>(a3_2), b3_0, acc2_0);
    let a3_3 = av3[3];
    acc3_0 = fma(vec4<f32>(a3_3), b3_0, acc3_0);
  }
  for (var k = k4; k < u.k; k++) {
    let bt0 = vec4<f32>(b[(nc0_0 * u.k + k) / 4u][(nc0_0 * u.k + k) % 4u], b[(nc0_1 * u.k + k) / 4u][(nc0_1 * u.k + k) % 4u], b[(nc0_2 * u.k + k) / 4u][(nc0_2 * u.k + k) % 4u], b[(nc0_3 * u.k + k) / 4u][(nc0_3 * u.k + k) % 4u]);
    let at0 = a[(mr0 * u.k + k) / 4u][(mr0 * u.k + k) % 4u];
    acc0_0 = fma(vec4<f32>(at0), bt0, acc0_0);
    let at1 = a[(mr1 * u.k + k) / 4u][(mr1 * u.k + k) % 4u];
    acc1_0 = fma(vec4<f32>(at1), bt0, acc1_0);
    let at2 = a[(mr2 * u.k + k) / 4u][(mr2 * u.k + k) % 4u];
    acc2_0 = fma(vec4<f32>(at2), bt0, acc2_0);
    let at3 = a[(mr3 * u.k + k) / 4u][(mr3 * u.k + k) % 4u];
    acc3_0 = fma(vec4<f32>(at3), bt0, acc3_0);
  }
  if (m0 + 0u < u.m) {
    let row = m0 + 0u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc0_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc0_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc0_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc0_0[3]);
    }
  }
  if (m0 + 1u < u.m) {
    let row = m0 + 1u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc1_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc1_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc1_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc1_0[3]);
    }
  }
  if (m0 + 2u < u.m) {
    let row = m0 + 2u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc2_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc2_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc2_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc2_0[3]);
    }
  }
  if (m0 + 3u < u.m) {
    let row = m0 + 3u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc3_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc3_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc3_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc3_0[3]);
    }
  }
}

// ---- kernel lowrank_matmul:reg:r4c1x4:tB:vA:vB:tL ---- 2 launch(es); first used by %18 lowrank_matmul (model.layers.0.self_attn.v_proj.lora)
struct U { m: u32, n: u32, k: u32, tiles_n: u32, r: u32, scale: f32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read> l: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
fn store(row: u32, col: u32, acc: f32) {
  var val = acc;
  y[row * u.n + col] = val;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 64u + (lid / 4u) * 4u;
  let n0 = (wg % u.tiles_n) * 16u + (lid % 4u) * 4u;
  let mr0 = min(m0 + 0u, u.m - 1u);
  let mr1 = min(m0 + 1u, u.m - 1u);
  let mr2 = min(m0 + 2u, u.m - 1u);
  let mr3 = min(m0 + 3u, u.m - 1u);
  let nc0_0 = min(n0 + 0u, u.n - 1u);
  let nc0_1 = min(n0 + 1u, u.n - 1u);
  let nc0_2 = min(n0 + 2u, u.n - 1u);
  let nc0_3 = min(n0 + 3u, u.n - 1u);
  var acc0_0 = vec4<f32>(0.0);
  var acc1_0 = vec4<f32>(0.0);
  var acc2_0 = vec4<f32>(0.0);
  var acc3_0 = vec4<f32>(0.0);
  for (var q = 0u; q < u.r; q++) {
    let lq0 = vec4<f32>(l[nc0_0 * u.r + q], l[nc0_1 * u.r + q], l[nc0_2 * u.r + q], l[nc0_3 * u.r + q]);
    let sq0 = u.scale * s[mr0 * u.r + q];
    acc0_0 = fma(vec4<f32>(sq0), lq0, acc0_0);
    let sq1 = u.scale * s[mr1 * u.r + q];
    acc1_0 = fma(vec4<f32>(sq1), lq0, acc1_0);
    let sq2 = u.scale * s[mr2 * u.r + q];
    acc2_0 = fma(vec4<f32>(sq2), lq0, acc2_0);
    let sq3 = u.scale * s[mr3 * u.r + q];
    acc3_0 = fma(vec4<f32>(sq3), lq0, acc3_0);
  }
  let k4 = u.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let av0 = a[(mr0 * u.k + k) / 4u];
    let av1 = a[(mr1 * u.k + k) / 4u];
    let av2 = a[(mr2 * u.k + k) / 4u];
    let av3 = a[(mr3 * u.k + k) / 4u];
    let bv0_0 = b[(nc0_0 * u.k + k) / 4u];
    let bv0_1 = b[(nc0_1 * u.k + k) / 4u];
    let bv0_2 = b[(nc0_2 * u.k + k) / 4u];
    let bv0_3 = b[(nc0_3 * u.k + k) / 4u];
    let b0_0 = vec4<f32>(bv0_0[0], bv0_1[0], bv0_2[0], bv0_3[0]);
    let a0_0 = av0[0];
    acc0_0 = fma(vec4<f32>(a0_0), b0_0, acc0_0);
    let a0_1 = av1[0];
    acc1_0 = fma(vec4<f32>(a0_1), b0_0, acc1_0);
    let a0_2 = av2[0];
    acc2_0 = fma(vec4<f32>(a0_2), b0_0, acc2_0);
    let a0_3 = av3[0];
    acc3_0 = fma(vec4<f32>(a0_3), b0_0, acc3_0);
    let b1_0 = vec4<f32>(bv0_0[1], bv0_1[1], bv0_2[1], bv0_3[1]);
    let a1_0 = av0[1];
    acc0_0 = fma(vec4<f32>(a1_0), b1_0, acc0_0);
    let a1_1 = av1[1];
    acc1_0 = fma(vec4<f32>(a1_1), b1_0, acc1_0);
    let a1_2 = av2[1];
    acc2_0 = fma(vec4<f32>(a1_2), b1_0, acc2_0);
    let a1_3 = av3[1];
    acc3_0 = fma(vec4<f32>(a1_3), b1_0, acc3_0);
    let b2_0 = vec4<f32>(bv0_0[2], bv0_1[2], bv0_2[2], bv0_3[2]);
    let a2_0 = av0[2];
    acc0_0 = fma(vec4<f32>(a2_0), b2_0, acc0_0);
    let a2_1 = av1[2];
    acc1_0 = fma(vec4<f32>(a2_1), b2_0, acc1_0);
    let a2_2 = av2[2];
    acc2_0 = fma(vec4<f32>(a2_2), b2_0, acc2_0);
    let a2_3 = av3[2];
    acc3_0 = fma(vec4<f32>(a2_3), b2_0, acc3_0);
    let b3_0 = vec4<f32>(bv0_0[3], bv0_1[3], bv0_2[3], bv0_3[3]);
    let a3_0 = av0[3];
    acc0_0 = fma(vec4<f32>(a3_0), b3_0, acc0_0);
    let a3_1 = av1[3];
    acc1_0 = fma(vec4<f32>(a3_1), b3_0, acc1_0);
    let a3_2 = av2[3];
    acc2_0 = fma(vec4<f32>(a3_2), b3_0, acc2_0);
    let a3_3 = av3[3];
    acc3_0 = fma(vec4<f32>(a3_3), b3_0, acc3_0);
  }
  for (var k = k4; k < u.k; k++) {
    let bt0 = vec4<f32>(b[(nc0_0 * u.k + k) / 4u][(nc0_0 * u.k + k) % 4u], b[(nc0_1 * u.k + k) / 4u][(nc0_1 * u.k + k) % 4u], b[(nc0_2 * u.k + k) / 4u][(nc0_2 * u.k + k) % 4u], b[(nc0_3 * u.k + k) / 4u][(nc0_3 * u.k + k) % 4u]);
    let at0 = a[(mr0 * u.k + k) / 4u][(mr0 * u.k + k) % 4u];
    acc0_0 = fma(vec4<f32>(at0), bt0, acc0_0);
    let at1 = a[(mr1 * u.k + k) / 4u][(mr1 * u.k + k) % 4u];
    acc1_0 = fma(vec4<f32>(at1), bt0, acc1_0);
    let at2 = a[(mr2 * u.k + k) / 4u][(mr2 * u.k + k) % 4u];
    acc2_0 = fma(vec4<f32>(at2), bt0, acc2_0);
    let at3 = a[(mr3 * u.k + k) / 4u][(mr3 * u.k + k) % 4u];
    acc3_0 = fma(vec4<f32>(at3), bt0, acc3_0);
  }
  if (m0 + 0u < u.m) {
    let row = m0 + 0u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc0_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc0_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc0_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc0_0[3]);
    }
  }
  if (m0 + 1u < u.m) {
    let row = m0 + 1u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc1_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc1_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc1_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc1_0[3]);
    }
  }
  if (m0 + 2u < u.m) {
    let row = m0 + 2u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc2_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc2_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc2_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc2_0[3]);
    }
  }
  if (m0 + 3u < u.m) {
    let row = m0 + 3u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc3_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc3_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc3_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc3_0[3]);
    }
  }
}

// ---- kernel rope ---- 7 launch(es); first used by %20 rope
struct U { n: u32, t_len: u32, heads: u32, hd: u32, half: u32, per: u32, scale: f32, sign: f32, }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let i = wg * 256u + lid;
  if (i >= u.n) { return; }
  let c = i % u.per;
  let rh = i / u.per;                         // (b * T + t) * heads + h
  let t = (rh / u.heads) % u.t_len;
  let base = rh * u.hd;
  if (c >= u.half) {
    let e = base + u.half + c;                // a pass-through feature: rotaryDim <= e < headDim
    y[e] = a[e];
    return;
  }
  let pos = f32(t);
  let angle = pos * inv_freq[c];              // f32, as torch rounds it
  let k = floor(angle * 0.15915494309189535 + 0.5);
  let r = ((angle - k * 6.28125) - k * 0.0019353071693331003) - k * 1.0253131677018246e-11;
  let co = cos(r) * u.scale;
  let si = sin(r) * u.scale * u.sign;
  let x1 = a[base + c];
  let x2 = a[base + c + u.half];
  y[base + c] = x1 * co - x2 * si;
  y[base + c + u.half] = x2 * co + x1 * si;
}

// ---- kernel attention:causal:rows16 ---- 2 launch(es); first used by %22 attention
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
@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let nblk = (u.t_len + 15u) / 16u;
  let blk = wg % nblk;
  let h = (wg / nblk) % u.heads;
  let b = wg / (nblk * u.heads);
  if (b >= u.batch) { return; }
  let nv = (u.hd + 3u) / 4u;
  let t0 = blk * 16u;
  let t = t0 + lid;
  let tc = min(t, u.t_len - 1u);
  let kvh = h / u.group;
  let qo = (b * u.t_len + tc) * u.qw + h * u.hd;
  let kbase = b * u.s_len * u.kw + kvh * u.hd;
  let pos0 = 0u;
  let lim = pos0 + tc;
  let nk = min(pos0 + min(t0 + 16u, u.t_len), u.s_len);
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

// ---- kernel matmul:reg:r4c1:tB:vA:vB ---- 9 launch(es); first used by %24 matmul (model.layers.0.self_attn.o_proj)
struct U { m: u32, n: u32, k: u32, tiles_n: u32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
fn store(row: u32, col: u32, acc: f32) {
  var val = acc;
  y[row * u.n + col] = val;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 32u + (lid / 8u) * 4u;
  let n0 = (wg % u.tiles_n) * 32u + (lid % 8u) * 4u;
  let mr0 = min(m0 + 0u, u.m - 1u);
  let mr1 = min(m0 + 1u, u.m - 1u);
  let mr2 = min(m0 + 2u, u.m - 1u);
  let mr3 = min(m0 + 3u, u.m - 1u);
  let nc0_0 = min(n0 + 0u, u.n - 1u);
  let nc0_1 = min(n0 + 1u, u.n - 1u);
  let nc0_2 = min(n0 + 2u, u.n - 1u);
  let nc0_3 = min(n0 + 3u, u.n - 1u);
  var acc0_0 = vec4<f32>(0.0);
  var acc1_0 = vec4<f32>(0.0);
  var acc2_0 = vec4<f32>(0.0);
  var acc3_0 = vec4<f32>(0.0);
  let k4 = u.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let av0 = a[(mr0 * u.k + k) / 4u];
    let av1 = a[(mr1 * u.k + k) / 4u];
    let av2 = a[(mr2 * u.k + k) / 4u];
    let av3 = a[(mr3 * u.k + k) / 4u];
    let bv0_0 = b[(nc0_0 * u.k + k) / 4u];
    let bv0_1 = b[(nc0_1 * u.k + k) / 4u];
    let bv0_2 = b[(nc0_2 * u.k + k) / 4u];
    let bv0_3 = b[(nc0_3 * u.k + k) / 4u];
    let b0_0 = vec4<f32>(bv0_0[0], bv0_1[0], bv0_2[0], bv0_3[0]);
    let a0_0 = av0[0];
    acc0_0 = fma(vec4<f32>(a0_0), b0_0, acc0_0);
    let a0_1 = av1[0];
    acc1_0 = fma(vec4<f32>(a0_1), b0_0, acc1_0);
    let a0_2 = av2[0];
    acc2_0 = fma(vec4<f32>(a0_2), b0_0, acc2_0);
    let a0_3 = av3[0];
    acc3_0 = fma(vec4<f32>(a0_3), b0_0, acc3_0);
    let b1_0 = vec4<f32>(bv0_0[1], bv0_1[1], bv0_2[1], bv0_3[1]);
    let a1_0 = av0[1];
    acc0_0 = fma(vec4<f32>(a1_0), b1_0, acc0_0);
    let a1_1 = av1[1];
    acc1_0 = fma(vec4<f32>(a1_1), b1_0, acc1_0);
    let a1_2 = av2[1];
    acc2_0 = fma(vec4<f32>(a1_2), b1_0, acc2_0);
    let a1_3 = av3[1];
    acc3_0 = fma(vec4<f32>(a1_3), b1_0, acc3_0);
    let b2_0 = vec4<f32>(bv0_0[2], bv0_1[2], bv0_2[2], bv0_3[2]);
    let a2_0 = av0[2];
    acc0_0 = fma(vec4<f32>(a2_0), b2_0, acc0_0);
    let a2_1 = av1[2];
    acc1_0 = fma(vec4<f32>(a2_1), b2_0, acc1_0);
    let a2_2 = av2[2];
    acc2_0 = fma(vec4<f32>(a2_2), b2_0, acc2_0);
    let a2_3 = av3[2];
    acc3_0 = fma(vec4<f32>(a2_3), b2_0, acc3_0);
    let b3_0 = vec4<f32>(bv0_0[3], bv0_1[3], bv0_2[3], bv0_3[3]);
    let a3_0 = av0[3];
    acc0_0 = fma(vec4<f32>(a3_0), b3_0, acc0_0);
    let a3_1 = av1[3];
    acc1_0 = fma(vec4<f32>(a3_1), b3_0, acc1_0);
    let a3_2 = av2[3];
    acc2_0 = fma(vec4<f32>(a3_2), b3_0, acc2_0);
    let a3_3 = av3[3];
    acc3_0 = fma(vec4<f32>(a3_3), b3_0, acc3_0);
  }
  for (var k = k4; k < u.k; k++) {
    let bt0 = vec4<f32>(b[(nc0_0 * u.k + k) / 4u][(nc0_0 * u.k + k) % 4u], b[(nc0_1 * u.k + k) / 4u][(nc0_1 * u.k + k) % 4u], b[(nc0_2 * u.k + k) / 4u][(nc0_2 * u.k + k) % 4u], b[(nc0_3 * u.k + k) / 4u][(nc0_3 * u.k + k) % 4u]);
    let at0 = a[(mr0 * u.k + k) / 4u][(mr0 * u.k + k) % 4u];
    acc0_0 = fma(vec4<f32>(at0), bt0, acc0_0);
    let at1 = a[(mr1 * u.k + k) / 4u][(mr1 * u.k + k) % 4u];
    acc1_0 = fma(vec4<f32>(at1), bt0, acc1_0);
    let at2 = a[(mr2 * u.k + k) / 4u][(mr2 * u.k + k) % 4u];
    acc2_0 = fma(vec4<f32>(at2), bt0, acc2_0);
    let at3 = a[(mr3 * u.k + k) / 4u][(mr3 * u.k + k) % 4u];
    acc3_0 = fma(vec4<f32>(at3), bt0, acc3_0);
  }
  if (m0 + 0u < u.m) {
    let row = m0 + 0u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc0_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc0_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc0_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc0_0[3]);
    }
  }
  if (m0 + 1u < u.m) {
    let row = m0 + 1u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc1_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc1_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc1_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc1_0[3]);
    }
  }
  if (m0 + 2u < u.m) {
    let row = m0 + 2u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc2_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc2_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc2_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc2_0[3]);
    }
  }
  if (m0 + 3u < u.m) {
    let row = m0 + 3u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc3_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc3_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc3_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc3_0[3]);
    }
  }
}

// ---- kernel add:v4 ---- 12 launch(es); first used by %25 add
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

// ---- kernel unary:silu:v4 ---- 2 launch(es); first used by %32 unary
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
  { let x = xv.x; r.x = x * sigmoid_(x); }
  { let x = xv.y; r.y = x * sigmoid_(x); }
  { let x = xv.z; r.z = x * sigmoid_(x); }
  { let x = xv.w; r.w = x * sigmoid_(x); }
  y[i] = r;
}

// ---- kernel mul:v4 ---- 6 launch(es); first used by %33 mul
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
  y[i] = a[i] * b[i % u.nb];
}

// ---- kernel cross_entropy:rows ---- 1 launch(es); first used by %75 cross_entropy (loss)
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

// ---- kernel cross_entropy:mean ---- 1 launch(es); first used by %75 cross_entropy (loss)
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

// ---- kernel const ---- 1 launch(es); first used by %76 const
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

// ---- kernel cross_entropy:count ---- 1 launch(es); first used by %77 cross_entropy_grad
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

// ---- kernel cross_entropy_grad ---- 1 launch(es); first used by %77 cross_entropy_grad
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

// ---- kernel matmul:reg:r4c1:vA:vB ---- 12 launch(es); first used by %78 matmul
struct U { m: u32, n: u32, k: u32, tiles_n: u32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
fn store(row: u32, col: u32, acc: f32) {
  var val = acc;
  y[row * u.n + col] = val;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 32u + (lid / 8u) * 4u;
  let n0 = (wg % u.tiles_n) * 32u + (lid % 8u) * 4u;
  let mr0 = min(m0 + 0u, u.m - 1u);
  let mr1 = min(m0 + 1u, u.m - 1u);
  let mr2 = min(m0 + 2u, u.m - 1u);
  let mr3 = min(m0 + 3u, u.m - 1u);
  let nc0 = min(n0 + 0u, u.n - 4u);
  var acc0_0 = vec4<f32>(0.0);
  var acc1_0 = vec4<f32>(0.0);
  var acc2_0 = vec4<f32>(0.0);
  var acc3_0 = vec4<f32>(0.0);
  let k4 = u.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let av0 = a[(mr0 * u.k + k) / 4u];
    let av1 = a[(mr1 * u.k + k) / 4u];
    let av2 = a[(mr2 * u.k + k) / 4u];
    let av3 = a[(mr3 * u.k + k) / 4u];
    let b0_0 = b[(k * u.n + nc0) / 4u];
    let a0_0 = av0[0];
    acc0_0 = fma(vec4<f32>(a0_0), b0_0, acc0_0);
    let a0_1 = av1[0];
    acc1_0 = fma(vec4<f32>(a0_1), b0_0, acc1_0);
    let a0_2 = av2[0];
    acc2_0 = fma(vec4<f32>(a0_2), b0_0, acc2_0);
    let a0_3 = av3[0];
    acc3_0 = fma(vec4<f32>(a0_3), b0_0, acc3_0);
    let b1_0 = b[((k + 1u) * u.n + nc0) / 4u];
    let a1_0 = av0[1];
    acc0_0 = fma(vec4<f32>(a1_0), b1_0, acc0_0);
    let a1_1 = av1[1];
    acc1_0 = fma(vec4<f32>(a1_1), b1_0, acc1_0);
    let a1_2 = av2[1];
    acc2_0 = fma(vec4<f32>(a1_2), b1_0, acc2_0);
    let a1_3 = av3[1];
    acc3_0 = fma(vec4<f32>(a1_3), b1_0, acc3_0);
    let b2_0 = b[((k + 2u) * u.n + nc0) / 4u];
    let a2_0 = av0[2];
    acc0_0 = fma(vec4<f32>(a2_0), b2_0, acc0_0);
    let a2_1 = av1[2];
    acc1_0 = fma(vec4<f32>(a2_1), b2_0, acc1_0);
    let a2_2 = av2[2];
    acc2_0 = fma(vec4<f32>(a2_2), b2_0, acc2_0);
    let a2_3 = av3[2];
    acc3_0 = fma(vec4<f32>(a2_3), b2_0, acc3_0);
    let b3_0 = b[((k + 3u) * u.n + nc0) / 4u];
    let a3_0 = av0[3];
    acc0_0 = fma(vec4<f32>(a3_0), b3_0, acc0_0);
    let a3_1 = av1[3];
    acc1_0 = fma(vec4<f32>(a3_1), b3_0, acc1_0);
    let a3_2 = av2[3];
    acc2_0 = fma(vec4<f32>(a3_2), b3_0, acc2_0);
    let a3_3 = av3[3];
    acc3_0 = fma(vec4<f32>(a3_3), b3_0, acc3_0);
  }
  for (var k = k4; k < u.k; k++) {
    let bt0 = b[(k * u.n + nc0) / 4u];
    let at0 = a[(mr0 * u.k + k) / 4u][(mr0 * u.k + k) % 4u];
    acc0_0 = fma(vec4<f32>(at0), bt0, acc0_0);
    let at1 = a[(mr1 * u.k + k) / 4u][(mr1 * u.k + k) % 4u];
    acc1_0 = fma(vec4<f32>(at1), bt0, acc1_0);
    let at2 = a[(mr2 * u.k + k) / 4u][(mr2 * u.k + k) % 4u];
    acc2_0 = fma(vec4<f32>(at2), bt0, acc2_0);
    let at3 = a[(mr3 * u.k + k) / 4u][(mr3 * u.k + k) % 4u];
    acc3_0 = fma(vec4<f32>(at3), bt0, acc3_0);
  }
  if (m0 + 0u < u.m) {
    let row = m0 + 0u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc0_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc0_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc0_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc0_0[3]);
    }
  }
  if (m0 + 1u < u.m) {
    let row = m0 + 1u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc1_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc1_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc1_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc1_0[3]);
    }
  }
  if (m0 + 2u < u.m) {
    let row = m0 + 2u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc2_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc2_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc2_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc2_0[3]);
    }
  }
  if (m0 + 3u < u.m) {
    let row = m0 + 3u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc3_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc3_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc3_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc3_0[3]);
    }
  }
}

// ---- kernel rmsnorm_grad ---- 4 launch(es); first used by %79 rmsnorm_grad
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
  var ss_p = 0.0;
  for (var c = 0u; c < u.d; c++) { let i = base + c; ss_p += x[i] * x[i]; }
  let ss = wg_sum(ss_p, lid);
  let inv = 1.0 / sqrt(ss / f32(u.d) + u.eps);
  var dot_p = 0.0;
  for (var c = 0u; c < u.d; c++) { let i = base + c; dot_p += dy[i] * w[c] * x[i]; }
  let dot = wg_sum(dot_p, lid);
  let mdot = dot * inv / f32(u.d);
  for (var c = 0u; c < u.d; c++) { let i = base + c; y[i] = inv * (dy[i] * w[c] - x[i] * inv * mdot); }
}

// ---- kernel unary_grad:silu:v4 ---- 2 launch(es); first used by %83 unary_grad
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
  { let x = xv.x; let s = sigmoid_(x); let d = s * (1.0 + x * (1.0 - s)); r.x = dv.x * d; }
  { let x = xv.y; let s = sigmoid_(x); let d = s * (1.0 + x * (1.0 - s)); r.y = dv.y * d; }
  { let x = xv.z; let s = sigmoid_(x); let d = s * (1.0 + x * (1.0 - s)); r.z = dv.z * d; }
  { let x = xv.w; let s = sigmoid_(x); let d = s * (1.0 + x * (1.0 - s)); r.w = dv.w * d; }
  y[i] = r;
}

// ---- kernel attention_stats:causal:rows16 ---- 2 launch(es); first used by %90 attention_stats
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
@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let nblk = (u.t_len + 15u) / 16u;
  let blk = wg % nblk;
  let h = (wg / nblk) % u.heads;
  let b = wg / (nblk * u.heads);
  if (b >= u.batch) { return; }
  let nv = (u.hd + 3u) / 4u;
  let t0 = blk * 16u;
  let t = t0 + lid;
  let tc = min(t, u.t_len - 1u);
  let kvh = h / u.group;
  let qo = (b * u.t_len + tc) * u.qw + h * u.hd;
  let kbase = b * u.s_len * u.kw + kvh * u.hd;
  let pos0 = 0u;
  let lim = pos0 + tc;
  let nk = min(pos0 + min(t0 + 16u, u.t_len), u.s_len);
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

// ---- kernel attention_grad_q:causal:rows16 ---- 2 launch(es); first used by %91 attention_grad
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
@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let nblk = (u.t_len + 15u) / 16u;
  let blk = wg % nblk;
  let h = (wg / nblk) % u.heads;
  let b = wg / (nblk * u.heads);
  if (b >= u.batch) { return; }
  let nv = (u.hd + 3u) / 4u;
  let t0 = blk * 16u;
  let t = t0 + lid;
  let tc = min(t, u.t_len - 1u);
  let kvh = h / u.group;
  let qo = (b * u.t_len + tc) * u.qw + h * u.hd;
  let kbase = b * u.s_len * u.kw + kvh * u.hd;
  let pos0 = 0u;
  let lim = pos0 + tc;
  let nk = min(pos0 + min(t0 + 16u, u.t_len), u.s_len);
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

// ---- kernel attention_grad_k:causal:rows16 ---- 1 launch(es); first used by %92 attention_grad
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
@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let nblk = (u.t_len + 15u) / 16u;
  let kvheads = u.heads / u.group;
  let blk = wg % nblk;
  let kvh = (wg / nblk) % kvheads;
  let b = wg / (nblk * kvheads);
  if (b >= u.batch) { return; }
  let nv = (u.hd + 3u) / 4u;
  let j0 = blk * 16u;
  let j = j0 + lid;
  let jc = min(j, u.t_len - 1u);
  let ko = (b * u.t_len + jc) * u.kw + kvh * u.hd;
  // With a sliding window, query i sees key j only while i < j + win: no query past the block's last key's window.
  let iend = select(u.t_len, min(u.t_len, min(j0 + 15u, u.t_len - 1u) + u.win), u.win > 0u);
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

// ---- kernel attention_grad_v:causal:rows16 ---- 2 launch(es); first used by %93 attention_grad
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
@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let nblk = (u.t_len + 15u) / 16u;
  let kvheads = u.heads / u.group;
  let blk = wg % nblk;
  let kvh = (wg / nblk) % kvheads;
  let b = wg / (nblk * kvheads);
  if (b >= u.batch) { return; }
  let nv = (u.hd + 3u) / 4u;
  let j0 = blk * 16u;
  let j = j0 + lid;
  let jc = min(j, u.t_len - 1u);
  let ko = (b * u.t_len + jc) * u.kw + kvh * u.hd;
  // With a sliding window, query i sees key j only while i < j + win: no query past the block's last key's window.
  let iend = select(u.t_len, min(u.t_len, min(j0 + 15u, u.t_len - 1u) + u.win), u.win > 0u);
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

// ---- kernel scale:v4 ---- 4 launch(es); first used by %96 scale
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

// ---- kernel matmul:reg:r4c1x2:vA:vB ---- 4 launch(es); first used by %97 matmul
struct U { m: u32, n: u32, k: u32, tiles_n: u32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
fn store(row: u32, col: u32, acc: f32) {
  var val = acc;
  y[row * u.n + col] = val;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 128u + (lid / 2u) * 4u;
  let n0 = (wg % u.tiles_n) * 8u + (lid % 2u) * 4u;
  let mr0 = min(m0 + 0u, u.m - 1u);
  let mr1 = min(m0 + 1u, u.m - 1u);
  let mr2 = min(m0 + 2u, u.m - 1u);
  let mr3 = min(m0 + 3u, u.m - 1u);
  let nc0 = min(n0 + 0u, u.n - 4u);
  var acc0_0 = vec4<f32>(0.0);
  var acc1_0 = vec4<f32>(0.0);
  var acc2_0 = vec4<f32>(0.0);
  var acc3_0 = vec4<f32>(0.0);
  let k4 = u.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let av0 = a[(mr0 * u.k + k) / 4u];
    let av1 = a[(mr1 * u.k + k) / 4u];
    let av2 = a[(mr2 * u.k + k) / 4u];
    let av3 = a[(mr3 * u.k + k) / 4u];
    let b0_0 = b[(k * u.n + nc0) / 4u];
    let a0_0 = av0[0];
    acc0_0 = fma(vec4<f32>(a0_0), b0_0, acc0_0);
    let a0_1 = av1[0];
    acc1_0 = fma(vec4<f32>(a0_1), b0_0, acc1_0);
    let a0_2 = av2[0];
    acc2_0 = fma(vec4<f32>(a0_2), b0_0, acc2_0);
    let a0_3 = av3[0];
    acc3_0 = fma(vec4<f32>(a0_3), b0_0, acc3_0);
    let b1_0 = b[((k + 1u) * u.n + nc0) / 4u];
    let a1_0 = av0[1];
    acc0_0 = fma(vec4<f32>(a1_0), b1_0, acc0_0);
    let a1_1 = av1[1];
    acc1_0 = fma(vec4<f32>(a1_1), b1_0, acc1_0);
    let a1_2 = av2[1];
    acc2_0 = fma(vec4<f32>(a1_2), b1_0, acc2_0);
    let a1_3 = av3[1];
    acc3_0 = fma(vec4<f32>(a1_3), b1_0, acc3_0);
    let b2_0 = b[((k + 2u) * u.n + nc0) / 4u];
    let a2_0 = av0[2];
    acc0_0 = fma(vec4<f32>(a2_0), b2_0, acc0_0);
    let a2_1 = av1[2];
    acc1_0 = fma(vec4<f32>(a2_1), b2_0, acc1_0);
    let a2_2 = av2[2];
    acc2_0 = fma(vec4<f32>(a2_2), b2_0, acc2_0);
    let a2_3 = av3[2];
    acc3_0 = fma(vec4<f32>(a2_3), b2_0, acc3_0);
    let b3_0 = b[((k + 3u) * u.n + nc0) / 4u];
    let a3_0 = av0[3];
    acc0_0 = fma(vec4<f32>(a3_0), b3_0, acc0_0);
    let a3_1 = av1[3];
    acc1_0 = fma(vec4<f32>(a3_1), b3_0, acc1_0);
    let a3_2 = av2[3];
    acc2_0 = fma(vec4<f32>(a3_2), b3_0, acc2_0);
    let a3_3 = av3[3];
    acc3_0 = fma(vec4<f32>(a3_3), b3_0, acc3_0);
  }
  for (var k = k4; k < u.k; k++) {
    let bt0 = b[(k * u.n + nc0) / 4u];
    let at0 = a[(mr0 * u.k + k) / 4u][(mr0 * u.k + k) % 4u];
    acc0_0 = fma(vec4<f32>(at0), bt0, acc0_0);
    let at1 = a[(mr1 * u.k + k) / 4u][(mr1 * u.k + k) % 4u];
    acc1_0 = fma(vec4<f32>(at1), bt0, acc1_0);
    let at2 = a[(mr2 * u.k + k) / 4u][(mr2 * u.k + k) % 4u];
    acc2_0 = fma(vec4<f32>(at2), bt0, acc2_0);
    let at3 = a[(mr3 * u.k + k) / 4u][(mr3 * u.k + k) % 4u];
    acc3_0 = fma(vec4<f32>(at3), bt0, acc3_0);
  }
  if (m0 + 0u < u.m) {
    let row = m0 + 0u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc0_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc0_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc0_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc0_0[3]);
    }
  }
  if (m0 + 1u < u.m) {
    let row = m0 + 1u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc1_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc1_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc1_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc1_0[3]);
    }
  }
  if (m0 + 2u < u.m) {
    let row = m0 + 2u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc2_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc2_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc2_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc2_0[3]);
    }
  }
  if (m0 + 3u < u.m) {
    let row = m0 + 3u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc3_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc3_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc3_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc3_0[3]);
    }
  }
}

// ---- kernel matmul:reg:r4c1x2:tA:vB ---- 4 launch(es); first used by %98 matmul
struct U { m: u32, n: u32, k: u32, tiles_n: u32, }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
fn store(row: u32, col: u32, acc: f32) {
  var val = acc;
  y[row * u.n + col] = val;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 128u + (lid / 2u) * 4u;
  let n0 = (wg % u.tiles_n) * 8u + (lid % 2u) * 4u;
  let mr0 = min(m0 + 0u, u.m - 1u);
  let mr1 = min(m0 + 1u, u.m - 1u);
  let mr2 = min(m0 + 2u, u.m - 1u);
  let mr3 = min(m0 + 3u, u.m - 1u);
  let nc0 = min(n0 + 0u, u.n - 4u);
  var acc0_0 = vec4<f32>(0.0);
  var acc1_0 = vec4<f32>(0.0);
  var acc2_0 = vec4<f32>(0.0);
  var acc3_0 = vec4<f32>(0.0);
  let k4 = u.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let b0_0 = b[(k * u.n + nc0) / 4u];
    let a0_0 = a[k * u.m + mr0];
    acc0_0 = fma(vec4<f32>(a0_0), b0_0, acc0_0);
    let a0_1 = a[k * u.m + mr1];
    acc1_0 = fma(vec4<f32>(a0_1), b0_0, acc1_0);
    let a0_2 = a[k * u.m + mr2];
    acc2_0 = fma(vec4<f32>(a0_2), b0_0, acc2_0);
    let a0_3 = a[k * u.m + mr3];
    acc3_0 = fma(vec4<f32>(a0_3), b0_0, acc3_0);
    let b1_0 = b[((k + 1u) * u.n + nc0) / 4u];
    let a1_0 = a[(k + 1u) * u.m + mr0];
    acc0_0 = fma(vec4<f32>(a1_0), b1_0, acc0_0);
    let a1_1 = a[(k + 1u) * u.m + mr1];
    acc1_0 = fma(vec4<f32>(a1_1), b1_0, acc1_0);
    let a1_2 = a[(k + 1u) * u.m + mr2];
    acc2_0 = fma(vec4<f32>(a1_2), b1_0, acc2_0);
    let a1_3 = a[(k + 1u) * u.m + mr3];
    acc3_0 = fma(vec4<f32>(a1_3), b1_0, acc3_0);
    let b2_0 = b[((k + 2u) * u.n + nc0) / 4u];
    let a2_0 = a[(k + 2u) * u.m + mr0];
    acc0_0 = fma(vec4<f32>(a2_0), b2_0, acc0_0);
    let a2_1 = a[(k + 2u) * u.m + mr1];
    acc1_0 = fma(vec4<f32>(a2_1), b2_0, acc1_0);
    let a2_2 = a[(k + 2u) * u.m + mr2];
    acc2_0 = fma(vec4<f32>(a2_2), b2_0, acc2_0);
    let a2_3 = a[(k + 2u) * u.m + mr3];
    acc3_0 = fma(vec4<f32>(a2_3), b2_0, acc3_0);
    let b3_0 = b[((k + 3u) * u.n + nc0) / 4u];
    let a3_0 = a[(k + 3u) * u.m + mr0];
    acc0_0 = fma(vec4<f32>(a3_0), b3_0, acc0_0);
    let a3_1 = a[(k + 3u) * u.m + mr1];
    acc1_0 = fma(vec4<f32>(a3_1), b3_0, acc1_0);
    let a3_2 = a[(k + 3u) * u.m + mr2];
    acc2_0 = fma(vec4<f32>(a3_2), b3_0, acc2_0);
    let a3_3 = a[(k + 3u) * u.m + mr3];
    acc3_0 = fma(vec4<f32>(a3_3), b3_0, acc3_0);
  }
  for (var k = k4; k < u.k; k++) {
    let bt0 = b[(k * u.n + nc0) / 4u];
    let at0 = a[k * u.m + mr0];
    acc0_0 = fma(vec4<f32>(at0), bt0, acc0_0);
    let at1 = a[k * u.m + mr1];
    acc1_0 = fma(vec4<f32>(at1), bt0, acc1_0);
    let at2 = a[k * u.m + mr2];
    acc2_0 = fma(vec4<f32>(at2), bt0, acc2_0);
    let at3 = a[k * u.m + mr3];
    acc3_0 = fma(vec4<f32>(at3), bt0, acc3_0);
  }
  if (m0 + 0u < u.m) {
    let row = m0 + 0u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc0_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc0_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc0_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc0_0[3]);
    }
  }
  if (m0 + 1u < u.m) {
    let row = m0 + 1u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc1_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc1_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc1_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc1_0[3]);
    }
  }
  if (m0 + 2u < u.m) {
    let row = m0 + 2u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc2_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc2_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc2_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc2_0[3]);
    }
  }
  if (m0 + 3u < u.m) {
    let row = m0 + 3u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc3_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc3_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc3_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc3_0[3]);
    }
  }
}

// ---- kernel matmul:reg:r4c1x32:tA:vB ---- 4 launch(es); first used by %100 matmul
struct U { m: u32, n: u32, k: u32, tiles_n: u32, }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
fn store(row: u32, col: u32, acc: f32) {
  var val = acc;
  y[row * u.n + col] = val;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 8u + (lid / 32u) * 4u;
  let n0 = (wg % u.tiles_n) * 128u + (lid % 32u) * 4u;
  let mr0 = min(m0 + 0u, u.m - 1u);
  let mr1 = min(m0 + 1u, u.m - 1u);
  let mr2 = min(m0 + 2u, u.m - 1u);
  let mr3 = min(m0 + 3u, u.m - 1u);
  let nc0 = min(n0 + 0u, u.n - 4u);
  var acc0_0 = vec4<f32>(0.0);
  var acc1_0 = vec4<f32>(0.0);
  var acc2_0 = vec4<f32>(0.0);
  var acc3_0 = vec4<f32>(0.0);
  let k4 = u.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let b0_0 = b[(k * u.n + nc0) / 4u];
    let a0_0 = a[k * u.m + mr0];
    acc0_0 = fma(vec4<f32>(a0_0), b0_0, acc0_0);
    let a0_1 = a[k * u.m + mr1];
    acc1_0 = fma(vec4<f32>(a0_1), b0_0, acc1_0);
    let a0_2 = a[k * u.m + mr2];
    acc2_0 = fma(vec4<f32>(a0_2), b0_0, acc2_0);
    let a0_3 = a[k * u.m + mr3];
    acc3_0 = fma(vec4<f32>(a0_3), b0_0, acc3_0);
    let b1_0 = b[((k + 1u) * u.n + nc0) / 4u];
    let a1_0 = a[(k + 1u) * u.m + mr0];
    acc0_0 = fma(vec4<f32>(a1_0), b1_0, acc0_0);
    let a1_1 = a[(k + 1u) * u.m + mr1];
    acc1_0 = fma(vec4<f32>(a1_1), b1_0, acc1_0);
    let a1_2 = a[(k + 1u) * u.m + mr2];
    acc2_0 = fma(vec4<f32>(a1_2), b1_0, acc2_0);
    let a1_3 = a[(k + 1u) * u.m + mr3];
    acc3_0 = fma(vec4<f32>(a1_3), b1_0, acc3_0);
    let b2_0 = b[((k + 2u) * u.n + nc0) / 4u];
    let a2_0 = a[(k + 2u) * u.m + mr0];
    acc0_0 = fma(vec4<f32>(a2_0), b2_0, acc0_0);
    let a2_1 = a[(k + 2u) * u.m + mr1];
    acc1_0 = fma(vec4<f32>(a2_1), b2_0, acc1_0);
    let a2_2 = a[(k + 2u) * u.m + mr2];
    acc2_0 = fma(vec4<f32>(a2_2), b2_0, acc2_0);
    let a2_3 = a[(k + 2u) * u.m + mr3];
    acc3_0 = fma(vec4<f32>(a2_3), b2_0, acc3_0);
    let b3_0 = b[((k + 3u) * u.n + nc0) / 4u];
    let a3_0 = a[(k + 3u) * u.m + mr0];
    acc0_0 = fma(vec4<f32>(a3_0), b3_0, acc0_0);
    let a3_1 = a[(k + 3u) * u.m + mr1];
    acc1_0 = fma(vec4<f32>(a3_1), b3_0, acc1_0);
    let a3_2 = a[(k + 3u) * u.m + mr2];
    acc2_0 = fma(vec4<f32>(a3_2), b3_0, acc2_0);
    let a3_3 = a[(k + 3u) * u.m + mr3];
    acc3_0 = fma(vec4<f32>(a3_3), b3_0, acc3_0);
  }
  for (var k = k4; k < u.k; k++) {
    let bt0 = b[(k * u.n + nc0) / 4u];
    let at0 = a[k * u.m + mr0];
    acc0_0 = fma(vec4<f32>(at0), bt0, acc0_0);
    let at1 = a[k * u.m + mr1];
    acc1_0 = fma(vec4<f32>(at1), bt0, acc1_0);
    let at2 = a[k * u.m + mr2];
    acc2_0 = fma(vec4<f32>(at2), bt0, acc2_0);
    let at3 = a[k * u.m + mr3];
    acc3_0 = fma(vec4<f32>(at3), bt0, acc3_0);
  }
  if (m0 + 0u < u.m) {
    let row = m0 + 0u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc0_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc0_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc0_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc0_0[3]);
    }
  }
  if (m0 + 1u < u.m) {
    let row = m0 + 1u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc1_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc1_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc1_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc1_0[3]);
    }
  }
  if (m0 + 2u < u.m) {
    let row = m0 + 2u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc2_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc2_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc2_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc2_0[3]);
    }
  }
  if (m0 + 3u < u.m) {
    let row = m0 + 3u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc3_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc3_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc3_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc3_0[3]);
    }
  }
}

// ---- kernel lowrank_matmul:reg:r4c1:vA:vB:vL ---- 1 launch(es); first used by %109 lowrank_matmul
struct U { m: u32, n: u32, k: u32, tiles_n: u32, r: u32, scale: f32, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read> l: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
fn store(row: u32, col: u32, acc: f32) {
  var val = acc;
  y[row * u.n + col] = val;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let m0 = (wg / u.tiles_n) * 32u + (lid / 8u) * 4u;
  let n0 = (wg % u.tiles_n) * 32u + (lid % 8u) * 4u;
  let mr0 = min(m0 + 0u, u.m - 1u);
  let mr1 = min(m0 + 1u, u.m - 1u);
  let mr2 = min(m0 + 2u, u.m - 1u);
  let mr3 = min(m0 + 3u, u.m - 1u);
  let nc0 = min(n0 + 0u, u.n - 4u);
  var acc0_0 = vec4<f32>(0.0);
  var acc1_0 = vec4<f32>(0.0);
  var acc2_0 = vec4<f32>(0.0);
  var acc3_0 = vec4<f32>(0.0);
  let nq0 = min(n0 + 0u, u.n - 4u);
  for (var q = 0u; q < u.r; q++) {
    let lq0 = l[(q * u.n + nq0) / 4u];
    let sq0 = u.scale * s[mr0 * u.r + q];
    acc0_0 = fma(vec4<f32>(sq0), lq0, acc0_0);
    let sq1 = u.scale * s[mr1 * u.r + q];
    acc1_0 = fma(vec4<f32>(sq1), lq0, acc1_0);
    let sq2 = u.scale * s[mr2 * u.r + q];
    acc2_0 = fma(vec4<f32>(sq2), lq0, acc2_0);
    let sq3 = u.scale * s[mr3 * u.r + q];
    acc3_0 = fma(vec4<f32>(sq3), lq0, acc3_0);
  }
  let k4 = u.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let av0 = a[(mr0 * u.k + k) / 4u];
    let av1 = a[(mr1 * u.k + k) / 4u];
    let av2 = a[(mr2 * u.k + k) / 4u];
    let av3 = a[(mr3 * u.k + k) / 4u];
    let b0_0 = b[(k * u.n + nc0) / 4u];
    let a0_0 = av0[0];
    acc0_0 = fma(vec4<f32>(a0_0), b0_0, acc0_0);
    let a0_1 = av1[0];
    acc1_0 = fma(vec4<f32>(a0_1), b0_0, acc1_0);
    let a0_2 = av2[0];
    acc2_0 = fma(vec4<f32>(a0_2), b0_0, acc2_0);
    let a0_3 = av3[0];
    acc3_0 = fma(vec4<f32>(a0_3), b0_0, acc3_0);
    let b1_0 = b[((k + 1u) * u.n + nc0) / 4u];
    let a1_0 = av0[1];
    acc0_0 = fma(vec4<f32>(a1_0), b1_0, acc0_0);
    let a1_1 = av1[1];
    acc1_0 = fma(vec4<f32>(a1_1), b1_0, acc1_0);
    let a1_2 = av2[1];
    acc2_0 = fma(vec4<f32>(a1_2), b1_0, acc2_0);
    let a1_3 = av3[1];
    acc3_0 = fma(vec4<f32>(a1_3), b1_0, acc3_0);
    let b2_0 = b[((k + 2u) * u.n + nc0) / 4u];
    let a2_0 = av0[2];
    acc0_0 = fma(vec4<f32>(a2_0), b2_0, acc0_0);
    let a2_1 = av1[2];
    acc1_0 = fma(vec4<f32>(a2_1), b2_0, acc1_0);
    let a2_2 = av2[2];
    acc2_0 = fma(vec4<f32>(a2_2), b2_0, acc2_0);
    let a2_3 = av3[2];
    acc3_0 = fma(vec4<f32>(a2_3), b2_0, acc3_0);
    let b3_0 = b[((k + 3u) * u.n + nc0) / 4u];
    let a3_0 = av0[3];
    acc0_0 = fma(vec4<f32>(a3_0), b3_0, acc0_0);
    let a3_1 = av1[3];
    acc1_0 = fma(vec4<f32>(a3_1), b3_0, acc1_0);
    let a3_2 = av2[3];
    acc2_0 = fma(vec4<f32>(a3_2), b3_0, acc2_0);
    let a3_3 = av3[3];
    acc3_0 = fma(vec4<f32>(a3_3), b3_0, acc3_0);
  }
  for (var k = k4; k < u.k; k++) {
    let bt0 = b[(k * u.n + nc0) / 4u];
    let at0 = a[(mr0 * u.k + k) / 4u][(mr0 * u.k + k) % 4u];
    acc0_0 = fma(vec4<f32>(at0), bt0, acc0_0);
    let at1 = a[(mr1 * u.k + k) / 4u][(mr1 * u.k + k) % 4u];
    acc1_0 = fma(vec4<f32>(at1), bt0, acc1_0);
    let at2 = a[(mr2 * u.k + k) / 4u][(mr2 * u.k + k) % 4u];
    acc2_0 = fma(vec4<f32>(at2), bt0, acc2_0);
    let at3 = a[(mr3 * u.k + k) / 4u][(mr3 * u.k + k) % 4u];
    acc3_0 = fma(vec4<f32>(at3), bt0, acc3_0);
  }
  if (m0 + 0u < u.m) {
    let row = m0 + 0u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc0_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc0_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc0_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc0_0[3]);
    }
  }
  if (m0 + 1u < u.m) {
    let row = m0 + 1u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc1_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc1_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc1_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc1_0[3]);
    }
  }
  if (m0 + 2u < u.m) {
    let row = m0 + 2u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc2_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc2_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc2_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc2_0[3]);
    }
  }
  if (m0 + 3u < u.m) {
    let row = m0 + 3u;
    if (n0 + 0u < u.n) {
      store(row, n0 + 0u, acc3_0[0]);
    }
    if (n0 + 1u < u.n) {
      store(row, n0 + 1u, acc3_0[1]);
    }
    if (n0 + 2u < u.n) {
      store(row, n0 + 2u, acc3_0[2]);
    }
    if (n0 + 3u < u.n) {
      store(row, n0 + 3u, acc3_0[3]);
    }
  }
}

// ---- kernel adamw ---- 8 launch(es); first used by %140 adamw (model.layers.0.self_attn.q_proj.lora_A.weight.adamw)
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
