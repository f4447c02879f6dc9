#!/usr/bin/env python3
"""Procedurally generated training and evaluation data for the built-in model.

Three tasks, each an image plus a question and its one canonical answer:

- charts: bar charts (1-8 bars), line charts and pie charts with named colours and word labels,
  optional titles and axis ticks. Questions: how many bars / points / slices, which label is the
  tallest / shortest (highest / lowest, largest / smallest), the colour of a given bar, the label
  of the bar of a given colour, the title, the kind of chart, and "What is in this chart?" (one
  sentence naming the kind, the count and the tallest label). With `chart_styles`, a share of the
  charts is drawn in a free style (any aspect, small labels, wide margins, values over the bars;
  pies as rings, with percentages or a legend).
- ui: hand-drawn-looking wireframes (jittered strokes: a header, text lines, image placeholders
  with an X, buttons and inputs with words, one or two columns) -> a small self-contained HTML
  page in one canonical form (`ui_html`), plus single-word and counting questions.
- scenes: circles, squares, triangles and stars of named colours and sizes -> captions such as
  "A red circle above a blue square." and counting / colour / shape questions.

Every example is a pure function of (seed, index, level): `example(seed, index, level)` draws
the same image and text on every machine with the same Pillow and fonts (DejaVu Sans, from
Debian's fonts-dejavu-core). `level` is the curriculum level: 0 easy (few bars, big labels,
large height differences, single-word questions), 1 medium, 2 the full target distribution
(what evaluation uses).

    python tools/train/generate.py --out /tmp/samples --count 24 --seed 1 --level 2
    python tools/train/generate.py --readme-samples tools/train/samples
"""
import argparse
import json
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = 256  # the model's tile; images may be drawn larger (scale > 1) and are resized by the processor

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    "sans": FONT_DIR / "DejaVuSans.ttf",
    "bold": FONT_DIR / "DejaVuSans-Bold.ttf",
    "cond": FONT_DIR / "DejaVuSansCondensed.ttf",
    "condbold": FONT_DIR / "DejaVuSansCondensed-Bold.ttf",
}
_font_cache = {}


def font(kind, size):
    key = (kind, size)
    if key not in _font_cache:
        _font_cache[key] = ImageFont.truetype(str(FONTS[kind]), size)
    return _font_cache[key]


COLOURS = {
    "red": (220, 30, 30), "green": (30, 160, 50), "blue": (30, 80, 220), "yellow": (240, 200, 0),
    "orange": (255, 130, 0), "purple": (140, 50, 180), "pink": (255, 110, 190), "brown": (130, 75, 25),
    "gray": (135, 135, 135), "black": (25, 25, 25),
}
SCENE_COLOURS = ["red", "green", "blue", "yellow", "orange", "purple", "pink", "black"]

LABELS = ["cat", "dog", "sun", "tea", "milk", "rice", "corn", "fish", "bird", "tree", "rock", "star", "moon",
          "rain", "snow", "wind", "gold", "iron", "salt", "bean", "plum", "pear", "lime", "kiwi", "fig", "nut",
          "egg", "ham", "jam", "pie", "cake", "bus", "car", "van", "ship", "boat", "lamp", "desk", "book", "pen",
          "ink", "box", "cup", "bell", "door", "rose", "lily", "oak", "pine", "wolf", "bear", "frog", "duck",
          "goat", "lion", "apple", "grape", "lemon", "melon", "bread"]
TITLES = ["Sales", "Fruit Sales", "Rainfall", "Pets", "Weather", "Votes", "Scores", "Budget", "Traffic",
          "Harvest", "Visitors", "Exports", "Stock", "Survey", "Energy", "Growth", "Orders", "Prices",
          "Animals", "Snacks", "Books Read", "Car Sales", "Team Points", "Top Foods", "Tickets", "Downloads",
          "Yearly Rain", "Shop Stock", "Farm Output", "Class Votes"]
HEADER_WORDS = ["Home", "Shop", "News", "Blog", "Profile", "Settings", "Music", "Photos", "Travel", "Recipes",
                "Login", "Contact", "About", "Games", "Sports", "Store", "Movies", "Weather", "Jobs", "Events",
                "Cart", "Help", "Search", "Gallery", "Welcome", "Account", "Menu", "Videos", "Friends", "Maps"]
BUTTON_WORDS = ["Send", "Login", "Buy", "Search", "Next", "Back", "Save", "Cancel", "OK", "Submit", "Play",
                "Share", "Menu", "Help", "Join", "Start", "Stop", "Edit", "Delete", "Open", "Close", "Add",
                "Reply", "Like", "Follow", "Upload", "Pay", "Book", "Sign in", "Sign up"]
INPUT_WORDS = ["Email", "Name", "Password", "Search", "City", "Phone", "Address", "Message", "Username",
               "Date", "Title", "Comment", "Country", "Age", "Code", "Subject", "Website", "Amount"]
SHAPES = ["circle", "square", "triangle", "star"]
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]

P_TEXT = "<p>Lorem ipsum dolor sit amet.</p>"
P_IMG = '<img alt="image">'
HTML_HEAD = "<!DOCTYPE html>\n<html><body>"
HTML_TAIL = "</body></html>"


def jitter_colour(rng, rgb, amount=14):
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in rgb)


class Canvas:
    """Drawing in 256-unit coordinates (`width` x `height` units, a square tile by default) on an
    image `scale` times larger."""

    def __init__(self, scale=1.0, background=(255, 255, 255), width=SIZE, height=SIZE):
        self.s, self.w, self.h, self.background = scale, width, height, background
        self.image = Image.new("RGB", (round(width * scale), round(height * scale)), background)
        self.draw = ImageDraw.Draw(self.image)
        # Every text and shape drawn, by its words (a shape by its name), with its box where it lands
        # in the processor's 256 x 256 tile (it resizes any image to that square): (words, (x0, y0,
        # x1, y1)). Kept in the image's info so that example() can return it without each task
        # passing it along.
        self.image.info["drawn"] = self.drawn = []
        # Every area filled with a named colour (a bar, a slice, a legend's swatch, a shape), by
        # that colour's name, with a box centred where it shows: (colour, (x0, y0, x1, y1)) in the
        # same tile units. Recorded by `paint`, apart from the drawing, which knows only the RGB.
        self.image.info["painted"] = self.painted = []

    def p(self, *xy):
        return [v * self.s for v in xy]

    def font(self, kind, size):
        return font(kind, max(6, round(size * self.s)))

    def text_size(self, text, kind, size):
        box = self.font(kind, size).getbbox(text)
        return (box[2] - box[0]) / self.s, (box[3] - box[1]) / self.s

    def text_box(self, xy, text, kind, size, anchor="la"):
        """Where `text` drawn at `xy` lands: (x0, y0, x1, y1) in this canvas's units."""
        box = self.draw.textbbox(self.p(*xy), text, font=self.font(kind, size), anchor=anchor)
        return tuple(v / self.s for v in box)

    def tile_box(self, box):
        """`box` in this canvas's units, in the processor's 256 x 256 tile's."""
        x0, y0, x1, y1 = box
        return x0 * SIZE / self.w, y0 * SIZE / self.h, x1 * SIZE / self.w, y1 * SIZE / self.h

    def text(self, xy, text, kind, size, fill, anchor="la"):
        self.draw.text(self.p(*xy), text, font=self.font(kind, size), fill=fill, anchor=anchor)
        self.drawn.append((text, self.tile_box(self.text_box(xy, text, kind, size, anchor))))

    def paint(self, colour, box):
        """Records that the area centred in `box` shows the named `colour` (Canvas.painted)."""
        self.painted.append((colour, self.tile_box(box)))

    def rect(self, box, fill=None, outline=None, width=1):
        self.draw.rectangle(self.p(*box), fill=fill, outline=outline, width=max(1, round(width * self.s)))

    def line(self, points, fill, width=1):
        self.draw.line([v * self.s for pt in points for v in pt], fill=fill, width=max(1, round(width * self.s)),
                       joint="curve")

    def ellipse(self, box, fill=None, outline=None, width=1):
        self.draw.ellipse(self.p(*box), fill=fill, outline=outline, width=max(1, round(width * self.s)))

    def polygon(self, points, fill=None, outline=None):
        self.draw.polygon([v * self.s for pt in points for v in pt], fill=fill, outline=outline)

    def pieslice(self, box, start, end, fill, outline=None):
        self.draw.pieslice(self.p(*box), start, end, fill=fill, outline=outline)


def choose(rng, items, k):
    return rng.sample(items, k)


def ask_questions(rng, options, count, ask):
    """Up to `count` (question, answer, qtype) about one image, of distinct types: the first drawn
    from the weighted `options` exactly as a one-question example draws it, the next ones from
    the types not yet asked. `ask(qtype)` writes one."""
    options, turns = list(options), []
    while options and len(turns) < count:
        qtype = rng.choices([o[0] for o in options], [o[1] for o in options])[0]
        turns.append(ask(qtype))
        options = [o for o in options if o[0] != qtype]
    return turns


def with_reading(turns, reading, question, items, qtype):
    """`turns` plus, when `reading`, a training-only last turn that lists every item of one kind in
    the image (each label, word or shape), so one image supervises every one of them instead of the
    one a question happens to ask about. It draws nothing from the generator, so the image and the
    other turns stay what they are without it."""
    if reading and items:
        turns = turns + [(question, ", ".join(items), qtype)]
    return turns


# ----------------------------------------------------------------------------------------------
# Charts

def distinct_values(rng, n, margin, low=0.12):
    """n values in (low, 1] whose maximum and minimum are unique by at least `margin` (relative)."""
    while True:
        values = [rng.uniform(low, 1.0) for _ in range(n)]
        if n == 1:
            return values
        s = sorted(values)
        if s[-1] - s[-2] >= margin and s[1] - s[0] >= margin * 0.7:
            return values


def fit_label_size(c, words, slot, wanted, kind, smallest=9):
    """`wanted`, made smaller (down to `smallest`) until the widest of `words` fits in `slot` less 3."""
    size = wanted
    while size > smallest and label_width(c, words, kind, size) > slot - 3:
        size -= 1
    return size


def label_width(c, words, kind, size):
    return max(c.text_size(w, kind, size)[0] for w in words)


def extremes(words, values):
    """The labels of the largest and the smallest value: dict(tallest, shortest)."""
    return dict(tallest=words[max(range(len(words)), key=lambda i: values[i])],
                shortest=words[min(range(len(words)), key=lambda i: values[i])])


def chart_frame(rng, c, level, title):
    """Title and plot area; returns (x0, y0, x1, y1) of the plot area."""
    top = 8
    if title:
        size = rng.randint(15, 18) if level < 2 else rng.randint(13, 18)
        c.text((SIZE / 2, 6), title, "bold", size, (20, 20, 20), anchor="mt")
        top = 10 + size + 4
    return 34 if rng.random() < 0.6 else 14, top + 6, SIZE - 10, SIZE - 34


def draw_ticks(rng, c, x0, y0, x1, y1, vmax_units):
    step = rng.choice([10, 20, 25])
    top_value = vmax_units
    c.line([(x0, y0), (x0, y1)], (60, 60, 60), 1)
    f = 10
    v = 0
    while v <= top_value:
        y = y1 - (y1 - y0) * v / top_value
        c.line([(x0 - 3, y), (x0, y)], (60, 60, 60), 1)
        c.text((x0 - 5, y), str(v), "cond", f, (70, 70, 70), anchor="rm")
        v += step


def bar_chart(rng, level, scale, style=None):
    if level == 0:
        n = rng.randint(1, 4)
    elif level == 1:
        n = rng.randint(2, 6)
    else:
        n = rng.randint(2, 8)
    margin = {0: 0.3, 1: 0.15, 2: 0.08}[level]
    words = choose(rng, [w for w in LABELS if n <= 6 or len(w) <= 4], n)
    values = distinct_values(rng, n, margin)
    same_colour = level > 0 and rng.random() < 0.15
    colours = [rng.choice(list(COLOURS))] * n if same_colour else choose(rng, list(COLOURS), n)
    title = rng.choice(TITLES) if rng.random() < (0.5 if level else 0.3) else None
    info = dict(kind="bar", n=n, words=words, colours=colours, title=title, **extremes(words, values))
    if style:
        return styled_bars(style, scale, info, values), info
    background = (255, 255, 255) if rng.random() < 0.7 else jitter_colour(rng, (245, 245, 240), 8)
    c = Canvas(scale, background)
    x0, y0, x1, y1 = chart_frame(rng, c, level, title)
    ticks = x0 > 20
    if ticks:
        draw_ticks(rng, c, x0, y0, x1, y1, 100)
    c.line([(x0, y1), (x1, y1)], (60, 60, 60), 1)
    slot = (x1 - x0) / max(n, 2) if n > 1 else (x1 - x0) / 2
    left = x0 + ((x1 - x0) - slot * n) / 2
    wanted = {0: rng.randint(16, 18), 1: rng.randint(13, 17), 2: rng.randint(11, 16)}[level]
    kind = rng.choice(["sans", "bold", "cond"])
    size = fit_label_size(c, words, slot, wanted, kind)
    width_frac = rng.uniform(0.5, 0.8)
    for i in range(n):
        cx = left + slot * (i + 0.5)
        h = (y1 - y0) * values[i]
        bw = slot * width_frac / 2
        c.rect((cx - bw, y1 - h, cx + bw, y1), fill=jitter_colour(rng, COLOURS[colours[i]]),
               outline=(40, 40, 40) if rng.random() < 0.3 else None)
        c.paint(colours[i], (cx - bw, y1 - h, cx + bw, y1))
        c.text((cx, y1 + 4), words[i], kind, size, (20, 20, 20), anchor="mt")
    return c.image, info


def line_chart(rng, level, scale, style=None):
    n = rng.randint(3, 5) if level == 0 else rng.randint(3, 7)
    margin = {0: 0.25, 1: 0.15, 2: 0.1}[level]
    words = choose(rng, [w for w in LABELS if len(w) <= 4], n)
    values = distinct_values(rng, n, margin, low=0.08)
    colour = rng.choice(list(COLOURS))
    title = rng.choice(TITLES) if rng.random() < 0.4 else None
    info = dict(kind="line", n=n, words=words, colour=colour, title=title, **extremes(words, values))
    if style:
        return styled_line(style, scale, info, values), info
    c = Canvas(scale)
    x0, y0, x1, y1 = chart_frame(rng, c, level, title)
    if x0 > 20:
        draw_ticks(rng, c, x0, y0, x1, y1, 100)
    c.line([(x0, y1), (x1, y1)], (60, 60, 60), 1)
    slot = (x1 - x0) / n
    kind = rng.choice(["sans", "cond"])
    size = fit_label_size(c, words, slot, rng.randint(12, 16) if level < 2 else rng.randint(11, 15), kind)
    points = [(x0 + slot * (i + 0.5), y1 - (y1 - y0) * values[i]) for i in range(n)]
    rgb = jitter_colour(rng, COLOURS[colour])
    c.line(points, rgb, 3)
    for (x, y), w in zip(points, words):
        c.ellipse((x - 4, y - 4, x + 4, y + 4), fill=rgb)
        c.text((x, y1 + 4), w, kind, size, (20, 20, 20), anchor="mt")
    return c.image, info


def pie_chart(rng, level, scale, style=None):
    n = rng.randint(2, 4) if level == 0 else rng.randint(2, 6)
    margin = {0: 0.35, 1: 0.2, 2: 0.12}[level]
    words = choose(rng, [w for w in LABELS if len(w) <= 5], n)
    values = distinct_values(rng, n, margin, low=0.15)
    colours = choose(rng, [k for k in COLOURS if k not in ("black",)], n)
    title = rng.choice(TITLES) if rng.random() < 0.4 else None
    info = dict(kind="pie", n=n, words=words, colours=colours, title=title, **extremes(words, values))
    if style:
        image, start = styled_pie(style, scale, info, values)
        info["clockwise"] = [words[i] for i in clockwise_from_top(values, start)]
        return image, info
    c = Canvas(scale)
    top = 8
    if title:
        c.text((SIZE / 2, 6), title, "bold", 16, (20, 20, 20), anchor="mt")
        top = 30
    total = sum(values)
    cx, cy = SIZE / 2, (top + SIZE) / 2
    r = min(SIZE - top - 50, SIZE - 100) / 2
    angle = start = rng.uniform(-90, 0)
    kind = rng.choice(["sans", "bold"])
    size = rng.randint(13, 16) if level < 2 else rng.randint(11, 15)
    for i in range(n):
        sweep = 360 * values[i] / total
        c.pieslice((cx - r, cy - r, cx + r, cy + r), angle, angle + sweep, fill=jitter_colour(rng, COLOURS[colours[i]]),
                   outline=(255, 255, 255))
        paint_slice(c, colours[i], (cx, cy), r * 0.6, angle + sweep / 2)
        slice_label(c, (cx, cy), r, angle + sweep / 2, words[i], kind, size, (20, 20, 20))
        angle += sweep
    info["clockwise"] = [words[i] for i in clockwise_from_top(values, start)]
    return c.image, info


def clockwise_from_top(values, start):
    """The slices' indices clockwise from the one at 12 o'clock, for slices drawn in order from
    `start` degrees (clockwise from 3 o'clock, as Pillow's angles run)."""
    total, top = sum(values), (-90 - start) % 360  # 12 o'clock, in degrees past the first slice's start
    swept = 0.0
    for i, value in enumerate(values):
        swept += 360 * value / total
        if top < swept:
            return list(range(i, len(values))) + list(range(i))
    return list(range(len(values)))


def paint_slice(c, colour, centre, r, degrees):
    """Records a slice's colour at radius `r` along its middle (`degrees` clockwise from 3 o'clock)."""
    mid = math.radians(degrees)
    x, y = centre[0] + r * math.cos(mid), centre[1] + r * math.sin(mid)
    c.paint(colour, (x, y, x, y))


def slice_label(c, centre, r, degrees, word, kind, size, ink):
    """`word` just outside a pie of radius `r`, beside the middle of its slice (`degrees` clockwise
    from 3 o'clock), anchored on the side that faces the pie."""
    mid = math.radians(degrees)
    tx, ty = centre[0] + (r + 6) * math.cos(mid), centre[1] + (r + 6) * math.sin(mid)
    anchor = ("l" if math.cos(mid) > 0.3 else "r" if math.cos(mid) < -0.3 else "m") + \
             ("t" if math.sin(mid) > 0.3 else "b" if math.sin(mid) < -0.3 else "m")
    # A long word beside a large pie's slice near 3 or 9 o'clock can reach past the image's edge (the
    # house style's "melon", by up to 11 units): moved in, over the pie's rim if need be.
    x0, y0, x1, y1 = c.text_box((tx, ty), word, kind, size, anchor)
    tx += max(0, 1 - x0) - max(0, x1 - (c.w - 1))
    ty += max(0, 1 - y0) - max(0, y1 - (c.h - 1))
    c.text((tx, ty), word, kind, size, ink, anchor=anchor)


# Charts in a free style (--chart-styles). The layouts above are one house style: a square tile,
# labels of 11-18 units, bars filling the plot. A model that has seen only that miscounts charts
# drawn otherwise (Assets/chart.png: 4:3, 6-unit labels once resized, values over the bars, a wide
# empty margin). These draw the same content as bar_chart, line_chart and pie_chart (the same
# bars, points or slices, words, colours and title, so the same possible questions and answers;
# which ones an example asks is drawn after the chart, so it may differ) in a look
# drawn from `style`, a generator of its own, so that the content stream is the one the house
# style draws.

ASPECTS = [1.0, 4 / 3, 3 / 2, 16 / 9, 2.0, 3 / 4]


def styled_canvas(style, scale, title):
    """A free-style chart's canvas and look, with its title: any aspect (the processor squashes
    every image to its square tile), a tinted background or none, a title small or large, centred
    or to the left. Returns (canvas, look, top), `top` where the space under the title starts.
    look["reach"] and look["top"] are the value axis's (styled_frame); they are drawn here for
    every chart so that the draws after them stay where they were."""
    aspect = style.choice(ASPECTS)
    w, h = (round(SIZE * aspect), SIZE) if aspect >= 1 else (SIZE, round(SIZE / aspect))
    background = style.choice([(255, 255, 255), (250, 250, 246), (243, 243, 243), jitter_colour(style, (238, 242, 250), 10)])
    c = Canvas(scale, background, w, h)
    ink = jitter_colour(style, (40, 40, 40), 15)
    look = dict(ink=ink, label_size=style.randint(7, 15), font=style.choice(["sans", "bold", "cond"]),
                reach=style.uniform(0.6, 1.0), top=style.choice([10, 50, 100, 400, 1000]), small=style.randint(6, 11))
    top = style.uniform(3, 20)
    if title:
        size = style.randint(8, 18)
        if style.random() < 0.6:
            c.text((w / 2 + style.uniform(-0.15, 0.15) * w, top), title, "bold", size, ink, anchor="mt")
        else:
            c.text((style.uniform(6, 0.2 * w), top), title, style.choice(["bold", "sans"]), size, ink, anchor="lt")
        top += size + 3
    return c, look, top


def styled_frame(style, scale, title):
    """A free-style bar or line chart's canvas, plot area and look (styled_canvas): margins from
    none to wide, a thin or thick axis, with or without a y axis, value ticks and grid lines.
    Returns (canvas, (x0, y0, x1, y1), look); the tallest value reaches look["reach"] of the plot's
    height and is worth look["top"] units."""
    c, look, top = styled_canvas(style, scale, title)
    w, h, ink = c.w, c.h, look["ink"]
    ticks = style.random() < 0.45
    x0 = style.uniform(28, 44) if ticks else style.uniform(6, 0.18 * w)
    if ticks:  # room for the widest tick value ("1000") left of the axis
        x0 = max(x0, c.text_size(f"{look['top']}", "cond", look["small"])[0] + 8)
    x1 = w - style.uniform(6, 0.2 * w)
    y0 = top + style.uniform(6, 30)
    y1 = h - look["label_size"] - style.uniform(8, 40)
    axis = style.choice([1, 1, 2, 3])
    if ticks:
        step = look["top"] / style.choice([2, 4, 5])
        grid = style.random() < 0.4
        for k in range(round(look["top"] / step) + 1):
            y = y1 - (y1 - y0) * look["reach"] * k * step / look["top"]
            if grid and k:
                c.line([(x0, y), (x1, y)], jitter_colour(style, (215, 215, 215), 12), 1)
            c.line([(x0 - 3, y), (x0, y)], ink, 1)
            c.text((x0 - 5, y), f"{k * step:g}", "cond", look["small"], ink, anchor="rm")
    if ticks or style.random() < 0.6:
        c.line([(x0, y0), (x0, y1)], ink, axis)
    if style.random() < 0.9:
        c.line([(x0, y1), (x1, y1)], ink, axis)
    return c, (x0, y0, x1, y1), look


def styled_slots(style, c, plot, look, words):
    """Where the bars or points go: (centres, slot width, label size). They may fill the plot or
    leave part of it empty, to the left, the right or both, but never so little of it that the
    labels touch: the span widens first, then the labels shrink (to 6 units at least, where the
    house style stops at 9; the widest plot of eight 4-letter labels still fits them)."""
    x0, y0, x1, y1 = plot
    widest = label_width(c, words, look["font"], look["label_size"])
    span = max((x1 - x0) * style.uniform(0.7, 1.0), min(x1 - x0, len(words) * (widest + 3)))
    slot = span / len(words)
    size = fit_label_size(c, words, slot, look["label_size"], look["font"], smallest=6)
    left = x0 + style.uniform(0, (x1 - x0) - span)
    return [left + slot * (i + 0.5) for i in range(len(words))], slot, size


def styled_bars(style, scale, info, values):
    c, plot, look = styled_frame(style, scale, info["title"])
    x0, y0, x1, y1 = plot
    centres, slot, size = styled_slots(style, c, plot, look, info["words"])
    half = slot * style.uniform(0.3, 0.9) / 2
    outline = look["ink"] if style.random() < 0.2 else None
    value_labels = style.random() < 0.4
    for cx, value, word, colour in zip(centres, values, info["words"], info["colours"]):
        top = y1 - (y1 - y0) * look["reach"] * value
        c.rect((cx - half, top, cx + half, y1), fill=jitter_colour(style, COLOURS[colour]), outline=outline)
        c.paint(colour, (cx - half, top, cx + half, y1))
        if value_labels:
            # one decimal on small scales, so that the tallest or shortest bar's value is not rounded
            # onto the next one's
            number = f"{value * look['top']:.1f}" if look["top"] < 50 else f"{round(value * look['top'])}"
            c.text((cx, top - 2), number, "sans", look["small"], look["ink"], anchor="mb")
        c.text((cx, y1 + 4), word, look["font"], size, look["ink"], anchor="mt")
    return c.image


def styled_line(style, scale, info, values):
    c, plot, look = styled_frame(style, scale, info["title"])
    x0, y0, x1, y1 = plot
    centres, slot, size = styled_slots(style, c, plot, look, info["words"])
    points = [(x, y1 - (y1 - y0) * look["reach"] * v) for x, v in zip(centres, values)]
    rgb = jitter_colour(style, COLOURS[info["colour"]])
    c.line(points, rgb, style.choice([1, 2, 3, 4]))
    marker = style.choice([0, 2, 3, 4, 5])
    for (x, y), word in zip(points, info["words"]):
        if marker:
            c.ellipse((x - marker, y - marker, x + marker, y + marker), fill=rgb)
        c.text((x, y1 + 4), word, look["font"], size, look["ink"], anchor="mt")
    return c.image


def styled_pie(style, scale, info, values):
    """A free-style pie: anywhere on the canvas, any size that leaves its labels inside, as a
    ring (a doughnut) or whole, with percentages on its larger slices, and its labels beside the
    slices or in a legend: a colour swatch and a word per row, listed clockwise from the top as
    the reading turn reads them. The slices start between 12 and 3 o'clock, as the house style's.
    Returns (image, the first slice's start in degrees)."""
    c, look, top = styled_canvas(style, scale, info["title"])
    w, h, ink, words = c.w, c.h, look["ink"], info["words"]
    size = look["label_size"]
    label_w = label_width(c, words, look["font"], size)
    label_h = c.text_size("Mg", look["font"], size)[1]
    row = label_h + style.uniform(3, 8)
    start = style.uniform(-90, 0)
    legend = style.random() < 0.5
    if legend:  # to the right of the pie on a wide or square canvas, under it on a tall one
        swatch = max(5.0, label_h)
        legend_w, legend_h = swatch + 4 + label_w, row * len(words)
        right = w >= h
        room_w = w - 16 - (legend_w + 12 if right else 0)
        room_h = h - top - 16 - (0 if right else legend_h + 12)
        r = min(room_w, room_h) / 2 * style.uniform(0.7, 1.0)
        cx = style.uniform(8 + r, 8 + room_w - r)
        cy = style.uniform(top + 8 + r, top + 8 + room_h - r)
        if right:
            lx = style.uniform(cx + r + 12, w - 4 - legend_w)
            ly = min(max(top + 4, cy - legend_h / 2 + style.uniform(-20, 20)), h - 4 - legend_h)
        else:
            lx = style.uniform(4, w - 4 - legend_w)
            ly = style.uniform(cy + r + 12, h - 4 - legend_h)
    else:  # labels around the pie: room for the widest beside it and for one row above and below
        room_w, room_h = w - 2 * (label_w + 10), h - top - 2 * (label_h + 10)
        r = min(room_w, room_h) / 2 * style.uniform(0.65, 1.0)
        cx = style.uniform(label_w + 10 + r, w - label_w - 10 - r)
        cy = style.uniform(top + label_h + 10 + r, h - label_h - 10 - r)
    hole = r * style.uniform(0.35, 0.6) if style.random() < 0.3 else 0
    outline = style.choice([(255, 255, 255), c.background, ink, None])
    percentages = style.random() < 0.35
    total = sum(values)
    fills = [jitter_colour(style, COLOURS[colour]) for colour in info["colours"]]  # a swatch is its slice's colour
    at = (r + hole) / 2 if hole else r * 0.62  # percentages: the middle of the ring, or nearer the rim than the centre
    angle = start
    for i, value in enumerate(values):
        sweep = 360 * value / total
        c.pieslice((cx - r, cy - r, cx + r, cy + r), angle, angle + sweep, fill=fills[i], outline=outline)
        paint_slice(c, info["colours"][i], (cx, cy), (r + hole) / 2 if hole else r * 0.6, angle + sweep / 2)
        share = f"{round(100 * value / total)}%"
        if percentages and at * math.radians(sweep) > c.text_size(share, "bold", look["small"])[0] + 6:
            mid = math.radians(angle + sweep / 2)
            red, green, blue = COLOURS[info["colours"][i]]
            light = 0.299 * red + 0.587 * green + 0.114 * blue > 140  # dark text on orange, yellow, pink
            c.text((cx + at * math.cos(mid), cy + at * math.sin(mid)), share, "bold", look["small"],
                   ink if light else (255, 255, 255), anchor="mm")
        if not legend:
            slice_label(c, (cx, cy), r, angle + sweep / 2, words[i], look["font"], size, ink)
        angle += sweep
    if hole:
        c.ellipse((cx - hole, cy - hole, cx + hole, cy + hole), fill=c.background)
    if legend:
        for k, i in enumerate(clockwise_from_top(values, start)):
            y = ly + row * k
            c.rect((lx, y, lx + swatch, y + swatch), fill=fills[i])
            c.paint(info["colours"][i], (lx, y, lx + swatch, y + swatch))
            c.text((lx + swatch + 4, y + swatch / 2), words[i], look["font"], size, ink, anchor="lm")
    return c.image, start


COUNT_Q = {"bar": ["How many bars are there?", "How many bars are in this chart?", "How many bars does the chart have?",
                   "Count the bars."],
           "line": ["How many points are on the line?", "How many points does the line have?", "How many data points are there?"],
           "pie": ["How many slices are there?", "How many slices does the pie chart have?", "How many parts is the pie cut into?"]}
TALL_Q = {"bar": ["Which bar is the tallest?", "Which label has the tallest bar?", "What is the label of the tallest bar?",
                  "Which category has the highest value?"],
          "line": ["Which label has the highest point?", "Where is the line highest?", "Which point is the highest?"],
          "pie": ["Which slice is the largest?", "What is the label of the biggest slice?", "Which category has the largest share?"]}
SHORT_Q = {"bar": ["Which bar is the shortest?", "Which label has the shortest bar?", "What is the label of the shortest bar?",
                   "Which category has the lowest value?"],
           "line": ["Which label has the lowest point?", "Where is the line lowest?", "Which point is the lowest?"],
           "pie": ["Which slice is the smallest?", "What is the label of the smallest slice?", "Which category has the smallest share?"]}
NOUN = {"bar": "bar", "line": "point", "pie": "slice"}
KIND_NAME = {"bar": "A bar chart.", "line": "A line chart.", "pie": "A pie chart."}


def describe(info):
    n, kind = info["n"], info["kind"]
    if kind == "bar":
        if n == 1:
            return f"A bar chart with 1 bar labelled {info['tallest']}."
        return f"A bar chart with {n} bars, the tallest labelled {info['tallest']}."
    if kind == "line":
        return f"A line chart with {n} points, the highest at {info['tallest']}."
    return f"A pie chart with {n} slices, the largest labelled {info['tallest']}."


def chart_example(rng, level, scale, questions=1, reading=False, style=None):
    """A chart and questions about it; with `style` (a generator), drawn in a free style
    (styled_bars, styled_line, styled_pie)."""
    r = rng.random()
    kind = "bar" if r < 0.65 else "line" if r < 0.82 else "pie"
    image, info = bar_chart(rng, level, scale, style) if kind == "bar" else \
        line_chart(rng, level, scale, style) if kind == "line" else pie_chart(rng, level, scale, style)
    n, words = info["n"], info["words"]
    options = [("count", 2), ("tallest", 3), ("describe", 2), ("kind", 0.5)]
    if n > 1:
        options.append(("shortest", 2))
    if kind in ("bar", "pie"):
        options.append(("colour", 2))
        if len(set(info["colours"])) == n:
            options.append(("label_of_colour", 3 if level == 0 else 1.5))
    else:
        options.append(("colour", 1))
    if kind == "bar" and n > 1 and len(set(info["colours"])) == n:
        options.append(("colour_tallest", 1))
    if info["title"]:
        options.append(("title", 1.5))
    def ask(qtype):
        noun = NOUN[kind]
        if qtype == "count":
            q, a = rng.choice(COUNT_Q[kind]), str(n)
        elif qtype == "tallest":
            q, a = rng.choice(TALL_Q[kind]), info["tallest"]
        elif qtype == "shortest":
            q, a = rng.choice(SHORT_Q[kind]), info["shortest"]
        elif qtype == "describe":
            q, a = rng.choice(["What is in this chart?", "Describe this chart.", "What does this image show?",
                               "What is in this image?"]), describe(info)
        elif qtype == "kind":
            q, a = rng.choice(["What kind of chart is this?", "What type of chart is this?"]), KIND_NAME[kind]
        elif qtype == "title":
            q, a = rng.choice(["What is the title of this chart?", "What is the chart's title?",
                               "What does the title say?"]), info["title"]
        elif qtype == "colour" and kind == "line":
            q, a = rng.choice(["What colour is the line?", "What color is the line?"]), info["colour"]
        elif qtype == "colour":
            i = rng.randrange(n)
            q = rng.choice([f"What colour is the {noun} labelled {words[i]}?", f"What is the colour of the {words[i]} {noun}?",
                            f"What color is the {words[i]} {noun}?"])
            a = info["colours"][i]
        elif qtype == "label_of_colour":
            i = rng.randrange(n)
            col = info["colours"][i]
            q = rng.choice([f"What is the label of the {col} {noun}?", f"Which label belongs to the {col} {noun}?",
                            f"What word is under the {col} {noun}?" if kind == "bar" else f"What is the {col} {noun} called?"])
            a = words[i]
        elif qtype == "colour_tallest":
            q, a = rng.choice(["What colour is the tallest bar?", "What color is the tallest bar?"]), \
                info["colours"][words.index(info["tallest"])]
        return q, a, f"{kind}_{qtype}"

    if kind == "pie":
        order, in_order = "clockwise from the top", info["clockwise"]
    else:
        order, in_order = "from left to right", words
    return image, with_reading(ask_questions(rng, options, questions, ask), reading,
                               f"Read the labels {order}.", in_order, f"{kind}_read_labels")


# ----------------------------------------------------------------------------------------------
# UI sketches

def wobbly(rng, c, a, b, pen, width, amount=1.2):
    (xa, ya), (xb, yb) = a, b
    length = math.hypot(xb - xa, yb - ya)
    k = max(2, int(length / 25))
    pts = []
    for i in range(k + 1):
        t = i / k
        j = 0 if i in (0, k) else amount
        pts.append((xa + (xb - xa) * t + rng.uniform(-j, j), ya + (yb - ya) * t + rng.uniform(-j, j)))
    # Hand-drawn strokes over- or undershoot a little at the ends.
    ox, oy = rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)
    pts[0] = (pts[0][0] + ox, pts[0][1] + oy)
    c.line(pts, pen, width)


def sketch_box(rng, c, box, pen, width):
    x0, y0, x1, y1 = box
    wobbly(rng, c, (x0, y0), (x1, y0), pen, width)
    wobbly(rng, c, (x1, y0), (x1, y1), pen, width)
    wobbly(rng, c, (x1, y1), (x0, y1), pen, width)
    wobbly(rng, c, (x0, y1), (x0, y0), pen, width)


def sketch_word(rng, c, xy, word, size, pen, anchor):
    c.text((xy[0] + rng.uniform(-1, 1), xy[1] + rng.uniform(-1, 1)), word, rng.choice(["sans", "bold"]), size, pen, anchor)


def ui_element_height(kind, rng):
    return {"text": rng.randint(18, 30), "image": rng.randint(34, 60), "button": rng.randint(22, 26),
            "input": rng.randint(22, 26)}[kind]


def ui_example(rng, level, scale, questions=1, reading=False):
    paper = (255, 255, 255) if rng.random() < 0.5 else jitter_colour(rng, (250, 248, 238), 6)
    pen = jitter_colour(rng, rng.choice([(30, 30, 30), (30, 40, 110), (60, 60, 60)]), 10)
    width = rng.choice([1.5, 2, 2.5])
    c = Canvas(scale, paper)
    y = 8 + rng.uniform(0, 4)
    html = []
    written = []  # the header, button and input words in page order
    header = None
    if rng.random() < 0.85:
        header = rng.choice(HEADER_WORDS)
        hsize = rng.randint(17, 21) if level < 2 else rng.randint(15, 20)
        h = hsize + 14
        if rng.random() < 0.6:
            sketch_box(rng, c, (8, y, SIZE - 8, y + h), pen, width)
        else:
            wobbly(rng, c, (8, y + h), (SIZE - 8, y + h), pen, width)
        centred = rng.random() < 0.5
        sketch_word(rng, c, (SIZE / 2 if centred else 16, y + h / 2), header, hsize, pen, "mm" if centred else "lm")
        html.append(f"<h1>{header}</h1>")
        written.append(header)
        y += h + 10
    two = rng.random() < 0.45
    columns = [(10, 122), (134, 246)] if two else [(10 + rng.uniform(0, 6), 246 - rng.uniform(0, 6))]
    per_column = []
    counts = {"button": 0, "image": 0, "input": 0, "text": 0}
    words = {"button": [], "input": []}
    maxn = 3 if two else 5
    for x0, x1 in columns:
        n = rng.randint(1, maxn) if level > 0 else rng.randint(1, 3)
        kinds = [rng.choice(["text", "text", "image", "button", "input"]) for _ in range(n)]
        heights = [ui_element_height(k, rng) for k in kinds]
        while sum(heights) + 10 * len(heights) > SIZE - y - 6 and len(kinds) > 1:
            kinds.pop()
            heights.pop()
        yy = y
        elems = []
        for kind, h in zip(kinds, heights):
            w = x1 - x0
            if kind == "text":
                lines = 2 if h < 24 else 3
                for li in range(lines):
                    ly = yy + 4 + li * (h - 6) / max(1, lines - 1) * 0.9
                    length = w * (rng.uniform(0.85, 1.0) if li < lines - 1 else rng.uniform(0.4, 0.8))
                    pts = [(x0 + t, ly + 1.5 * math.sin(t / rng.uniform(5, 9)) + rng.uniform(-0.6, 0.6))
                           for t in range(0, int(length), 4)]
                    c.line(pts, pen, max(1, width - 0.5))
                elems.append(P_TEXT)
            elif kind == "image":
                iw = w * rng.uniform(0.55, 1.0)
                box = (x0, yy, x0 + iw, yy + h)
                sketch_box(rng, c, box, pen, width)
                wobbly(rng, c, (box[0], box[1]), (box[2], box[3]), pen, max(1, width - 0.5))
                wobbly(rng, c, (box[2], box[1]), (box[0], box[3]), pen, max(1, width - 0.5))
                elems.append(P_IMG)
            elif kind == "button":
                word = rng.choice(BUTTON_WORDS)
                size = rng.randint(14, 16) if level < 2 else rng.randint(12, 16)
                tw, _ = c.text_size(word, "bold", size)
                bw = min(w, tw + rng.randint(16, 30))
                bx = x0 if rng.random() < 0.7 else x1 - bw
                sketch_box(rng, c, (bx, yy, bx + bw, yy + h), pen, width)
                if rng.random() < 0.5:  # a second outline or a shadow marks it as a button
                    wobbly(rng, c, (bx + 3, yy + h + 2), (bx + bw + 2, yy + h + 2), pen, width)
                    wobbly(rng, c, (bx + bw + 2, yy + 3), (bx + bw + 2, yy + h + 2), pen, width)
                sketch_word(rng, c, (bx + bw / 2, yy + h / 2), word, size, pen, "mm")
                elems.append(f"<button>{word}</button>")
                words["button"].append(word)
                written.append(word)
            else:  # input
                word = rng.choice(INPUT_WORDS)
                size = rng.randint(13, 15) if level < 2 else rng.randint(11, 15)
                iw = w * rng.uniform(0.75, 1.0)
                sketch_box(rng, c, (x0, yy, x0 + iw, yy + h), pen, max(1, width - 0.5))
                grey = tuple(min(255, v + 90) for v in pen)
                sketch_word(rng, c, (x0 + 6, yy + h / 2), word, size, grey, "lm")
                elems.append(f'<input placeholder="{word}">')
                words["input"].append(word)
                written.append(word)
            counts[kind] += 1
            yy += h + 10 + rng.uniform(-2, 3)
        per_column.append(elems)
    if two:
        body = ['<div style="display:flex">']
        for elems in per_column:
            body += ['<div style="flex:1">'] + elems + ["</div>"]
        body.append("</div>")
    else:
        body = per_column[0]
    page = "\n".join([HTML_HEAD] + html + body + [HTML_TAIL])
    options = [("html", 6 if level > 0 else 3), ("count_buttons", 0.5), ("count_images", 0.5), ("columns", 0.5)]
    if header:
        options.append(("header", 1.5 if level > 0 else 3))
    if len(words["button"]) == 1:
        options.append(("button_word", 1.5 if level > 0 else 3))
    if len(words["input"]) == 1:
        options.append(("input_word", 1 if level > 0 else 2))
    def ask(qtype):
        if qtype == "html":
            q = rng.choice(["Turn this sketch into HTML.", "Write the HTML for this wireframe.",
                            "Convert this sketch to a web page.", "Generate HTML for this UI sketch.",
                            "Write HTML code for this sketch."])
            a = page
        elif qtype == "count_buttons":
            q, a = rng.choice(["How many buttons are there?", "How many buttons does the sketch have?"]), str(counts["button"])
        elif qtype == "count_images":
            q, a = rng.choice(["How many images are there?", "How many image placeholders are there?"]), str(counts["image"])
        elif qtype == "columns":
            q, a = rng.choice(["How many columns does the layout have?", "How many columns are there?"]), "2" if two else "1"
        elif qtype == "header":
            q, a = rng.choice(["What is written in the header?", "What does the header say?", "What is the page title?"]), header
        elif qtype == "button_word":
            q, a = rng.choice(["What does the button say?", "What is written on the button?", "What is the button's label?"]), \
                words["button"][0]
        else:
            q, a = rng.choice(["What is the placeholder of the input?", "What does the input field say?",
                               "What is written in the text field?"]), words["input"][0]
        return q, a, f"ui_{qtype}"

    return c.image, with_reading(ask_questions(rng, options, questions, ask), reading, "Read the words in the sketch.",
                                 written, "ui_read_words")


# ----------------------------------------------------------------------------------------------
# Scenes

def draw_shape(c, shape, colour, cx, cy, r, fill):
    c.drawn.append((shape, (cx - r, cy - r, cx + r, cy + r)))
    c.paint(colour, (cx - r, cy - r, cx + r, cy + r))
    if shape == "circle":
        c.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif shape == "square":
        c.rect((cx - r * 0.9, cy - r * 0.9, cx + r * 0.9, cy + r * 0.9), fill=fill)
    elif shape == "triangle":
        c.polygon([(cx, cy - r), (cx + r * 0.95, cy + r * 0.75), (cx - r * 0.95, cy + r * 0.75)], fill=fill)
    else:
        pts = []
        for i in range(10):
            rr = r if i % 2 == 0 else r * 0.45
            a = -math.pi / 2 + i * math.pi / 5
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        c.polygon(pts, fill=fill)


def place(rng, objects, r, tries=200):
    for _ in range(tries):
        x, y = rng.uniform(r + 6, SIZE - r - 6), rng.uniform(r + 6, SIZE - r - 6)
        if all(math.hypot(x - o["x"], y - o["y"]) > r + o["r"] + 6 for o in objects):
            return x, y
    return None


def article(word):
    return "an" if word[0] in "aeiou" else "a"


def phrase(o):
    return f"{article(o['colour'])} {o['colour']} {o['shape']}"


def scene_example(rng, level, scale, questions=1, reading=False):
    background = (255, 255, 255) if rng.random() < 0.6 else jitter_colour(rng, (235, 235, 230), 15)
    c = Canvas(scale, background)
    captioned = rng.random() < 0.5
    objects = []
    if captioned:
        n = rng.choice([1, 2, 2, 2, 3, 3])
        pairs = choose(rng, [(col, sh) for col in SCENE_COLOURS for sh in SHAPES], n)
        if n == 1:
            r = rng.uniform(14, 40)
            objects.append(dict(colour=pairs[0][0], shape=pairs[0][1], r=r, x=rng.uniform(r + 10, SIZE - r - 10),
                                y=rng.uniform(r + 10, SIZE - r - 10)))
            caption = f"{phrase(objects[0]).capitalize()}."
        elif n == 2:
            r1, r2 = rng.uniform(14, 36), rng.uniform(14, 36)
            vertical = rng.random() < 0.5
            # First object top / left, second bottom / right; the other axis differs by less than the gap.
            while True:
                a = rng.uniform(r1 + 8, SIZE - r1 - 8)
                b = rng.uniform(r2 + 8, SIZE - r2 - 8)
                if b - a < r1 + r2 + 16:
                    continue
                oa = rng.uniform(45, SIZE - 45)
                ob = oa + rng.uniform(-0.4, 0.4) * (b - a)
                ob = min(max(ob, r2 + 8), SIZE - r2 - 8)
                break
            if vertical:
                objects = [dict(colour=pairs[0][0], shape=pairs[0][1], r=r1, x=oa, y=a),
                           dict(colour=pairs[1][0], shape=pairs[1][1], r=r2, x=ob, y=b)]
                rel = "above"
            else:
                objects = [dict(colour=pairs[0][0], shape=pairs[0][1], r=r1, x=a, y=oa),
                           dict(colour=pairs[1][0], shape=pairs[1][1], r=r2, x=b, y=ob)]
                rel = "to the left of"
            caption = f"{phrase(objects[0]).capitalize()} {rel} {phrase(objects[1])}."
        else:
            xs = sorted(rng.sample(range(30, SIZE - 30, 8), 3))
            while xs[1] - xs[0] < 60 or xs[2] - xs[1] < 60:
                xs = sorted(rng.sample(range(30, SIZE - 30, 8), 3))
            for (col, sh), x in zip(pairs, xs):
                r = rng.uniform(14, 26)
                objects.append(dict(colour=col, shape=sh, r=r, x=x, y=rng.uniform(r + 10, SIZE - r - 10)))
            caption = f"{phrase(objects[0]).capitalize()}, {phrase(objects[1])} and {phrase(objects[2])}."
    else:
        n = rng.randint(1, 5) if level == 0 else rng.randint(1, 8)
        for _ in range(n):
            r = rng.uniform(10, 26)
            xy = place(rng, objects, r)
            if xy is None:
                continue
            objects.append(dict(colour=rng.choice(SCENE_COLOURS), shape=rng.choice(SHAPES), r=r, x=xy[0], y=xy[1]))
        caption = None
    for o in objects:
        draw_shape(c, o["shape"], o["colour"], o["x"], o["y"], o["r"], jitter_colour(rng, COLOURS[o["colour"]], 12))
    n = len(objects)
    options = [("count", 2), ("count_shape", 2), ("count_colour", 2)]
    if caption:
        options.append(("caption", 8))
    shape_counts = {s: sum(o["shape"] == s for o in objects) for s in SHAPES}
    colour_counts = {k: sum(o["colour"] == k for o in objects) for k in SCENE_COLOURS}
    unique_shapes = [s for s in SHAPES if shape_counts[s] == 1]
    unique_colours = [k for k in SCENE_COLOURS if colour_counts[k] == 1]
    if unique_shapes:
        options.append(("colour_of", 1.5))
    if unique_colours:
        options.append(("shape_of", 1.5))
    def ask(qtype):
        if qtype == "caption":
            q, a = rng.choice(["Describe the image.", "What is in this picture?", "Caption this image.",
                               "Write a caption for this image.", "What do you see?"]), caption
        elif qtype == "count":
            q, a = rng.choice(["How many shapes are there?", "How many objects are in the image?", "Count the shapes."]), str(n)
        elif qtype == "count_shape":
            s = rng.choice(SHAPES if rng.random() < 0.3 else [o["shape"] for o in objects] or SHAPES)
            q, a = f"How many {s}s are there?", str(shape_counts[s])
        elif qtype == "count_colour":
            k = rng.choice(SCENE_COLOURS if rng.random() < 0.3 else [o["colour"] for o in objects] or SCENE_COLOURS)
            q, a = rng.choice([f"How many {k} shapes are there?", f"How many shapes are {k}?"]), str(colour_counts[k])
        elif qtype == "colour_of":
            s = rng.choice(unique_shapes)
            q = rng.choice([f"What colour is the {s}?", f"What color is the {s}?"])
            a = next(o["colour"] for o in objects if o["shape"] == s)
        else:
            k = rng.choice(unique_colours)
            q = rng.choice([f"What shape is the {k} object?", f"Which shape is {k}?"])
            a = next(o["shape"] for o in objects if o["colour"] == k)
        return q, a, f"scene_{qtype}"

    return c.image, with_reading(ask_questions(rng, options, questions, ask), reading, "List the shapes from left to right.",
                                 [phrase(o) for o in sorted(objects, key=lambda o: o["x"])], "scene_read_shapes")


# ----------------------------------------------------------------------------------------------

TASKS = {"charts": chart_example, "ui": ui_example, "scenes": scene_example}
TASK_WEIGHTS = {"charts": 0.45, "ui": 0.33, "scenes": 0.22}


def example(seed, index, level=2, task=None, scale=None, questions=1, reading=False, chart_styles=0.0):
    """One example: dict(image, question, answer, task, qtype, level, turns, drawn, painted).
    Deterministic in its arguments. `turns` holds up to `questions` (question, answer, qtype) about
    the image, of distinct types; question, answer and qtype are the first, which does not depend
    on `questions`. `reading` adds a last turn listing every label, word or shape (`with_reading`).
    `drawn`: every text and shape drawn and where (Canvas.drawn); `painted`: every area of a named
    colour and where (Canvas.painted). `chart_styles`: the share of charts drawn in a free style
    (styled_bars, styled_line, styled_pie); its draws come from a generator of their own, so 0
    leaves every example as it was before the option existed."""
    rng = random.Random(f"{seed}:{index}:{level}:{task}")
    if task is None:
        task = rng.choices(list(TASK_WEIGHTS), list(TASK_WEIGHTS.values()))[0]
    if scale is None:
        scale = 1.0 if rng.random() < 0.75 else rng.choice([1.5, 2.0])
    style = random.Random(f"{seed}:{index}:{level}:{task}:style") if task == "charts" and chart_styles else None
    if style and style.random() < chart_styles:
        image, turns = chart_example(rng, level, scale, questions, reading, style)
    else:
        image, turns = TASKS[task](rng, level, scale, questions, reading)
    q, a, qtype = turns[0]
    return dict(image=image, question=q, answer=a, task=task, qtype=qtype, level=level, turns=turns,
                drawn=image.info.pop("drawn", []), painted=image.info.pop("painted", []))


def corpus_texts(seed, count):
    """Question and answer texts (no images needed for the tokenizer, but the generator draws anyway)."""
    for i in range(count):
        ex = example(seed, i, level=random.Random(i).choice([0, 1, 2]), scale=0.25)
        yield ex["question"]
        yield " " + ex["answer"]


def readme_samples(out):
    out.mkdir(parents=True, exist_ok=True)
    # A bar chart and a sketch at 512 px (the processor resizes to 256), chosen for a clear layout.
    for index in range(1000):
        rng = random.Random(f"readme-chart:{index}")
        image, info = bar_chart(rng, 2, 2.0)
        if info["n"] == 5 and info["title"] and len(set(info["colours"])) == 5:
            image.save(out / "chart.png")
            (out / "chart.json").write_text(json.dumps(info, indent=1) + "\n")
            break
    for index in range(1000):
        rng = random.Random(f"readme-sketch:{index}")
        image, [(q, a, qtype)] = ui_example(rng, 2, 2.0)
        if qtype == "ui_html" and "display:flex" in a and "<button>" in a and "<h1>" in a and "<img" in a:
            image.save(out / "sketch.png")
            (out / "sketch.html").write_text(a + "\n")
            break


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--level", type=int, default=2)
    parser.add_argument("--task", choices=list(TASKS))
    parser.add_argument("--readme-samples", type=Path)
    args = parser.parse_args()
    if args.readme_samples:
        readme_samples(args.readme_samples)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "examples.jsonl", "w") as f:
            for i in range(args.count):
                ex = example(args.seed, i, args.level, args.task)
                name = f"{i:04d}-{ex['qtype']}.png"
                ex["image"].save(args.out / name)
                f.write(json.dumps({"image": name, **{k: v for k, v in ex.items() if k != "image"}}) + "\n")


if __name__ == "__main__":
    main()
