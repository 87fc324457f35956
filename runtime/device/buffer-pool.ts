// A pool of GPU buffers keyed by usage and size bucket (as onnxruntime-web's WebGPU backend does).
// A released buffer may still be read by work already encoded, so it only becomes reusable after the
// next queue submit (`submitted()`), never within the same command buffer.
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private pending: [string, GPUBuffer][] = [];
  /** Bytes currently allocated through the pool (free, pending and in use). */
  allocatedBytes = 0;
  peakBytes = 0;
  created = 0;

  constructor(private readonly device: GPUDevice) {}

  /** Sizes round up to a power of two (at least 256 bytes) so buffers of near sizes are shared. */
  static bucket(size: number): number {
    return Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(size, 1))));
  }

  acquire(size: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer {
    const bytes = BufferPool.bucket(size);
    const key = `${usage}:${bytes}`;
    const reused = this.free.get(key)?.pop();
    if (reused) return reused;
    this.created++;
    this.allocatedBytes += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.allocatedBytes);
    return this.device.createBuffer({ size: bytes, usage, ...(label ? { label } : {}) });
  }

  release(buffer: GPUBuffer): void {
    this.pending.push([`${buffer.usage}:${buffer.size}`, buffer]);
  }

  /** Call after queue.submit: buffers released before it may now be handed out again. */
  submitted(): void {
    for (const [key, buffer] of this.pending) {
      let list = this.free.get(key);
      if (!list) this.free.set(key, (list = []));
      list.push(buffer);
    }
    this.pending = [];
  }

  destroy(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    for (const [, b] of this.pending) b.destroy();
    this.free.clear();
    this.pending = [];
    this.allocatedBytes = 0;
  }
}
