#!/usr/bin/env node
// Entry point of the `rankfold` command. The sources are TypeScript, run through tsx's loader
// so that a fresh clone needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../apps/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
