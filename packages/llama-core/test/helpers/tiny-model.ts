/** The tiny random LLaMA of tiny-llama.ts as seed objects: model (f32 or q8 weights) and a matching tokenizer. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InMemoryWeights, loadWeights } from '@seed/cuda-kernels';
import {
  LlamaModel,
  LlamaTokenizer,
  llamaSentencePieceModel,
  llamaWeightSpecs,
  PieceType,
  parseLlamaConfig,
  type SentencePieceModel,
  serializeSentencePieceModel,
} from '../../src/index.js';
import { TINY, tinyHfConfig, tinyWeights, writeTinyHfDir } from './tiny-llama.js';

/** The tiny model in memory (f32, or int8 matrices), through the same loader as a checkpoint on disk. */
export async function tinyModel(seed = 42, quantize = false): Promise<LlamaModel> {
  const config = parseLlamaConfig(tinyHfConfig(TINY));
  const { weights } = await loadWeights({
    specs: llamaWeightSpecs(config),
    files: new InMemoryWeights(tinyWeights(TINY, seed)),
    what: 'the tiny model',
    source: 'tinyModel()',
    dtype: quantize ? 'int8' : 'f32',
    unexpected: 'error',
  });
  return new LlamaModel(config, weights, 'cpu');
}

/** The tiny SentencePiece model: <unk>, <s>, </s>, 256 byte pieces, then "▁t259" … up to the vocabulary size. */
export function tinySpModel(): SentencePieceModel {
  const pieces = [
    { piece: '<unk>', score: 0, type: PieceType.Unknown },
    { piece: '<s>', score: 0, type: PieceType.Control },
    { piece: '</s>', score: 0, type: PieceType.Control },
  ];
  for (let b = 0; b < 256; b++)
    pieces.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, score: 0, type: PieceType.Byte });
  for (let i = pieces.length; i < TINY.vocabSize; i++)
    pieces.push({ piece: `\u2581t${i}`, score: -i, type: PieceType.Normal });
  return llamaSentencePieceModel(pieces);
}

export function tinyTokenizer(): LlamaTokenizer {
  return new LlamaTokenizer(tinySpModel(), {}, [{ content: '<s>' }, { content: '</s>' }, { content: '<unk>' }]);
}

/** A complete HF model directory for the tiny LLaMA: config, generation config, safetensors, tokenizer files. */
export function writeTinyModelDir(dir: string, seed = 42): void {
  writeTinyHfDir(dir, TINY, tinyWeights(TINY, seed));
  writeFileSync(join(dir, 'tokenizer.model'), serializeSentencePieceModel(tinySpModel()));
  writeFileSync(
    join(dir, 'special_tokens_map.json'),
    JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }),
  );
}
