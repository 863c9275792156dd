/**
 * What `seed pull` fetches, as data: for each thing a user can pull, the repositories (and the one plain URL)
 * it comes from, the files of them the engine reads, and where they go in the cache.
 *
 * Facts from reference/seed-architecture.md §3 and §8.1: the released LLM repositories hold the weights as
 * PyTorch `.bin` shards (fp32 for 8B) with config.json and no tokenizer files; the LLM's tokenizer files
 * (tokenizer.model, added_tokens.json, …) come from the SEED tokenizer repository, which also holds
 * seed_quantizer.pt. The EVA ViT-g weights SEED's tokenizer needs are not on the hub: upstream downloads
 * eva_vit_g.pth from LAVIS's storage, and so do we. The decoder is SD-2.1-unCLIP in its diffusers layout,
 * without the image encoder (SEED gives it embeddings) and without the duplicate .bin / fp16 weight copies.
 *
 * Cache layout ($SEED_HOME): each model set is a directory a command can load (`--model DIR`):
 *   seed-llama-8b/llm/        seed-llama-8b/tokenizer -> ../shared/tokenizer   …/decoder -> ../shared/decoder
 *   seed-llama-14b/llm/       (the same links)
 *   shared/tokenizer/  shared/decoder/   (one copy for both sets)
 */

/** Files of a hub repository, selected by path (relative to `subfolder` when given). */
export interface HubSource {
  repo: string;
  subfolder?: string;
  /** Whether the engine reads this file; `all` is every file path of the listing (relative). */
  keep: (path: string, all: readonly string[]) => boolean;
  /** Files that must be among the kept ones (a listing without them is not the repository we expect). */
  required: readonly string[];
}

/** One file from a plain HTTPS address (no checksum is published for it: the size is checked). */
export interface UrlSource {
  url: string;
  file: string;
}

export interface PullTarget {
  /** The name on the command line. */
  name: string;
  /** The repository names that also select it. */
  aliases: readonly string[];
  description: string;
  /** Where it goes, relative to $SEED_HOME. */
  dir: string;
  sources: readonly (HubSource | UrlSource)[];
}

/** LLM weights and config: safetensors when a repository has them, else the PyTorch .bin shards. */
function llmFile(path: string, all: readonly string[]): boolean {
  if (path === 'config.json' || path === 'generation_config.json') return true;
  const safetensors = all.some((p) => /^model(-\d+-of-\d+)?\.safetensors$/.test(p));
  return safetensors
    ? /^model(-\d+-of-\d+)?\.safetensors$/.test(path) || path === 'model.safetensors.index.json'
    : /^pytorch_model(-\d+-of-\d+)?\.bin$/.test(path) || path === 'pytorch_model.bin.index.json';
}

const SEED_TOKENIZER_REPO = 'AILab-CVC/seed-tokenizer-2';
const LLM_TOKENIZER_FILES = [
  'tokenizer.model',
  'added_tokens.json',
  'special_tokens_map.json',
  'tokenizer_config.json',
];
/** The LLM's tokenizer files, which the LLM repositories do not hold. */
const llmTokenizer: HubSource = {
  repo: SEED_TOKENIZER_REPO,
  keep: (p) => LLM_TOKENIZER_FILES.includes(p),
  required: ['tokenizer.model', 'added_tokens.json'],
};

/** The diffusers folders the decoder loads (as @seed/diffusion-decoder lists them), and their files. */
const DECODER_FOLDERS = [
  'unet',
  'vae',
  'text_encoder',
  'tokenizer',
  'scheduler',
  'image_noising_scheduler',
  'image_normalizer',
];
function decoderFile(path: string): boolean {
  if (path === 'model_index.json') return true;
  const [folder, name, ...deeper] = path.split('/');
  if (!DECODER_FOLDERS.includes(folder) || !name || deeper.length) return false;
  // Configs and the CLIP tokenizer's vocabulary; weights once, as full-precision safetensors.
  return /\.(json|txt)$/.test(name) || (name.endsWith('.safetensors') && !/\.fp16\./.test(name));
}

/** Where LAVIS publishes EVA ViT-g (upstream's download); SEED_EVA_VIT_URL points elsewhere (a mirror). */
const EVA_VIT_URL = 'https://storage.googleapis.com/sfr-vision-language-research/LAVIS/models/BLIP2/eva_vit_g.pth';

export function pullTargets(env: NodeJS.ProcessEnv = process.env): PullTarget[] {
  return [
    {
      name: '8b',
      aliases: ['AILab-CVC/seed-llama-8b-sft'],
      description: 'SEED-LLaMA 8B (sft, Vicuna-7B based): LLM weights + its tokenizer files',
      dir: 'seed-llama-8b/llm',
      sources: [{ repo: 'AILab-CVC/seed-llama-8b-sft', keep: llmFile, required: ['config.json'] }, llmTokenizer],
    },
    {
      name: '14b',
      aliases: ['AILab-CVC/SEED'],
      description: 'SEED-LLaMA 14B (sft, LLaMA2-chat-13B based): LLM weights + its tokenizer files',
      dir: 'seed-llama-14b/llm',
      sources: [
        { repo: 'AILab-CVC/SEED', subfolder: 'seed_llama_14b_sft', keep: llmFile, required: ['config.json'] },
        llmTokenizer,
      ],
    },
    {
      name: 'tokenizer',
      aliases: [SEED_TOKENIZER_REPO],
      description: 'the SEED image tokenizer: seed_quantizer.pt + EVA ViT-g (eva_vit_g.pth, from LAVIS)',
      dir: 'shared/tokenizer',
      sources: [
        { repo: SEED_TOKENIZER_REPO, keep: (p) => p === 'seed_quantizer.pt', required: ['seed_quantizer.pt'] },
        { url: env.SEED_EVA_VIT_URL || EVA_VIT_URL, file: 'eva_vit_g.pth' },
      ],
    },
    {
      name: 'decoder',
      aliases: ['stabilityai/stable-diffusion-2-1-unclip'],
      description: 'the SD-2.1-unCLIP decoder (diffusers folders, without the image encoder)',
      dir: 'shared/decoder',
      sources: [
        {
          repo: 'stabilityai/stable-diffusion-2-1-unclip',
          keep: decoderFile,
          required: ['model_index.json', 'unet/config.json', 'vae/config.json'],
        },
      ],
    },
  ];
}

/** What `seed pull` with no arguments fetches: everything the 8B set needs to read and draw. */
export const DEFAULT_PULL = ['8b', 'tokenizer', 'decoder'];
