#!/usr/bin/env node
/**
 * Writes seed-micro's text tokenizer and tokenises the LLM's training and evaluation conversations with the
 * repo's own TypeScript tokenizer, so training and run time see exactly the same ids:
 *
 *   node tools/train/tokenize_texts.mjs SPEC.json LLM_DIR OUT.json
 *
 * SPEC.json: { pieces: [[piece, score, type], …] (type: SentencePiece.Type; <unk> <s> </s> and the 256 byte
 * pieces first, as LLaMA's), codebook: K, conversations: [{ messages: [{role, content}], reply }] }.
 * LLM_DIR gets tokenizer.model (serializeSentencePieceModel), added_tokens.json (`<img_00000>` … then `<img>`,
 * `</img>` after the text pieces), special_tokens_map.json and tokenizer_config.json.
 * OUT.json: per conversation { prompt: ids of renderChat(messages) (vicuna, ending "ASSISTANT:"), reply: the
 * ids that follow when " " + reply is appended } — what conversation.ts renderPrompt gives at run time, then
 * the answer as the model must write it. A reply whose ids do not extend the prompt's is an error.
 * Runs over the built packages (packages/llama-core/dist).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const { LlamaTokenizer, renderChat, serializeSentencePieceModel } = await import(
  join(root, 'packages/llama-core/dist/index.js')
);

const [specPath, llmDir, outPath] = process.argv.slice(2);
if (!outPath) throw new Error('usage: tokenize_texts.mjs SPEC.json LLM_DIR OUT.json');
const spec = JSON.parse(readFileSync(specPath, 'utf8'));

mkdirSync(llmDir, { recursive: true });
const model = {
  pieces: spec.pieces.map(([piece, score, type]) => ({ piece, score, type })),
  modelType: 2, // BPE, as LLaMA's
  byteFallback: true,
  addDummyPrefix: true,
  removeExtraWhitespaces: false,
  unkId: 0,
  bosId: 1,
  eosId: 2,
  padId: -1,
};
writeFileSync(join(llmDir, 'tokenizer.model'), serializeSentencePieceModel(model));
const added = {};
let next = model.pieces.length;
for (let c = 0; c < spec.codebook; c++) added[`<img_${String(c).padStart(5, '0')}>`] = next++;
added['<img>'] = next++;
added['</img>'] = next++;
const json = (name, obj) => writeFileSync(join(llmDir, name), `${JSON.stringify(obj, null, 2)}\n`);
json('added_tokens.json', added);
json('special_tokens_map.json', {
  additional_special_tokens: ['<img>', '</img>'],
  bos_token: '<s>',
  eos_token: '</s>',
  unk_token: '<unk>',
});
const special = (content) => ({
  __type: 'AddedToken',
  content,
  lstrip: false,
  normalized: true,
  rstrip: false,
  single_word: false,
});
json('tokenizer_config.json', {
  add_bos_token: false,
  add_eos_token: false,
  bos_token: special('<s>'),
  eos_token: special('</s>'),
  unk_token: special('<unk>'),
  model_max_length: spec.max_length,
  pad_token: null,
  tokenizer_class: 'LlamaTokenizer',
});

const tokenizer = LlamaTokenizer.fromDirectory(llmDir);
const out = spec.conversations.map(({ messages, reply }, i) => {
  const text = renderChat(messages, 'vicuna');
  const prompt = tokenizer.encode(text);
  if (reply === null || reply === undefined) return { prompt };
  const full = tokenizer.encode(`${text} ${reply}`);
  if (full.length <= prompt.length || prompt.some((id, j) => full[j] !== id))
    throw new Error(`conversation ${i}: the reply's ids do not extend the prompt's (${JSON.stringify(text)})`);
  return { prompt, reply: full.slice(prompt.length) };
});
writeFileSync(outPath, JSON.stringify({ vocab_size: tokenizer.vocabSize, items: out }));
console.log(`tokenised ${out.length} conversations; vocabulary ${tokenizer.vocabSize} ids`);
