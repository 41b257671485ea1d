"""Procedural cat faces: the built-in dataset, drawn with Pillow, no download needed.

Each face is drawn with a few dozen shapes (`PIL.ImageDraw`): a head, two ears, eyes with
pupils, a nose, a "w" mouth and whiskers, in random fur colours and patterns, eye colours,
poses and backgrounds. The variety is the point: a GAN that learns only one cat has
collapsed, and that is visible at a glance in a sample grid.

Faces are drawn at ``SUPERSAMPLE`` times the target size and shrunk with a Lanczos filter,
which anti-aliases every edge (drawn shapes have hard, jagged edges otherwise).

Image ``i`` gets its own random generator, seeded from ``(seed, i)``, so it is the same
whether you ask for 10 images or 10,000.
"""
import math

from PIL import Image, ImageDraw

from ..backend import np

SUPERSAMPLE = 4

FUR = {  # name -> RGB; each image jitters its colours a little
    "orange": (222, 138, 60), "ginger": (200, 110, 45), "grey": (128, 128, 134),
    "dark grey": (80, 80, 86), "black": (34, 32, 34), "white": (236, 233, 226),
    "brown": (118, 80, 52), "cream": (234, 208, 168), "silver": (175, 175, 180),
}
EYES = {
    "green": (96, 170, 64), "yellow": (222, 200, 52), "blue": (84, 152, 220),
    "amber": (222, 150, 40), "copper": (186, 98, 40), "hazel": (150, 140, 60),
}
PATTERNS = {"solid": 0.25, "tabby": 0.3, "patches": 0.14, "calico": 0.12, "tuxedo": 0.19}
POSES = ["tilted left", "upright", "tilted right"]  # the face's turn, in thirds of its range
MAX_TILT = 14  # degrees either way
PINK_NOSE, BROWN_NOSE = (226, 134, 146), (112, 72, 62)
INNER_EAR = (220, 150, 150)
# The class names of each attribute `procedural_cats(..., attributes=True)` returns: the
# drawing's own random choices, recorded. "fur" is the main coat colour: the base of solid and
# tabby cats, the dark coat of a tuxedo, the light one of patches and calico (always white).
# "eyes" is the first eye's colour (one cat in ten has odd eyes). "pose" is the turn of the
# face (a left-right flip swaps "tilted left" and "tilted right").
CAT_ATTRIBUTES = {"fur": list(FUR), "pattern": list(PATTERNS), "eyes": list(EYES), "pose": POSES}


def procedural_cats(n, image_size=64, seed=0, attributes=False):
    """``n`` cat faces as a uint8 array of shape (n, image_size, image_size, 3).

    Deterministic: the same ``seed`` gives the same images, and image ``i`` does not depend
    on ``n``. With ``attributes=True`` returns ``(images, labels)``, where ``labels`` maps
    each name in `CAT_ATTRIBUTES` to an int64 array (n,) of indices into its class names.
    """
    if n < 0 or image_size < 8:
        raise ValueError(f"procedural_cats: need n >= 0 and image_size >= 8, got n={n}, "
                         f"image_size={image_size}")
    images = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    labels = {name: np.empty(n, dtype=np.int64) for name in CAT_ATTRIBUTES}
    for i in range(n):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        images[i], names = _draw(rng, image_size)
        for attribute, name in names.items():
            labels[attribute][i] = CAT_ATTRIBUTES[attribute].index(name)
    return (images, labels) if attributes else images


def draw_cat(rng, image_size=64):
    """One random cat face, uint8 (image_size, image_size, 3), drawn with generator ``rng``."""
    return _draw(rng, image_size)[0]


def _draw(rng, image_size):
    """The face and its attributes' class names (recorded choices: no extra random draws, so
    the images are the same with or without labels)."""
    size = image_size * SUPERSAMPLE
    background = _background(rng, size)
    face, names = _face(rng, size)
    # Pose: turn the face layer a little and shift it; its transparent corners let the
    # background show through.
    angle = rng.uniform(-MAX_TILT, MAX_TILT)
    names["pose"] = POSES[min(2, int((MAX_TILT - angle) / (2 * MAX_TILT) * 3))]  # + is anticlockwise
    shift = tuple(int(v) for v in rng.uniform(-0.05, 0.05, size=2) * size)
    # NEAREST is 20x faster than BICUBIC, and its jagged edges vanish in the 4x downsampling.
    face = face.rotate(angle, resample=Image.NEAREST, translate=shift)
    background.alpha_composite(face)
    # reducing_gap=2: halve with a fast box filter first, then Lanczos; 2.5x faster, same look.
    small = background.convert("RGB").resize((image_size, image_size), Image.LANCZOS,
                                             reducing_gap=2.0)
    return np.asarray(small), names


# ---------------------------------------------------------------------------- colours
def _jitter(rng, rgb, amount=14):
    noisy = np.array(rgb) + rng.integers(-amount, amount + 1, 3)
    return tuple(int(c) for c in np.clip(noisy, 0, 255))


def _shade(rgb, factor):
    """Darker (factor < 1) or lighter (factor > 1, towards white) version of a colour."""
    if factor <= 1:
        return tuple(int(c * factor) for c in rgb)
    return tuple(int(c + (255 - c) * (factor - 1)) for c in rgb)


def _pick(rng, options):
    return options[rng.integers(len(options))]


def _muted(rng):
    """A random colour, mixed with grey so backgrounds look like rooms, not candy."""
    grey, colour = rng.uniform(30, 220), rng.uniform(0, 255, 3)
    mix = rng.uniform(0.2, 0.7)
    return tuple(int(c) for c in grey + mix * (colour - grey))


def _background(rng, size):
    """A plain colour or a vertical gradient between two colours, as an RGBA image."""
    top = _muted(rng)
    if rng.random() < 0.4:
        return Image.new("RGBA", (size, size), top + (255,))
    bottom = _muted(rng)
    ramp = Image.linear_gradient("L").resize((size, size))
    return Image.composite(Image.new("RGBA", (size, size), bottom + (255,)),
                           Image.new("RGBA", (size, size), top + (255,)), ramp)


# ------------------------------------------------------------------------------ face
def _face(rng, size):
    """The cat on a transparent layer: fur (head, ears, pattern) first, features on top."""
    u = size * rng.uniform(0.95, 1.18)   # the face's unit length: its scale
    cx, cy = size / 2, size * 0.56        # head centre; ears reach up towards the top edge
    pattern = rng.choice(list(PATTERNS), p=list(PATTERNS.values()))
    base, marks, fur_name = _fur_colours(rng, pattern)

    # The head outline is a mask; the fur and its pattern are painted everywhere and the mask
    # cuts them to shape, so stripes and patches never spill outside the head.
    mask = Image.new("L", (size, size), 0)
    outline = ImageDraw.Draw(mask)
    hw, hh = u * rng.uniform(0.38, 0.44), u * rng.uniform(0.30, 0.35)   # head half-sizes
    outline.ellipse([cx - hw, cy - hh, cx + hw, cy + hh], fill=255)      # skull, then cheeks:
    outline.ellipse([cx - hw * 1.04, cy - hh * 0.1, cx + hw * 1.04, cy + hh * 1.02], fill=255)
    ears = _ears(rng, cx, cy, hw, hh, u)
    for ear in ears:
        outline.polygon(ear, fill=255)

    fur = Image.new("RGBA", (size, size), base + (255,))
    paint = ImageDraw.Draw(fur)
    _pattern(rng, paint, pattern, marks, cx, cy, hw, hh, u)
    fur.putalpha(mask)

    draw = ImageDraw.Draw(fur)
    for ear in ears:
        draw.polygon(_inner_ear(ear), fill=_jitter(rng, INNER_EAR, 10) + (255,))
    # Whisker pads: two light bulges around the mouth.
    pad = _shade(base, 1.15) if pattern != "tuxedo" else marks[0]
    for side in (-1, 1):
        px, py = cx + side * 0.065 * u, cy + 0.18 * u
        rx, ry = 0.085 * u, 0.06 * u
        draw.ellipse([px - rx, py - ry, px + rx, py + ry], fill=pad + (255,))
    eyes = _eyes(rng, draw, cx, cy, u)
    _nose_mouth_whiskers(rng, draw, cx, cy, u, base)
    return fur, {"fur": fur_name, "pattern": str(pattern), "eyes": eyes}


def _fur_colours(rng, pattern):
    """The base fur colour, the colours of the pattern's markings, and the coat's name."""
    if pattern == "calico":
        return (_jitter(rng, FUR["white"]), [_jitter(rng, FUR["orange"]), _jitter(rng, FUR["black"])],
                "white")
    if pattern == "tuxedo":
        dark = _pick(rng, ["black", "black", "dark grey", "grey", "brown", "orange"])
        return _jitter(rng, FUR[dark]), [_jitter(rng, FUR["white"])], dark
    if pattern == "patches":
        light = _pick(rng, ["white", "cream", "silver"])
        patch = _pick(rng, ["black", "grey", "orange", "brown"])
        return _jitter(rng, FUR[light]), [_jitter(rng, FUR[patch])], light
    name = _pick(rng, list(FUR))
    base = _jitter(rng, FUR[name], 18)
    if pattern == "tabby":
        return base, [_shade(base, rng.uniform(0.45, 0.65))], name
    return base, [], name


def _pattern(rng, draw, pattern, marks, cx, cy, hw, hh, u):
    """Paint the markings onto the fur (the head mask trims them later)."""
    if pattern == "tabby":
        width = int(0.035 * u)
        for k in range(rng.integers(3, 6)):          # forehead stripes, the tabby "M"
            x = cx + (k - 2) * 0.06 * u + rng.normal(0, 0.01 * u)
            top, bottom = cy - hh * 1.3, cy - hh * rng.uniform(0.35, 0.55)
            draw.line([(x, top), (x + rng.normal(0, 0.02 * u), bottom)], fill=marks[0], width=width)
        for side in (-1, 1):                          # cheek stripes
            for k in range(2):
                y = cy + (0.02 + 0.08 * k) * u
                draw.line([(cx + side * hw * 1.1, y), (cx + side * hw * 0.65, y - 0.03 * u)],
                          fill=marks[0], width=width)
    elif pattern in ("patches", "calico"):
        for _ in range(rng.integers(2, 5)):
            x, y = cx + rng.uniform(-1, 1) * hw, cy + rng.uniform(-1.6, 0.6) * hh
            rx, ry = u * rng.uniform(0.12, 0.25), u * rng.uniform(0.10, 0.22)
            draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=_pick(rng, marks))
    elif pattern == "tuxedo":                          # white muzzle, chin and a blaze
        white = marks[0]
        draw.ellipse([cx - 0.2 * u, cy + 0.02 * u, cx + 0.2 * u, cy + 0.5 * u], fill=white)
        blaze = rng.uniform(0.03, 0.07) * u
        draw.polygon([(cx - blaze, cy + 0.1 * u), (cx + blaze, cy + 0.1 * u),
                      (cx, cy - hh * rng.uniform(0.3, 1.2))], fill=white)


def _ears(rng, cx, cy, hw, hh, u):
    """Two triangles from the top of the head; tips tilt outwards by a random amount."""
    tilt, height, spread = rng.uniform(0.0, 0.08), rng.uniform(0.26, 0.36), rng.uniform(0.0, 0.06)
    ears = []
    for side in (-1, 1):
        outer = (cx + side * hw * 0.98, cy - hh * 0.15)
        inner = (cx + side * (0.08 + spread) * u, cy - hh * 0.95)
        tip = (cx + side * (hw * 0.72 + tilt * u), cy - hh - height * u)
        ears.append([outer, inner, tip])
    return ears


def _inner_ear(ear):
    """The pink inside of an ear: the ear shrunk towards a point near its base."""
    (ox, oy), (ix, iy), (tx, ty) = ear
    ax, ay = (ox + ix + tx) / 3, (oy + iy + ty) / 3 + (oy + iy - 2 * ty) * 0.06
    return [(ax + (x - ax) * 0.6, ay + (y - ay) * 0.6) for x, y in ear]


def _eyes(rng, draw, cx, cy, u):
    """Almond eyes with an iris colour, a slit or round pupil, and a highlight; returns the
    first eye's colour name."""
    name = _pick(rng, list(EYES))
    iris = _jitter(rng, EYES[name], 16)
    if rng.random() < 0.1:  # odd-eyed cats exist
        other = _jitter(rng, EYES[_pick(rng, list(EYES))], 16)
    else:
        other = iris
    gap, level = rng.uniform(0.15, 0.19) * u, cy - rng.uniform(0.02, 0.06) * u
    rx, ry = rng.uniform(0.07, 0.09) * u, rng.uniform(0.045, 0.075) * u
    slit = rng.random() < 0.5
    pupil = rx * rng.uniform(0.15, 0.3) if slit else rx * rng.uniform(0.35, 0.6)
    rim = max(2, int(0.012 * u))
    for side, colour in ((-1, iris), (1, other)):
        x = cx + side * gap
        draw.ellipse([x - rx, level - ry, x + rx, level + ry], fill=colour + (255,),
                     outline=(20, 18, 16, 255), width=rim)
        py = ry * 0.9 if slit else min(pupil, ry * 0.85)
        draw.ellipse([x - pupil, level - py, x + pupil, level + py], fill=(12, 10, 10, 255))
        glint = 0.018 * u
        gx, gy = x - rx * 0.35, level - ry * 0.35
        draw.ellipse([gx - glint, gy - glint, gx + glint, gy + glint], fill=(250, 250, 250, 255))
    return name


def _nose_mouth_whiskers(rng, draw, cx, cy, u, base):
    nose = _jitter(rng, PINK_NOSE if rng.random() < 0.7 else BROWN_NOSE, 12)
    top, half, height = cy + rng.uniform(0.09, 0.12) * u, 0.045 * u, 0.045 * u
    draw.polygon([(cx - half, top), (cx + half, top), (cx, top + height)], fill=nose + (255,))
    # The mouth: a short line down from the nose, then two arcs, the classic "w".
    dark = (40, 30, 30, 255) if sum(base) > 200 else (150, 140, 140, 255)
    line = max(2, int(0.014 * u))
    tip, drop, r = top + height, 0.03 * u, 0.045 * u
    draw.line([(cx, tip), (cx, tip + drop)], fill=dark, width=line)
    for side in (-1, 1):
        ax = cx + side * r
        draw.arc([ax - r, tip + drop - r, ax + r, tip + drop + r], 0, 180, fill=dark, width=line)
    # Whiskers fan out from the pads: light on dark fur, dark-ish on light fur.
    colour = (235, 235, 230, 255) if sum(base) < 450 else (70, 65, 60, 255)
    for side in (-1, 1):
        for k in range(3):
            start = (cx + side * 0.1 * u, cy + (0.17 + 0.03 * k) * u)
            angle = math.radians(-12 + 12 * k + rng.normal(0, 4))
            length = rng.uniform(0.3, 0.42) * u
            end = (start[0] + side * length * math.cos(angle), start[1] + length * math.sin(angle))
            draw.line([start, end], fill=colour, width=max(2, int(0.01 * u)))
