"""The web app's icons (scoring/webapp/static/icons/): a red flag over 五比五赛 on the app's blue.

    .venv/bin/python docs/make_app_icons.py

Drawn with Pillow in WenQuanYi Micro Hei (Debian's fonts-wqy-microhei); the PNGs are committed, so
nothing here runs at start-up. The maskable icon keeps its drawing inside the central safe zone.
"""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
OUT = Path(__file__).resolve().parent.parent / "scoring" / "webapp" / "static" / "icons"
BLUE, RED, POLE, GOLD = "#0b3a82", "#e8222b", "#f2f2f2", "#ffd34d"


def icon(size: int, maskable: bool) -> Image.Image:
    if maskable:  # the platform cuts its own shape: fill the whole square
        image = Image.new("RGB", (size, size), BLUE)
        draw = ImageDraw.Draw(image)
    else:
        image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        draw.rounded_rectangle([0, 0, size - 1, size - 1], radius=size // 6, fill=BLUE)
    safe = size * (0.62 if maskable else 0.8)
    left = top = (size - safe) / 2
    pole_x, pole_y = left + safe * 0.3, top + safe * 0.06
    draw.rectangle([pole_x, pole_y, pole_x + safe * 0.04, pole_y + safe * 0.5], fill=POLE)
    draw.polygon([(pole_x + safe * 0.04, pole_y), (pole_x + safe * 0.42, pole_y + safe * 0.12),
                  (pole_x + safe * 0.04, pole_y + safe * 0.26)], fill=RED)
    font = ImageFont.truetype(FONT, int(safe * 0.24))
    text = "五比五赛"
    draw.text(((size - draw.textlength(text, font=font)) / 2, top + safe * 0.66), text, font=font, fill=GOLD)
    return image


if __name__ == "__main__":
    icon(192, False).save(OUT / "icon-192.png", optimize=True)
    icon(512, False).save(OUT / "icon-512.png", optimize=True)
    icon(512, True).save(OUT / "icon-maskable-512.png", optimize=True)
