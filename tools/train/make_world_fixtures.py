#!/usr/bin/python3
"""Writes the fixture PNGs that check the TypeScript world against this one: for a few seeds, the rendered
scene (Pillow PNG) and scenes.json (each scene and what the checker says of it).

    /usr/bin/python3 tools/train/make_world_fixtures.py   → packages/seed-llama/test/fixtures/world/
"""
import json
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402

SEEDS = [0, 1, 2, 3, 7, 42, 1234, 99999, 123456789, 4294967295]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../packages/seed-llama/test/fixtures/world')


def main():
    os.makedirs(OUT, exist_ok=True)
    entries = []
    for seed in SEEDS:
        sc = world.scene(seed)
        img = world.render(sc)
        Image.frombytes('RGB', (world.SIZE, world.SIZE), bytes(img)).save(os.path.join(OUT, f'seed-{seed}.png'))
        entries.append({'seed': seed, 'scene': sc, 'caption': world.caption(sc), 'parsed': world.parse(img)})
    with open(os.path.join(OUT, 'scenes.json'), 'w') as f:
        json.dump(entries, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
