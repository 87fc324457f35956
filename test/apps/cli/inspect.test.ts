import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { runCli as run } from '../../helpers/cli.ts';
import { CONFORMANCE_DIR as conformanceDir } from '../../helpers/conformance.ts';

describe('rankfold inspect', () => {
  it('reports a missing path as a one-line error', async () => {
    const r = await run(['inspect', '/definitely/not/here.safetensors']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('rankfold: /definitely/not/here.safetensors: no such file or directory\n');
  });
  it('lists a file and summarizes an adapter directory', async () => {
    const file = await run(['inspect', path.join(conformanceDir, 'gpt2_cattn_r4/io.safetensors')]);
    expect(file.code).toBe(0);
    expect(file.out).toMatch(/input_ids\s+I32\s+\[2, 12\]\s+24\s+96 B/);
    expect(file.out).toContain('4 tensors, 5,784 elements');
    const dir = await run(['inspect', path.join(conformanceDir, 'llama_qv_r4/adapter')]);
    expect(dir.code).toBe(0);
    expect(dir.out).toContain('target modules: q_proj, v_proj');
    expect(dir.out).toMatch(/model\.layers\.0\.self_attn\.v_proj\s+4\s+32\s+16\s+2\.000\s+192/);
  });
});
