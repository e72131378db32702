"""A page as headless Chromium renders it: what its images decoded to and the text it shows.

The page is copied with a small script added at its end that, once everything loaded,
writes what the browser sees into the DOM (each image's alt text and decoded size, the
text of every ``<pre>``, whether any of them overflows its box; an image counts as drawn when it
decodes and its bottom quarter, where the axis labels are, has ink), and Chromium's
``--dump-dom`` prints that DOM. Without a Chromium, ``find_chromium`` returns None and the
test that needs it skips, saying so.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

CANDIDATES = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome", "headless_shell")
MISSING = ("no headless Chromium found (chromium-headless-shell, chromium or google-chrome on PATH, "
           "or AUTOGRADER_CHROMIUM): the HTML-level checks ran, the rendered ones did not")
_PROBE = """<script>
function inked(image) {  // dark pixels in the image's bottom quarter (axis labels): 0 if it did not decode whole
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
  if (!canvas.width || !canvas.height) return 0;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const top = Math.floor(canvas.height * 0.75);
  const data = context.getImageData(0, top, canvas.width, canvas.height - top).data;
  let count = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 200 && data[i] + data[i + 1] + data[i + 2] < 300) count++;
  return count;
}
addEventListener("load", () => {  // synchronous: an async step may outlast the dump
  const images = [...document.images];
  const decoded = images.map(i => i.complete && i.naturalWidth > 0);
  const seen = {images: images.map((i, n) => ({alt: i.alt, width: i.naturalWidth, height: i.naturalHeight,
                                              decoded: decoded[n], inked: decoded[n] ? inked(i) : 0,
                                              shown: i.getBoundingClientRect().width})),
                pre: [...document.querySelectorAll("pre")].map(p => ({text: p.innerText,
                                                                   overflows: p.scrollWidth > p.clientWidth + 1})),
                text: document.body.innerText};
  const out = document.createElement("output"); out.id = "seen"; out.textContent = JSON.stringify(seen);
  document.body.appendChild(out);
});</script>"""
_SEEN = re.compile(r'<output id="seen">(.*?)</output>', re.DOTALL)


def find_chromium() -> str | None:
    named = os.environ.get("AUTOGRADER_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


def rendered(chromium: str, page: Path, scratch: Path, screenshot: Path | None = None) -> dict:
    """What Chromium showed of ``page``: {"images": [...], "pre": [...], "text": str}."""
    probe = scratch / page.name
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
               "--window-size=1200,900"]
    for _attempt in range(2):  # now and then the shell dumps before the load event: once more
        done = subprocess.run([*command, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=60)
        found = _SEEN.search(done.stdout)
        if found is not None:
            break
    if found is None:
        raise AssertionError(f"Chromium showed no page: exit {done.returncode}, {done.stderr[-2000:]}")
    if screenshot is not None:
        subprocess.run([*command, "--window-size=1200,4000", f"--screenshot={screenshot}", page.as_uri()],
                       capture_output=True, timeout=60, cwd=scratch)
    import html

    return json.loads(html.unescape(found.group(1)))
