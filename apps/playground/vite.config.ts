// `npm run build:web`: the playground as a static site in dist/web (relative URLs, so any static
// server or folder works). Dawn's Node package is never bundled: device.ts imports it only when
// there is no navigator.gpu, which a browser always has.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  publicDir: here('./public'),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: here('../../dist/web'),
    emptyOutDir: true,
    // vega + vega-lite are most of the bundle (about 800 kB minified); the page loads them once.
    chunkSizeWarningLimit: 1600,
    rollupOptions: { external: ['webgpu'] },
  },
});
