// The shipped specs, bundled into the page as text (vite's ?raw): the char GPT the page opens with,
// and the specs for Hugging Face model types a picked folder may hold.
import charGpt from '../../../dsl-examples/char-gpt.rf?raw';
import gpt2 from '../../../dsl-examples/gpt2.rf?raw';
import llama from '../../../dsl-examples/llama.rf?raw';

export const CHAR_GPT_SPEC: string = charGpt;

/** config.json's model_type -> the spec's file name and text (as specForModelType finds them in Node). */
export const SPECS_BY_MODEL_TYPE: Record<string, { file: string; text: string }> = {
  llama: { file: 'llama.rf', text: llama },
  gpt2: { file: 'gpt2.rf', text: gpt2 },
};
