// kernel rope:offset
struct U { n: u32, t_len: u32, heads: u32, hd: u32, half: u32, per: u32, scale: f32, sign: f32, off_stride: u32, }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(2) var<storage, read> offset: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
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
  let pos = f32(u32(offset[(rh / (u.heads * u.t_len)) * u.off_stride]) + t);
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
