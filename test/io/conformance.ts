// The shared HF/PEFT reference fixtures (see test/helpers/conformance.ts): their absence is a
// failure, never a skip.
import { dirname } from 'node:path';
import { CONFORMANCE_CASES, conformanceCase } from '../helpers/conformance.ts';

export const conformanceDir: string = dirname(conformanceCase('llama_qv_r4'));
export const CASES = CONFORMANCE_CASES;
