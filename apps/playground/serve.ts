// A tiny static file server for the built playground (dist/web), on 127.0.0.1 only: WebGPU needs a
// secure context, which http://127.0.0.1 is. `npm run playground` builds the page and runs this;
// the browser test and bench start it in-process with serveStatic().
//   npx tsx apps/playground/serve.ts [--port 4173] [--dir dist/web]
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
};

export const WEB_DIR = path.resolve(import.meta.dirname, '..', '..', 'dist', 'web');

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the files under root (GET and HEAD; index.html for folders) at http://127.0.0.1:port/. */
export function serveStatic(root: string, port = 0): Promise<StaticServer> {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    const fail = (code: number, text: string) => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed');
    let rel: string;
    try {
      rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return fail(400, 'bad path');
    }
    let file = path.resolve(base, '.' + rel);
    if (file !== base && !file.startsWith(base + path.sep)) return fail(403, 'outside the served folder');
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) return fail(404, `not found: ${rel}`);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': st.size, 'cache-control': 'no-cache' });
      if (req.method === 'HEAD') return res.end();
      fs.createReadStream(file).pipe(res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${bound}/`,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const dir = path.resolve(arg('dir') ?? WEB_DIR);
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    console.error(`rankfold playground: ${dir}/index.html is missing; build the page first (npm run build:web)`);
    process.exit(1);
  }
  const port = Number(arg('port') ?? process.env.PORT ?? 4173);
  const server = await serveStatic(dir, port).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err;
    console.error(`port ${port} is taken; serving on a free one instead`);
    return serveStatic(dir, 0);
  });
  console.log(`Rankfold playground: ${server.url}  (serving ${path.relative(process.cwd(), dir) || dir}; Ctrl+C stops)`);
  console.log('Open it in Chrome or Edge 113+ (or any browser with WebGPU); the page says how to enable WebGPU where it is missing.');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) await main();
