"""Docs written for partners (the partner guide, the agents guide, the SDK and its README, the
example app) refer to the partner guide's own sections, never to documents partners do not
have: the specification's sections or the seed document."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTNER_FILES = sorted(
    [
        ROOT / "docs" / "partner-guide.md",
        ROOT / "docs" / "connect-agents.md",
        ROOT / "client" / "README.md",
        *(ROOT / "client" / "src").rglob("*.py"),
        *(ROOT / "examples").rglob("*.py"),
        *(ROOT / "examples").rglob("*.md"),
        *(ROOT / "examples").rglob("*.html"),
    ]
)
INTERNAL = re.compile(r"\bSPEC\b|SPEC\.md|seed document|DESIGN\.md", re.IGNORECASE)
GUIDE_LINK = re.compile(r"partner-guide\.md#([a-z0-9-]+)")


@pytest.mark.parametrize("path", PARTNER_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_partner_docs_do_not_cite_internal_documents(path: Path) -> None:
    found = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if INTERNAL.search(line)
    ]
    assert found == []


def test_links_into_the_partner_guide_name_its_sections() -> None:
    guide = (ROOT / "docs" / "partner-guide.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", guide, re.MULTILINE)
    }
    linked = {anchor for path in PARTNER_FILES for anchor in GUIDE_LINK.findall(path.read_text())}
    assert linked, "no links into the partner guide"
    assert linked <= anchors
