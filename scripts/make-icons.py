"""Draw Fluentio's icons and social card into assets/ (run once; the PNGs are committed).

Usage: .venv/bin/python scripts/make-icons.py   (needs Pillow from requirements-dev.txt)
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ASSETS = Path(__file__).resolve().parent.parent / "assets"
INDIGO = (62, 99, 221)
WHITE = (255, 255, 255)


def draw_mark(size: int, *, maskable: bool) -> Image.Image:
    """A white speech bubble with sound bars on indigo; maskable icons keep a safe zone."""
    img = Image.new("RGBA", (size, size), (*INDIGO, 255) if maskable else (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if not maskable:
        d.rounded_rectangle([0, 0, size - 1, size - 1], radius=size // 5, fill=INDIGO)
    scale = 0.6 if maskable else 0.8  # maskable: content within the central 80% circle
    pad = size * (1 - scale) / 2
    s = size * scale
    bubble = [pad + s * 0.08, pad + s * 0.12, pad + s * 0.92, pad + s * 0.74]
    d.rounded_rectangle(bubble, radius=int(s * 0.16), fill=WHITE)
    tail = [
        (pad + s * 0.26, pad + s * 0.70),
        (pad + s * 0.22, pad + s * 0.92),
        (pad + s * 0.46, pad + s * 0.72),
    ]
    d.polygon(tail, fill=WHITE)
    heights = [0.16, 0.32, 0.22, 0.36, 0.18]
    bar_w = s * 0.07
    cx0 = pad + s * 0.5 - 2 * s * 0.12
    cy = pad + s * 0.43
    for i, h in enumerate(heights):
        x = cx0 + i * s * 0.12
        d.rounded_rectangle(
            [x - bar_w / 2, cy - s * h / 2, x + bar_w / 2, cy + s * h / 2], radius=int(bar_w / 2), fill=INDIGO
        )
    return img


def social_card() -> Image.Image:
    img = Image.new("RGB", (1200, 630), INDIGO)
    img.paste(draw_mark(360, maskable=False), (90, 135), draw_mark(360, maskable=False))
    d = ImageDraw.Draw(img)
    try:
        big = ImageFont.truetype("DejaVuSans-Bold.ttf", 96)
        small = ImageFont.truetype("DejaVuSans.ttf", 40)
    except OSError:
        big = small = ImageFont.load_default()
    d.text((500, 200), "Fluentio", fill=WHITE, font=big)
    d.text((500, 330), "Speak English with a live", fill=WHITE, font=small)
    d.text((500, 385), "AI tutor you can interrupt.", fill=WHITE, font=small)
    return img


def main() -> None:
    icons = ASSETS / "icons"
    icons.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw_mark(size, maskable=False).save(icons / f"icon-{size}.png", optimize=True)
    draw_mark(512, maskable=True).save(icons / "icon-maskable-512.png", optimize=True)
    draw_mark(180, maskable=True).convert("RGB").save(icons / "apple-touch-icon.png", optimize=True)
    social_card().save(icons / "social-card.png", optimize=True)
    draw_mark(64, maskable=False).save(ASSETS / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])


if __name__ == "__main__":
    main()
