import type { RegisterCommand } from './command.ts';
import { openGpu } from '../options.ts';
import { runSmokeKernel } from '../../../runtime/device/smoke.ts';

/** `rankfold doctor`: shows the WebGPU adapter and runs one kernel to prove the setup works. */
export const registerDoctor: RegisterCommand = (program, setExitCode) => {
  program
    .command('doctor')
    .description('show the WebGPU adapter and run a test kernel on it')
    .option('--adapter <name>', 'pick an adapter by name (also RANKFOLD_ADAPTER)')
    .action(async (opts: { adapter?: string }) => {
      const gpu = await openGpu({ adapter: opts.adapter });
      console.log(`adapter:  ${gpu.adapterName}`);
      console.log(`features: ${[...gpu.features].sort().join(', ')}`);
      console.log(
        `limits:   storage binding ${gpu.limits.maxStorageBufferBindingSize} B, ` +
          `workgroup memory ${gpu.limits.maxComputeWorkgroupStorageSize} B`,
      );
      const result = await runSmokeKernel(gpu);
      console.log(`kernel:   ${result.ok ? 'ok' : 'WRONG'} (${result.detail})`);
      gpu.device.destroy();
      if (!result.ok) setExitCode(1);
    });
};
