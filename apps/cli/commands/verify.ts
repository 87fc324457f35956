import type { RegisterCommand } from './command.ts';
import { UserError } from '../../../compiler/errors.ts';
import { openGpu } from '../options.ts';
import { formatTable } from '../../../runtime/verify/compare.ts';
import { verifyCase } from '../../../runtime/verify/verify-case.ts';

/** `rankfold verify CASE_DIR`: compare against a transformers + PEFT reference run. */
export const registerVerify: RegisterCommand = (program, setExitCode) => {
  program
    .command('verify')
    .description('reproduce a Hugging Face transformers + PEFT reference run and compare every tensor')
    .argument('<case-dir>', 'folder with config.json, model.safetensors (or an index and shards), adapter/, io.safetensors, grads, expected.json')
    .option('--model <dir>', 'the base model as a Hugging Face model folder (default: the case folder, whose config.json and weights are one)')
    .option('--spec <file>', "a spec file instead of the shipped spec of the config's model_type")
    .option('--backend <name>', 'webgpu or interp (the CPU reference interpreter)', 'webgpu')
    .action(async (dir: string, opts: { backend: string; model?: string; spec?: string }) => {
      if (opts.backend !== 'webgpu' && opts.backend !== 'interp') throw new UserError(`unknown backend "${opts.backend}" (webgpu or interp)`);
      const gpu = opts.backend === 'webgpu' ? await openGpu() : undefined;
      try {
        const notes: string[] = [];
        const results = await verifyCase(dir, { backend: opts.backend, gpu, onNote: (t) => notes.push(t), ...(opts.model !== undefined ? { model: opts.model } : {}), ...(opts.spec !== undefined ? { spec: opts.spec } : {}) });
        console.log(`${dir} on ${gpu ? gpu.adapterName : 'the CPU interpreter'}`);
        for (const n of notes) console.log(n);
        console.log(formatTable(results));
        const failed = results.filter((r) => !r.pass).length;
        console.log(failed === 0 ? `all ${results.length} checks pass` : `${failed} of ${results.length} checks FAIL`);
        if (failed > 0) setExitCode(1);
      } finally {
        gpu?.device.destroy();
      }
    });
};
