"""Stage 4: the language model — a small HF-LLaMA (RMSNorm, rotary half-split as HF stores it, SwiGLU, no
tied embeddings) in SEED-LLaMA's vocabulary layout (SentencePiece text pieces, then `<img_00000>` … and
`<img>`, `</img>` as added tokens), trained on the Vicuna chat template in both directions:

  USER: <img>…</img>what is in this picture?\nASSISTANT: a red circle on a white background</s>
  USER: draw a red circle on a white background\nASSISTANT: Here is a picture.<img>…</img></s>

plus short multi-turn chats. Every id comes from the repo's TypeScript tokenizer (tokenize_texts.mjs), so
the prompts are exactly what @seed/seed-llama renders at run time. Loss on the replies only.
"""
import json
import math
import os
import re
import subprocess

import torch
import torch.nn.functional as F
from torch import nn

from common import BUILD, MODEL, ROOT, TOKENIZER_CONFIG, label_names, log, n_params, seeded, set_lr, setup, world

STEPS = 1800
BATCH = 96
LR = 3e-3
ARCH = {'hidden_size': 128, 'intermediate_size': 344, 'num_hidden_layers': 4, 'num_attention_heads': 4,
        'max_position_embeddings': 256, 'rms_norm_eps': 1e-6, 'rope_theta': 10000.0}

DESCRIBE_QS = ['what is in this picture?', 'describe the image.', 'what do you see?']
DRAW_TEMPLATES = ['draw {}', 'please draw {}', 'show me {}', 'make a picture of {}']
DRAW_REPLY = 'Here is a picture.'
FOLLOW_UPS = [
    ('what colour is it?', lambda n: f"it is {n['colour']}."),
    ('what shape is it?', lambda n: f"it is a {n['shape']}."),
    ('what is the background?', lambda n: f"the background is {n['background']}."),
]
GREETINGS = [('hello', 'hello! I describe pictures of shapes and draw them.'),
             ('hi', 'hello! I describe pictures of shapes and draw them.'),
             ('who are you?', 'I am seed-micro, a small model that sees and draws shapes.'),
             ('what can you do?', 'I describe pictures of shapes and draw them. ask me to draw a blue circle.')]
# (kind, share of the batches): the caption direction weighted most, it has the most to read
MIX = [('describe', 0.38), ('draw', 0.34), ('follow', 0.12), ('redraw', 0.1), ('greet', 0.06)]


def span(codes):
    return '<img>' + ''.join(f'<img_{c:05d}>' for c in codes) + '</img>'


def conversations(codes, labels, gen):
    """Training chats by kind: one of each kind per pool image (greetings: a fixed handful)."""
    pick = lambda seq: seq[int(torch.randint(0, len(seq), (1,), generator=gen))]  # noqa: E731
    out = {k: [] for k, _ in MIX}
    for c, lab in zip(codes.tolist(), labels.tolist()):
        names = label_names(lab)
        cap = world.caption(names)
        img = span(c)
        out['describe'].append(([('user', img + pick(DESCRIBE_QS))], cap))
        out['draw'].append(([('user', pick(DRAW_TEMPLATES).format(cap))], DRAW_REPLY + img))
        q, answer = pick(FOLLOW_UPS)
        first = pick([[('user', pick(DRAW_TEMPLATES).format(cap)), ('assistant', DRAW_REPLY + img)],
                      [('user', img + pick(DESCRIBE_QS)), ('assistant', cap)]])
        out['follow'].append((first + [('user', q)], answer(names)))
        out['redraw'].append(([('user', img + pick(DESCRIBE_QS)), ('assistant', cap), ('user', 'draw it.')],
                              DRAW_REPLY + img))
    for q, a in GREETINGS:
        out['greet'].append(([('user', q)], a))
        for k in range(len(DRAW_TEMPLATES)):  # a greeting, then a task
            c, lab = codes[k].tolist(), labels[k].tolist()
            cap = world.caption(label_names(lab))
            out['greet'].append(([('user', q), ('assistant', a), ('user', DRAW_TEMPLATES[k].format(cap))],
                                 DRAW_REPLY + span(c)))
    return out


def vocabulary(texts):
    """SentencePiece pieces for the texts: LLaMA's <unk> <s> </s> and 256 byte pieces, every character, and
    for every word all prefixes of "▁word" and of "word". With whole prefix chains, BPE always ends at the
    whole word whatever order it merges in (the leftmost part can always absorb its neighbour), so each
    word is one token; anything else falls back to bytes, as in LLaMA."""
    pieces = [['<unk>', 0.0, 2], ['<s>', 0.0, 3], ['</s>', 0.0, 3]]
    pieces += [[f'<0x{b:02X}>', 0.0, 6] for b in range(256)]
    seen = set()

    def add(p):
        if p not in seen:
            seen.add(p)
            pieces.append([p, -float(len(pieces)), 1])

    add('▁')
    plain = [re.sub(r'<img(_\d+)?>|</img>|<s>', ' ', t) for t in texts]
    for ch in sorted({ch for t in plain for ch in t if ch not in ' \n'}):
        add(ch)
    for word in sorted({w for t in plain for w in re.findall(r'[A-Za-z]+', t)}):
        for k in range(2, len(word) + 1):
            add(word[:k])
        for k in range(1, len(word) + 1):
            add('▁' + word[:k])
    return pieces


def tokenise(convs, eval_convs, llm_dir):
    """All chats → ids through tokenize_texts.mjs (which also writes the tokenizer files into llm_dir)."""
    flat = [(m, r) for k, _ in MIX for m, r in convs[k]] + eval_convs
    texts = [c for m, r in flat for _, c in m] + [r for _, r in flat if r] + ['USER: ASSISTANT:']
    spec = {'pieces': vocabulary(texts), 'codebook': TOKENIZER_CONFIG['codebook_size'],
            'max_length': ARCH['max_position_embeddings'],
            'conversations': [{'messages': [{'role': role, 'content': c} for role, c in m], 'reply': r}
                              for m, r in flat]}
    spec_path, out_path = os.path.join(BUILD, 'llm_spec.json'), os.path.join(BUILD, 'llm_ids.json')
    with open(spec_path, 'w') as f:
        json.dump(spec, f)
    subprocess.run(['node', os.path.join(ROOT, 'tools/train/tokenize_texts.mjs'), spec_path, llm_dir, out_path],
                   check=True)
    with open(out_path) as f:
        res = json.load(f)
    items = res['items']
    by_kind, at = {}, 0
    for k, _ in MIX:
        by_kind[k] = items[at:at + len(convs[k])]
        at += len(convs[k])
    return res['vocab_size'], by_kind, items[at:], spec['pieces']


# ---- the model: HF LlamaForCausalLM's layout and names ----
class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, pos, theta):
    """HF rotate_half rotary embedding: the head's first and second halves are the pairs."""
    d = x.shape[-1]
    inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    ang = pos[:, None].float() * inv[None, :]
    cos, sin = torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()
    x1, x2 = x[..., :d // 2], x[..., d // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, f = cfg['hidden_size'], cfg['intermediate_size']
        self.heads, self.theta = cfg['num_attention_heads'], cfg['rope_theta']
        self.input_layernorm = RMSNorm(c, cfg['rms_norm_eps'])
        self.self_attn = nn.Module()
        for n in ('q_proj', 'k_proj', 'v_proj', 'o_proj'):
            setattr(self.self_attn, n, nn.Linear(c, c, bias=False))
        self.post_attention_layernorm = RMSNorm(c, cfg['rms_norm_eps'])
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(c, f, bias=False)
        self.mlp.up_proj = nn.Linear(c, f, bias=False)
        self.mlp.down_proj = nn.Linear(f, c, bias=False)

    def forward(self, x, mask):
        b, t, c = x.shape
        h = self.input_layernorm(x)
        a = self.self_attn
        pos = torch.arange(t)
        q, k, v = (p(h).view(b, t, self.heads, c // self.heads).transpose(1, 2) for p in (a.q_proj, a.k_proj, a.v_proj))
        q, k = rope(q, pos, self.theta), rope(k, pos, self.theta)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(c // self.heads) + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, c)
        x = x + a.o_proj(y)
        h = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(F.silu(self.mlp.gate_proj(h)) * self.mlp.up_proj(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(cfg['vocab_size'], cfg['hidden_size'])
        self.model.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg['num_hidden_layers']))
        self.model.norm = RMSNorm(cfg['hidden_size'], cfg['rms_norm_eps'])
        self.lm_head = nn.Linear(cfg['hidden_size'], cfg['vocab_size'], bias=False)
        with torch.no_grad():
            self.model.embed_tokens.weight.normal_(0, 0.02)

    def forward(self, ids):
        t = ids.shape[1]
        mask = torch.full((t, t), float('-inf')).triu(1)
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, mask)
        return self.lm_head(self.model.norm(x))


def hf_config(vocab_size):
    return {'architectures': ['LlamaForCausalLM'], 'model_type': 'llama', 'hidden_act': 'silu',
            **ARCH, 'num_key_value_heads': ARCH['num_attention_heads'], 'vocab_size': vocab_size,
            'tie_word_embeddings': False, 'bos_token_id': 1, 'eos_token_id': 2, 'pad_token_id': 0,
            'torch_dtype': 'float32', 'initializer_range': 0.02}


def batch_of(items, eos):
    """Right-padded ids, and targets that are -100 except on the reply and its </s>."""
    seqs = [it['prompt'] + it['reply'] + [eos] for it in items]
    t = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), t, dtype=torch.int64)
    tgt = torch.full((len(seqs), t), -100, dtype=torch.int64)
    for i, (s, it) in enumerate(zip(seqs, items)):
        ids[i, :len(s)] = torch.tensor(s)
        n = len(it['prompt'])
        tgt[i, n - 1:len(s) - 1] = torch.tensor(s[n:])
    return ids, tgt


def train(steps=STEPS, llm_dir=None):
    setup('4-llm')
    gen = seeded(4)
    llm_dir = llm_dir or os.path.join(MODEL, 'llm')
    tr = torch.load(os.path.join(BUILD, 'train_codes.pt'))
    ev = torch.load(os.path.join(BUILD, 'eval_codes.pt'))
    convs = conversations(tr['codes'], tr['labels'], gen)
    eval_convs = [([('user', span(c) + DESCRIBE_QS[0])], None) for c in ev['codes'].tolist()]
    eval_convs += [([('user', DRAW_TEMPLATES[0].format(world.caption(label_names(lab))))], None)
                   for lab in ev['labels'].tolist()]
    vocab_size, items, eval_items, pieces = tokenise(convs, eval_convs, llm_dir)
    cfg = hf_config(vocab_size)
    model = Llama(cfg)
    log(f'LLM {n_params(model)} params, vocabulary {vocab_size} ({len(pieces)} text pieces), {steps} steps of {BATCH}')
    for k, _ in MIX:
        log(f'  {k}: {len(items[k])} chats, e.g. {len(items[k][0]["prompt"])} prompt + {len(items[k][0]["reply"])} reply ids')
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01, betas=(0.9, 0.98))
    for g in opt.param_groups:
        g['base_lr'] = LR
    kinds = [k for k, _ in MIX]
    shares = torch.tensor([s for _, s in MIX])
    for step in range(steps):
        set_lr(opt, step, steps)
        which = torch.multinomial(shares, BATCH, replacement=True, generator=gen)
        chosen = [items[kinds[w]][int(torch.randint(0, len(items[kinds[w]]), (1,), generator=gen))] for w in which]
        ids, tgt = batch_of(chosen, 2)
        logits = model(ids)
        loss = F.cross_entropy(logits.reshape(-1, vocab_size), tgt.reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f'step {step} loss {loss.item():.4f}')
    model.eval()
    torch.save({'cfg': cfg, 'state': model.state_dict(), 'pieces': pieces, 'eval_items': eval_items},
               os.path.join(BUILD, 'llm.pt'))


def load():
    ck = torch.load(os.path.join(BUILD, 'llm.pt'))
    model = Llama(ck['cfg'])
    model.load_state_dict(ck['state'])
    return model.eval(), ck


if __name__ == '__main__':
    import sys
    train(int(sys.argv[1]) if len(sys.argv) > 1 else STEPS)
