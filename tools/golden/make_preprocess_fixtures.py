#!/usr/bin/python3
"""Fixtures for SEED's image preprocessing, made with Pillow (Debian python3-pil) as torchvision does it.

Run by hand (never by CI): `apt-get install python3-pil`, then
    /usr/bin/python3 tools/golden/make_preprocess_fixtures.py
For each synthetic test image (smooth gradients, hard edges, a little noise; shrinks, an upscale, a mixed
case, an identity, RGBA and grayscale) it writes packages/seed-tokenizer/test/fixtures/preprocess/<name>.png
and <name>.224.png, the result of `Image.open(p).convert('RGB').resize((224, 224), Image.BILINEAR)` —
exactly what torchvision's Resize((224, 224)) does to a PIL image before ToTensor/Normalize.
"""
import os

import numpy as np
from PIL import Image

out = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', 'seed-tokenizer', 'test', 'fixtures', 'preprocess')
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2310)


def picture(w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 127 + 120 * np.sin(x / w * 7.0) * np.cos(y / h * 3.0)
    g = 255 * (x + y) / (w + h)
    b = np.where(((x // 17) + (y // 13)) % 2 == 0, 230.0, 25.0)  # hard edges
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


cases = {
    'shrink-320x240': (320, 240, 'RGB'),
    'shrink-497x301': (497, 301, 'RGB'),
    'upscale-150x100': (150, 100, 'RGB'),
    'mixed-500x90': (500, 90, 'RGB'),
    'identity-224x224': (224, 224, 'RGB'),
    'rgba-260x200': (260, 200, 'RGBA'),
    'gray-233x180': (233, 180, 'L'),
}
for name, (w, h, mode) in cases.items():
    rgb = picture(w, h)
    if mode == 'RGBA':
        alpha = np.clip(rng.normal(128, 60, (h, w, 1)), 0, 255).astype(np.uint8)
        img = Image.fromarray(np.concatenate([rgb, alpha], axis=-1), 'RGBA')
    elif mode == 'L':
        img = Image.fromarray(rgb[..., 1], 'L')
    else:
        img = Image.fromarray(rgb, 'RGB')
    path = os.path.join(out, f'{name}.png')
    img.save(path)
    expected = Image.open(path).convert('RGB').resize((224, 224), Image.BILINEAR)
    expected.save(os.path.join(out, f'{name}.224.png'))
print('wrote', sorted(os.listdir(out)))
