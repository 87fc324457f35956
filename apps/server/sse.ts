// Server-sent events on a fastify reply, as the OpenAI API streams: `data: {json}\n\n` per chunk,
// `data: [DONE]\n\n` at the end. The reply is hijacked (fastify no longer answers it), so a client
// disconnect is read from the raw response's 'close' event (on Node 20 the request's 'close' fires
// as soon as its body is read), and `connection: close` keeps app.close() from waiting out
// keep-alive on these sockets.
import type { FastifyReply } from 'fastify';

export class SseStream {
  private ended = false;
  /** Aborted when the client goes away before the stream ends. */
  readonly gone = new AbortController();

  constructor(private readonly reply: FastifyReply) {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'close',
      'x-accel-buffering': 'no',
    });
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) this.gone.abort('client disconnected');
    });
  }

  get closed(): boolean {
    return this.ended || this.gone.signal.aborted;
  }

  send(obj: unknown): void {
    if (!this.closed) this.reply.raw.write(`data: ${JSON.stringify(obj)}\n\n`);
  }

  /** Ends the stream with `data: [DONE]`. */
  done(): void {
    if (this.closed) return;
    this.ended = true;
    this.reply.raw.end('data: [DONE]\n\n');
  }
}
