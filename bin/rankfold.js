#!/usr/bin/env node
// Entry point of the `rankfold` command. In a checkout (the TypeScript sources sit next to this
// file) it runs the sources through tsx's loader, so a clone needs no build step and never runs a
// stale build. The installed package ships only the build (dist/, made by `npm run build` when
// packing) and runs it on plain Node, without tsx.
import { existsSync } from 'node:fs';

const sources = new URL('../apps/cli/main.ts', import.meta.url);
let main;
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(sources.href));
} else {
  ({ main } = await import('../dist/apps/cli/main.js'));
}
process.exitCode = await main(process.argv.slice(2));
