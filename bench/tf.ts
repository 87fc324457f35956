// tfjs on the same Dawn adapter as ours: navigator.gpu is set to the GPU entry createGpu uses (one
// Dawn instance per process), then the webgpu backend is selected. tfjs requests its own GPUDevice
// on that adapter; sync() flushes tfjs's batched commands and waits for its queue.
import { getGpuEntry } from '../runtime/device/device.ts';

export type Tf = typeof import('@tensorflow/tfjs');

export interface TfWebgpu {
  tf: Tf;
  version: string;
  adapter: string;
  /** Flush tfjs's pending command encoder and wait until its queue is idle. */
  sync(): Promise<void>;
  /** Compute pipelines tfjs has compiled so far (its cache size). */
  pipelines(): number;
}

interface WebgpuBackendLike {
  device: GPUDevice;
  submitQueue(): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  adapterInfo?: { vendor?: string; architecture?: string };
  pipelineCache?: Record<string, unknown>;
}

export async function setupTfjs(): Promise<TfWebgpu> {
  const gpu = await getGpuEntry();
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu) {
    // Node 21+ defines a read-only navigator; Node 20 does not. Define the property either way.
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
  }
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend did not initialise on this adapter');
  await tf.ready();
  const backend = tf.backend() as unknown as WebgpuBackendLike;
  const info = backend.adapterInfo;
  return {
    tf,
    version: tf.version.tfjs,
    adapter: [info?.vendor, info?.architecture].filter(Boolean).join(' ') || 'webgpu',
    async sync() {
      // As tfjs's own readbacks do: close the open compute pass, then submit the encoder.
      backend.ensureCommandEncoderReady();
      backend.endComputePassEncoder();
      backend.submitQueue();
      await backend.device.queue.onSubmittedWorkDone();
    },
    pipelines: () => Object.keys(backend.pipelineCache ?? {}).length,
  };
}
