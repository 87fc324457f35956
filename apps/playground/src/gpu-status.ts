// Finding a WebGPU adapter, and saying plainly what to do when there is none. The spec editor and
// the compiled views work without one; training and answers need it.
import { createGpu, type GpuContext } from './engine.ts';

export const ENABLE_HELP = `How to get WebGPU:
• Chrome or Edge 113+ on Windows, macOS and ChromeOS, Chrome 121+ on Android: on by default.
• Chrome on Linux: on by default on recent GPUs from Chrome 144; otherwise start it with
    --enable-unsafe-webgpu --enable-features=Vulkan
  (or turn on chrome://flags/#enable-unsafe-webgpu). chrome://gpu says whether WebGPU is enabled and why not.
• Firefox 141+ on Windows, 145+ on macOS: on by default; elsewhere set dom.webgpu.enabled in about:config.
• Safari 26+ (macOS Tahoe, iOS 26): on by default.
No GPU at all? Chromium's software adapter (SwiftShader) runs it on the CPU with --enable-unsafe-webgpu.`;

export type GpuStatus = { ok: true; gpu: GpuContext; text: string } | { ok: false; text: string };

export async function findGpu(): Promise<GpuStatus> {
  if (!window.isSecureContext) {
    return { ok: false, text: `WebGPU needs a secure page: open this one from https:// or from http://127.0.0.1 / http://localhost (npm run playground serves it there), not from ${location.protocol}//.\n\n${ENABLE_HELP}` };
  }
  if (!('gpu' in navigator) || !navigator.gpu) {
    return { ok: false, text: `This browser has no WebGPU (navigator.gpu is missing), so the page cannot train. The editor and the compiled views still work.\n\n${ENABLE_HELP}` };
  }
  try {
    // ?adapter=swiftshader (or any part of an adapter's name) picks one when the browser offers several.
    const want = new URLSearchParams(location.search).get('adapter') ?? undefined;
    const gpu = await createGpu(want ? { adapter: want } : {});
    const kind = /swiftshader|llvmpipe|lavapipe/i.test(gpu.adapterName) ? ' (a CPU adapter: correct, but slow)' : '';
    return { ok: true, gpu, text: `WebGPU adapter: ${gpu.adapterName}${kind}` };
  } catch (err) {
    return { ok: false, text: `WebGPU is present but gave no adapter (${(err as Error).message.split('\n')[0]}): the GPU may be blocklisted or disabled.\n\n${ENABLE_HELP}` };
  }
}
