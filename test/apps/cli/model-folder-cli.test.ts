// `rankfold check --model DIR` and `rankfold compile --model DIR`: the spec from the folder's
// config.json model_type (a spec argument overrides), the folder's tensors against the spec,
// unknown model types and refused or unread config fields reported by name.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli as run } from '../../helpers/cli.ts';
import { CONFORMANCE_DIR } from '../../helpers/conformance.ts';

const LLAMA = path.join(CONFORMANCE_DIR, 'llama_qv_r4');
const made: string[] = [];
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A copy of the llama case's config.json and model.safetensors, with the config patched. */
function folderWith(patch: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rankfold-folder-'));
  made.push(dir);
  const config = { ...JSON.parse(fs.readFileSync(path.join(LLAMA, 'config.json'), 'utf8')), ...patch };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  fs.copyFileSync(path.join(LLAMA, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  return dir;
}

describe('rankfold check --model', () => {
  it("checks a folder against the shipped spec of its model_type: every config key read, every tensor present", async () => {
    const r = await run(['check', '--model', LLAMA]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('dsl-examples/llama.rf: ok: model llama');
    expect(r.out).toContain('  rope: default theta=10000 dim=8 (all 2 layers)');
    expect(r.out).toContain(`folder ${LLAMA}: 21 tensors (21 F32) in 1 file`);
  });

  it('a spec argument overrides the model_type; tensors the spec needs and the folder lacks are errors', async () => {
    const r = await run(['check', 'dsl-examples/qwen2.rf', '--model', LLAMA]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${LLAMA} does not match dsl-examples/qwen2.rf:\n  missing model.layers.0.self_attn.q_proj.bias [32]`);
  });

  it('an unsupported model_type names the supported ones', async () => {
    const r = await run(['check', '--model', folderWith({ model_type: 'gemma2' })]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/config\.json: model_type "gemma2" is not supported \(supported: llama, qwen2, mistral, phi3, gemma, gpt2; a spec file given on the command line overrides\)/);
  });

  it('refused config fields are diagnostics naming the field; unread ones a warning', async () => {
    const refused = await run(['check', '--model', folderWith({ rope_parameters: { rope_type: 'default', rope_theta: 10000.0, partial_rotary_factor: 0.5 } })]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/llama\.rf:\d+:\d+: error\[E0408\]: config field 'rope_parameters\.partial_rotary_factor' is 0\.5 \(float\), which 'llama' does not support \(it must be absent, null or 1\)/);
    const dir = folderWith({ fancy_new_field: 3, rope_parameters: { rope_type: 'default', rope_theta: 10000.0, mrope_section: [1, 2] } });
    const unread = await run(['check', '--model', dir]);
    expect(unread.code).toBe(0);
    expect(unread.err).toMatch(/^warning: \S+config\.json has keys \S*dsl-examples\/llama\.rf does not read \(neither bound, refused nor ignored\): fancy_new_field, rope_parameters\.mrope_section\n$/);
  });
});

describe('rankfold compile --model', () => {
  it("compiles the folder's model; the RoPE frequencies are a literal in the plan's constants", async () => {
    const r = await run(['compile', '--model', LLAMA, '--emit', 'plan', '--mode', 'eval', '--seq', '8']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/constants\s+16 B/);
    const ir = await run(['compile', '--model', LLAMA, '--emit', 'ir', '--mode', 'decode', '--seq', '8']);
    expect(ir.out).toMatch(/literal\(\) \{name="rope\.inv_freq", shape=\[4\], data=\[1, 0\.10000000149011612, /);
    const both = await run(['compile', '--model', LLAMA, '--config', path.join(LLAMA, 'config.json'), '--emit', 'plan']);
    expect(both.code).toBe(1);
    expect(both.err).toContain('give --config or --model, not both');
  });
});
