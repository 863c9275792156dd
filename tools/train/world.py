"""The shapes world of seed-micro: procedural 32×32 scenes, their captions, and the checker that names them.

Mirrored exactly by packages/seed-llama/src/world/ (TypeScript): the same integer RNG, the same integer
rasteriser and the same checker, so a seed gives the same pixels in both languages (checked by committed
fixture PNGs). Everything here is integer arithmetic on purpose: floats would make the two languages drift.

A scene is one coloured shape (circle, square, triangle, cross) on a plain background, its size (11–22 px)
and position jittered. `parse(image)` names shape, colour and background from pixels alone.
"""
import re

SIZE = 32
SHAPES = ('circle', 'square', 'triangle', 'cross')
COLOURS = (
    ('red', (220, 40, 40)),
    ('green', (40, 170, 60)),
    ('blue', (40, 80, 220)),
    ('yellow', (240, 210, 40)),
    ('purple', (150, 60, 190)),
    ('orange', (245, 140, 30)),
)
BACKGROUNDS = (
    ('white', (255, 255, 255)),
    ('black', (0, 0, 0)),
    ('gray', (128, 128, 128)),
)
MIN_SIDE, MAX_SIDE = 11, 22
MASK32 = 0xFFFFFFFF


class Rng:
    """xorshift32 seeded through one multiply-xorshift round: tiny, integer-only, identical in TypeScript."""

    def __init__(self, seed):
        s = (seed * 2654435761 + 0x9E3779B9) & MASK32
        s ^= s >> 16
        self.state = s or 0x1234567  # xorshift has one fixed point, 0

    def next(self):
        x = self.state
        x ^= (x << 13) & MASK32
        x ^= x >> 17
        x ^= (x << 5) & MASK32
        self.state = x
        return x

    def below(self, n):
        return self.next() % n


def scene(seed):
    """The scene of a seed: shape, colour, background (names), side and top-left corner in pixels."""
    r = Rng(seed)
    shape = SHAPES[r.below(len(SHAPES))]
    colour = COLOURS[r.below(len(COLOURS))][0]
    background = BACKGROUNDS[r.below(len(BACKGROUNDS))][0]
    side = MIN_SIDE + r.below(MAX_SIDE - MIN_SIDE + 1)
    x0 = r.below(SIZE - side + 1)
    y0 = r.below(SIZE - side + 1)
    return {'shape': shape, 'colour': colour, 'background': background, 'side': side, 'x': x0, 'y': y0}


def inside(shape, side, dx, dy):
    """Whether the pixel (dx, dy) of a side×side box belongs to the shape. Pixel centres in doubled
    coordinates (2·dx + 1) keep every test in integers; the box centre is then (side, side)."""
    px, py = 2 * dx + 1, 2 * dy + 1
    if shape == 'square':
        return True
    if shape == 'circle':
        return (px - side) ** 2 + (py - side) ** 2 <= side * side
    if shape == 'triangle':  # apex at the top centre, base along the bottom edge
        return 2 * abs(px - side) <= py
    if shape == 'cross':  # a plus sign, arms a third of the side thick
        return 3 * abs(px - side) <= side or 3 * abs(py - side) <= side
    raise ValueError(f'unknown shape {shape}')


def render(sc):
    """The scene's pixels: a bytearray of SIZE·SIZE·3 (RGB, row-major)."""
    bg = dict(BACKGROUNDS)[sc['background']]
    fg = dict(COLOURS)[sc['colour']]
    img = bytearray(bytes(bg) * (SIZE * SIZE))
    for dy in range(sc['side']):
        for dx in range(sc['side']):
            if inside(sc['shape'], sc['side'], dx, dy):
                i = ((sc['y'] + dy) * SIZE + sc['x'] + dx) * 3
                img[i:i + 3] = bytes(fg)
    return img


def caption(sc):
    return f"a {sc['colour']} {sc['shape']} on a {sc['background']} background"


CAPTION_RE = re.compile(r'\b(' + '|'.join(c for c, _ in COLOURS) + r')\s+(' + '|'.join(SHAPES) +
                        r')\s+on\s+an?\s+(' + '|'.join(b for b, _ in BACKGROUNDS) + r')\s+background')


def parse_caption(text):
    """{shape, colour, background} named by a caption, or None when it names no scene."""
    m = CAPTION_RE.search(text.lower())
    return None if m is None else {'shape': m.group(2), 'colour': m.group(1), 'background': m.group(3)}


# ---- the checker ----
PALETTE = [c for _, c in BACKGROUNDS] + [c for _, c in COLOURS]
PALETTE_NAMES = [n for n, _ in BACKGROUNDS] + [n for n, _ in COLOURS]
N_BG = len(BACKGROUNDS)


def nearest(r, g, b):
    """Index into PALETTE of the nearest colour (squared RGB distance; the first wins ties)."""
    best, best_d = 0, None
    for k, (pr, pg, pb) in enumerate(PALETTE):
        d = (r - pr) ** 2 + (g - pg) ** 2 + (b - pb) ** 2
        if best_d is None or d < best_d:
            best, best_d = k, d
    return best


def parse(img):
    """Name the scene in an image (SIZE·SIZE·3 bytes): {shape, colour, background}.

    Each pixel goes to its nearest palette colour; the background is the commonest background colour on the
    border, the shape's colour the commonest shape colour anywhere. The shape is the template (each shape at
    sides and corners within ±1 px of the colour's bounding box) with the best intersection over union
    against the colour's mask; isolated pixels are left out of the box so that specks do not stretch it.
    """
    labels = [nearest(img[3 * i], img[3 * i + 1], img[3 * i + 2]) for i in range(SIZE * SIZE)]
    border = [0] * N_BG
    for y in range(SIZE):
        for x in range(SIZE):
            if x in (0, SIZE - 1) or y in (0, SIZE - 1):
                k = labels[y * SIZE + x]
                if k < N_BG:
                    border[k] += 1
    bg = max(range(N_BG), key=lambda k: (border[k], -k))
    counts = [0] * len(PALETTE)
    for k in labels:
        counts[k] += 1
    fg = max(range(N_BG, len(PALETTE)), key=lambda k: (counts[k], -k))
    mask = [1 if k == fg else 0 for k in labels]

    x_lo, y_lo, x_hi, y_hi = SIZE, SIZE, -1, -1
    for y in range(SIZE):
        for x in range(SIZE):
            if not mask[y * SIZE + x]:
                continue
            neighbours = 0
            for ny in range(max(0, y - 1), min(SIZE, y + 2)):
                for nx in range(max(0, x - 1), min(SIZE, x + 2)):
                    neighbours += mask[ny * SIZE + nx]
            if neighbours > 1:  # itself plus at least one
                x_lo, y_lo, x_hi, y_hi = min(x_lo, x), min(y_lo, y), max(x_hi, x), max(y_hi, y)
    result = {'colour': PALETTE_NAMES[fg], 'background': PALETTE_NAMES[bg]}
    if x_hi < 0:
        return dict(result, shape=SHAPES[0])
    w, h = x_hi - x_lo + 1, y_hi - y_lo + 1
    side0 = (w + h + 1) // 2
    best_shape, best_score = SHAPES[0], -1
    for shape in SHAPES:
        for side in range(max(2, side0 - 1), side0 + 2):
            for y0 in range(y_lo - 1, y_lo + 2):
                for x0 in range(x_lo - 1, x_lo + 2):
                    score = iou_score(mask, shape, side, x0, y0)
                    if score > best_score:  # strict: the first of equals wins, in a fixed order
                        best_shape, best_score = shape, score
    return dict(result, shape=best_shape)


def iou_score(mask, shape, side, x0, y0):
    """IoU of the template and the mask, as an integer (per 1,000,000) so both languages compare exactly."""
    inter, t_area = 0, 0
    for dy in range(side):
        y = y0 + dy
        for dx in range(side):
            x = x0 + dx
            if inside(shape, side, dx, dy):
                if 0 <= x < SIZE and 0 <= y < SIZE:
                    t_area += 1
                    inter += mask[y * SIZE + x]
    m_area = sum(mask)
    union = t_area + m_area - inter
    return 0 if union == 0 else inter * 1000000 // union
