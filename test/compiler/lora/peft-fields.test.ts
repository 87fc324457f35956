// spec/checkpoints.md lists every adapter_config.json field PEFT writes and what Rankfold does with
// it; this keeps the page, the field policy (compiler/lora/peft-fields.ts) and the defaults in step.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultPeftConfig, PEFT_FIELDS } from '../../../compiler/lora/index.ts';

const doc = readFileSync(join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'spec', 'checkpoints.md'), 'utf8');
/** Rows of the field table: | `field` | use | what | */
const rows = new Map([...doc.matchAll(/^\| `([a-z_]+)` \| ([a-z ]+) \| (.+) \|$/gm)].map((m) => [m[1]!, { use: m[2]!, what: m[3]! }]));

describe('adapter_config.json fields', () => {
  it('every field PEFT writes has a policy, and the defaults have no other field', () => {
    expect(Object.keys(defaultPeftConfig()).sort()).toEqual(Object.keys(PEFT_FIELDS).filter((f) => f !== 'runtime_config').sort());
  });
  it('spec/checkpoints.md lists every field with its policy, as in peft-fields.ts', () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(PEFT_FIELDS).sort());
    for (const [field, p] of Object.entries(PEFT_FIELDS)) expect(rows.get(field), field).toEqual({ use: p.use, what: p.what });
  });
});
