"""Screenshots of report.html in headless Chromium, to look at how it renders.

    python bench/report_screenshot.py runs/demo/report.html --out runs/shots
    python bench/report_screenshot.py runs/demo/report.html --out runs/shots --width 800

Writes ``<stem>-<width>x<height>.png`` per size (a tall page shows the reasons table, the record
browser and the clusters) and prints, per file, the size and how much of the image is not blank
(a page whose script failed renders its record list empty). Needs the ``chromium`` Debian
package (``apt-get install chromium``) or ``CHROMIUM=/path/to/chrome``; exits 2 naming what to
install when none is found. Chromium runs with no network (``--no-proxy-server``, the page's own
Content-Security-Policy forbids loading anything) in a throwaway profile.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SIZES = ((1280, 3000), (800, 2200))
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """The Chromium to run: $CHROMIUM, else the first of CANDIDATES on PATH."""
    env = os.environ.get("CHROMIUM")
    if env:
        return env if Path(env).exists() or shutil.which(env) else None
    return next((p for name in CANDIDATES if (p := shutil.which(name))), None)


def _run(chromium: str, page: Path, args: list[str], timeout: float) -> str:
    with tempfile.TemporaryDirectory(prefix="report-shot-") as profile:
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",  # root in a container has no user namespace for the sandbox
            "--disable-gpu",
            "--no-proxy-server",
            "--hide-scrollbars",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=3000",  # let the inline script render the record list
            *args,
            page.resolve().as_uri(),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout


def screenshot(
    chromium: str, page: Path, png: Path, width: int, height: int, timeout: float = 90
) -> None:
    """One screenshot of ``page`` at ``width`` x ``height`` into ``png``."""
    _run(
        chromium,
        page,
        [f"--window-size={width},{height}", f"--screenshot={png.resolve()}"],
        timeout,
    )
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot {png}")


def dump_dom(chromium: str, page: Path, timeout: float = 90) -> str:
    """The page's DOM as HTML after its script ran (what a reader's browser shows)."""
    return _run(chromium, page, ["--dump-dom"], timeout)


def ink(png: Path) -> float:
    """The share of pixels that are not (near) white: 0 for a blank page."""
    import matplotlib.image as mpimg

    pixels = mpimg.imread(png)[..., :3]
    return float((pixels.min(axis=-1) < 0.94).mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pages", nargs="+", type=Path, help="report.html files")
    ap.add_argument("--out", type=Path, required=True, help="directory for the PNGs")
    ap.add_argument("--width", type=int, help="one width instead of the default sizes")
    ap.add_argument("--height", type=int, default=3000)
    args = ap.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print(
            "no Chromium found: apt-get install chromium (or set CHROMIUM=/path/to/chrome)",
            file=sys.stderr,
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = ((args.width, args.height),) if args.width else SIZES
    for page in args.pages:
        stem = page.parent.name or page.stem
        for width, height in sizes:
            png = args.out / f"{stem}-{width}x{height}.png"
            screenshot(chromium, page, png, width, height)
            print(f"{png}  {png.stat().st_size / 1024:,.0f} KiB  {100 * ink(png):.1f}% ink")
    return 0


if __name__ == "__main__":
    sys.exit(main())
