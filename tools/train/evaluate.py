"""Evaluates the exported models/seed-micro with the Python reference forward passes, on 200 held-out scenes
(seeds never trained on), every image scored by the world's checker (shape, colour and background all right):

  caption     image → SEED codes → LLM (greedy) → caption text → named scene
  drawing     "draw …" → LLM (greedy; inside an image span only code tokens, then </img>, as @seed/seed-llama's
              guard allows) → codes → embedding → UNet (PNDM 20 steps, guidance 10, noise level 0: the
              decoder's defaults) → VAE → image → checker
  round trip  image → codes → embedding → UNet → VAE → image → checker
and, to show where errors come from: the VAE alone, and the decoder from the encoder's own embedding.
Everything is read back from the exported files, so this also checks the export. Writes build/eval.json,
a sample sheet (tools/train/eval_samples.png) and the TypeScript fixture packages/seed-llama/test/fixtures/
micro-model.json (python's codes and greedy captions for a few scenes).
"""
import json
import os
import time
from collections import OrderedDict

import numpy as np
import torch
from PIL import Image

import train_decoder
import train_llm
import train_vae
from common import BUILD, EVAL_SEEDS, HERE, MODEL, ROOT, S, U, checker_accuracy, clip_pixels, from_unit, label_names, log, \
    pool, save_json, setup, to_unit, world

GUIDANCE = 10.0
STEPS = 20
FIXTURE_SCENES = 4


def load_tokenizer(d):
    with open(os.path.join(d, 'config.json')) as f:
        cfg = S.load_config(overrides=json.load(f))
    model = S.SeedTokenizerRef(cfg)
    sd = OrderedDict(('visual_encoder.' + k, v) for k, v in U.read_safetensors(os.path.join(d, 'eva_vit_g.safetensors')).items())
    sd.update(U.read_safetensors(os.path.join(d, 'seed_quantizer.safetensors')))
    model.load_state_dict(sd, strict=True)
    return model.eval()


def load_llm(d):
    with open(os.path.join(d, 'config.json')) as f:
        cfg = json.load(f)
    model = train_llm.Llama(cfg)
    model.load_state_dict(U.read_safetensors(os.path.join(d, 'model.safetensors')), strict=True)
    return model.eval(), cfg


class Vocab:
    """Token strings by id (text pieces, then added tokens) from the exported tokenizer files."""

    def __init__(self, pieces, llm_dir):
        with open(os.path.join(llm_dir, 'added_tokens.json')) as f:
            added = json.load(f)
        self.text = [p for p, _, _ in pieces] + [None] * len(added)
        for s, i in added.items():
            self.text[i] = s
        self.boi, self.eoi = added['<img>'], added['</img>']
        self.code_ids = torch.tensor([added[f'<img_{c:05d}>'] for c in range(len(added) - 2)])
        self.n_text = len(pieces)

    def decode(self, ids):
        out = b''
        for i in ids:
            p = self.text[i]
            if i < 3:
                continue
            if i < 3 + 256:
                out += bytes([i - 3])
            else:
                out += p.replace('▁', ' ').encode('utf-8')
        return out.decode('utf-8', errors='replace').lstrip(' ')


@torch.no_grad()
def greedy(model, prompts, vocab, n_codes, max_new=40):
    """Greedy continuation of equal-length prompts; inside an image span only codes, then </img> forced."""
    ids = torch.tensor(prompts)
    b = ids.shape[0]
    out = [[] for _ in range(b)]
    in_span = torch.full((b,), -1)  # codes written so far inside an open span, -1 outside
    done = torch.zeros(b, dtype=torch.bool)
    for _ in range(max_new):
        logits = model(ids)[:, -1]
        nxt = logits.argmax(-1)
        for i in range(b):
            if in_span[i] >= 0 and in_span[i] < n_codes:
                nxt[i] = vocab.code_ids[logits[i, vocab.code_ids].argmax()]
            elif in_span[i] == n_codes:
                nxt[i] = vocab.eoi
        for i in range(b):
            if done[i]:
                continue
            t = int(nxt[i])
            out[i].append(t)
            if t == 2:
                done[i] = True
            elif t == vocab.boi:
                in_span[i] = 0
            elif in_span[i] >= 0:
                in_span[i] = -1 if t == vocab.eoi else in_span[i] + 1
        if bool(done.all()):
            break
        ids = torch.cat([ids, nxt[:, None]], dim=1)
    return out


def codes_of(tokens, vocab, n_codes):
    if vocab.boi not in tokens:
        return None
    at = tokens.index(vocab.boi) + 1
    span = tokens[at:at + n_codes]
    code = {int(t): c for c, t in enumerate(vocab.code_ids.tolist())}
    return [code[t] for t in span] if len(span) == n_codes and all(t in code for t in span) else None


@torch.no_grad()
def draw(pipe, ctx, embeds, seed=0, guidance=GUIDANCE):
    """The pipeline as @seed/diffusion-decoder runs it by default: PNDM 20 steps, guidance 10, level 0."""
    g = torch.Generator().manual_seed(seed)
    b = embeds.shape[0]
    h = pipe.unet.cfg['sample_size']
    latents = torch.randn(b, 4, h, h, generator=g)
    noise = torch.randn(embeds.shape, generator=g)
    res = pipe.run('pndm', STEPS, embeds, 0, noise, latents, ctx.expand(b, -1, -1), guidance=guidance)
    return from_unit(pipe.decode(res['final'])[0])


def sheet(rows, path):
    """Rows of uint8 images [N, 32, 32, 3] → one PNG, scaled ×2."""
    grid = np.concatenate([np.concatenate(list(r.numpy()), axis=1) for r in rows], axis=0)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(path)


def evaluate():
    setup('5-evaluate')
    t0 = time.time()
    images, labels = pool('eval')
    n = len(labels)
    tok = load_tokenizer(os.path.join(MODEL, 'tokenizer'))
    n_codes = tok.cfg['num_query_tokens']
    pipe = U.load_pipeline(os.path.join(MODEL, 'decoder'))
    ctx = U.read_safetensors(os.path.join(MODEL, 'decoder', 'text_context', 'empty_prompt.safetensors'))['text_context']
    llm, _ = load_llm(os.path.join(MODEL, 'llm'))
    ck = torch.load(os.path.join(BUILD, 'llm.pt'))
    vocab = Vocab(ck['pieces'], os.path.join(MODEL, 'llm'))
    report = OrderedDict()

    vae, vck = train_vae.load()
    with torch.no_grad():
        lat = train_vae.encode_moments(vae, to_unit(images))[0] * vck['cfg']['scaling_factor']
        report['vae_round_trip'] = checker_accuracy(from_unit(pipe.decode(lat)[0]), labels)
    _, encoder, _ = train_decoder.load()
    with torch.no_grad():
        true_emb = encoder(to_unit(images))
    from_true = draw(pipe, ctx, true_emb)
    report['decoder_from_encoder_embedding'] = checker_accuracy(from_true, labels)
    log('VAE', report['vae_round_trip'], 'decoder from the true embedding', report['decoder_from_encoder_embedding'])

    with torch.no_grad():
        codes = tok.encode(clip_pixels(images))['codes']
        emb = tok.decode(codes)
    report['embedding_cosine'] = torch.nn.functional.cosine_similarity(emb, true_emb, dim=-1).mean().item()
    rt = draw(pipe, ctx, emb)
    report['round_trip'] = checker_accuracy(rt, labels)
    report['round_trip_guidance_3'] = checker_accuracy(draw(pipe, ctx, emb, guidance=3.0), labels)
    log('round trip', report['round_trip'], 'embedding cosine', round(report['embedding_cosine'], 4),
        'with guidance 3:', report['round_trip_guidance_3'])

    describe = ck['eval_items'][:n]
    draw_items = ck['eval_items'][n:]
    stored = torch.load(os.path.join(BUILD, 'eval_codes.pt'))['codes']
    assert torch.equal(stored, codes), 'the exported tokenizer gives other codes than the trained one'
    t1 = time.time()
    caps = greedy(llm, [it['prompt'] for it in describe], vocab, n_codes, max_new=16)
    texts = [vocab.decode([t for t in c if t != 2]) for c in caps]
    right = sum(world.parse_caption(tx) == label_names(lab) for tx, lab in zip(texts, labels.tolist()))
    report['caption'] = right / n
    report['caption_examples'] = texts[:5]
    log('caption', report['caption'], texts[:3], f'{time.time() - t1:.1f}s')

    outs = greedy(llm, [it['prompt'] for it in draw_items], vocab, n_codes, max_new=10 + n_codes)
    drawn_codes = [codes_of(o, vocab, n_codes) for o in outs]
    ok = [c is not None for c in drawn_codes]
    report['drawing_spans_well_formed'] = sum(ok) / n
    dc = torch.tensor([c if c is not None else [0] * n_codes for c in drawn_codes])
    with torch.no_grad():
        drawn = draw(pipe, ctx, tok.decode(dc))
    acc = checker_accuracy(drawn, labels)
    right = sum(o and world.parse(bytes(img.numpy().tobytes())) == label_names(lab)
                for o, img, lab in zip(ok, drawn, labels.tolist()))
    report['drawing'] = dict(acc, all=right / n)
    report['drawing_reply_example'] = vocab.decode([t for t in outs[0] if t != 2 and t < vocab.n_text])
    log('drawing', report['drawing'], 'well formed', report['drawing_spans_well_formed'])
    report['eval_seconds'] = round(time.time() - t0, 1)
    save_json(os.path.join(BUILD, 'eval.json'), report)
    sheet([images[:12], rt[:12], drawn[:12], from_true[:12]], os.path.join(HERE, 'eval_samples.png'))

    # python's codes and greedy captions for the TypeScript side to reproduce
    fixture = {'note': 'written by tools/train/evaluate.py from the Python reference forward passes',
               'scenes': [{'seed': int(s), 'codes': codes[i].tolist(), 'embedding': emb[i].tolist(),
                           'prompt_ids': describe[i]['prompt'], 'caption_ids': caps[i], 'caption': texts[i],
                           'draw_text': world.caption(label_names(labels[i].tolist())),
                           'draw_prompt_ids': draw_items[i]['prompt'], 'draw_ids': outs[i],
                           'draw_codes': drawn_codes[i]}
                          for i, s in enumerate(EVAL_SEEDS[:FIXTURE_SCENES])]}
    save_json(os.path.join(ROOT, 'packages/seed-llama/test/fixtures/micro-model.json'), fixture)
    return report


if __name__ == '__main__':
    evaluate()
