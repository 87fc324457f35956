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
    .argument('<case-dir>', 'folder with config.json, model.safetensors, adapter/, io.safetensors, grads, expected.json')
    .option('--backend <name>', 'webgpu or interp (the CPU reference interpreter)', 'webgpu')
    .action(async (dir: string, opts: { backend: string }) => {
      if (opts.backend !== 'webgpu' && opts.backend !== 'interp') throw new UserError(`unknown backend "${opts.backend}" (webgpu or interp)`);
      const gpu = opts.backend === 'webgpu' ? await openGpu() : undefined;
      try {
        const notes: string[] = [];
        const results = await verifyCase(dir, { backend: opts.backend, gpu, onNote: (t) => notes.push(t) });
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
