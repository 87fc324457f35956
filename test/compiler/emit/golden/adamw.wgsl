// kernel adamw
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
