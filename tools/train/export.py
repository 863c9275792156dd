"""Writes models/seed-micro/ from the trained stages, in exactly the formats the TypeScript loaders read:

  tokenizer/  config.json (snake_case keys of @seed/seed-tokenizer's config.ts), seed_quantizer.safetensors
              and eva_vit_g.safetensors (upstream state-dict names; the ViT without its `visual_encoder.`)
  decoder/    a diffusers StableUnCLIPImg2ImgPipeline folder (unclip_ref.write_model_folder: model_index.json
              with text_encoder / tokenizer null, unet/, vae/ with the published old attention names,
              scheduler/, image_noising_scheduler/, image_normalizer/) plus text_context/empty_prompt.safetensors
  llm/        config.json + model.safetensors (HF LlamaForCausalLM names); the tokenizer files were written by
              tokenize_texts.mjs in stage 4
All tensors float32, safetensors written by hand (sorted names), so a rebuild gives the same bytes.
"""
import os
from collections import OrderedDict

import torch

import train_decoder
import train_llm
import train_tokenizer
import train_vae
from common import EMBED_DIM, MODEL, U, save_json


def f32(sd):
    return OrderedDict((k, v.detach().to(torch.float32).contiguous()) for k, v in sd.items())


def export_tokenizer(out):
    model = train_tokenizer.load()
    os.makedirs(out, exist_ok=True)
    save_json(os.path.join(out, 'config.json'), dict(model.cfg))
    sd = f32(model.state_dict())
    vit = OrderedDict((k[len('visual_encoder.'):], v) for k, v in sd.items() if k.startswith('visual_encoder.'))
    rest = OrderedDict((k, v) for k, v in sd.items() if not k.startswith('visual_encoder.'))
    U.write_safetensors(os.path.join(out, 'eva_vit_g.safetensors'), vit, {'format': 'pt'})
    U.write_safetensors(os.path.join(out, 'seed_quantizer.safetensors'), rest, {'format': 'pt'})


def export_decoder(out):
    unet, _, text_context = train_decoder.load()
    vae, _ = train_vae.load()
    normalizer = U.ImageNormalizer(EMBED_DIM)  # mean 0, std 1: the identity, as SD-2.1-unCLIP-H stores it
    U.write_model_folder(out, unet, vae, None, normalizer)
    os.makedirs(os.path.join(out, 'text_context'), exist_ok=True)
    U.write_safetensors(os.path.join(out, 'text_context', 'empty_prompt.safetensors'),
                        {'text_context': text_context.to(torch.float32).contiguous()}, {'format': 'pt'})


def export_llm(out):
    model, ck = train_llm.load()
    save_json(os.path.join(out, 'config.json'), ck['cfg'])
    save_json(os.path.join(out, 'generation_config.json'), {'bos_token_id': 1, 'eos_token_id': 2, 'pad_token_id': 0})
    U.write_safetensors(os.path.join(out, 'model.safetensors'), f32(model.state_dict()), {'format': 'pt'})


def export_all():
    export_tokenizer(os.path.join(MODEL, 'tokenizer'))
    export_decoder(os.path.join(MODEL, 'decoder'))
    export_llm(os.path.join(MODEL, 'llm'))


if __name__ == '__main__':
    export_all()
