"""README's screenshots: every image or link into docs/screenshots/ names a file that
`make screenshots` (tests/e2e/shots_pages.py) writes and that is in the tree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"


def test_readme_names_only_screenshots_that_exist_and_are_written():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\]\((docs/screenshots/[^)\s]+)\)", readme))
    assert named, "README shows no screenshot"
    missing = sorted(n for n in named if not (ROOT / n).is_file())
    assert not missing, f"README names screenshots that are not in docs/screenshots/: {missing}"
    written = (ROOT / "tests" / "e2e" / "shots_pages.py").read_text(encoding="utf-8")
    unwritten = sorted(n for n in named if f'"{Path(n).stem}"' not in written)
    assert not unwritten, f"make screenshots does not write: {unwritten}"
