"""The README and the manual in docs/: short enough to read, and every link lands in the repository.

A clone is all a reader has, so a link to a file outside it, or to the web,
is a link that breaks. External projects are named in plain text instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAX_README_LINES = 250

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[`~]*[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]*)>")
HTML_ATTRIBUTE = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE)
BARE_URL = re.compile(r"(?:\bhttps?://|\bwww\.)[^\s)>\]]*", re.IGNORECASE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def manual() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def prose(text: str) -> str:
    """The text a reader sees as prose: code blocks, code spans and comments are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", HTML_COMMENT.sub("", text)))


def links(text: str) -> list[str]:
    body = prose(text)
    found = [*INLINE_LINK.findall(body), *REFERENCE_DEFINITION.findall(body), *AUTOLINK.findall(body)]
    found += HTML_ATTRIBUTE.findall(body)
    # A bare address outside code is made a link by GitHub's renderer, so it counts as one.
    found += BARE_URL.findall(INLINE_LINK.sub("", body))
    return found


def problem(page: Path, target: str) -> str | None:
    """Why this link breaks in a clone, or None when it lands on a file of the repository."""
    if SCHEME.match(target) or target.lower().startswith(("www.", "//")):
        return "leaves the repository (name the project in plain text instead)"
    path = target.split("#", 1)[0].split("?", 1)[0]
    if not path:
        return None if target.startswith("#") else "is empty"
    if path.startswith("/"):
        return "is absolute (make it relative to the page)"
    resolved = (page.parent / path).resolve()
    if not resolved.is_relative_to(ROOT):
        return "leaves the repository"
    if not resolved.exists():
        return "points at a file that does not exist"
    return None


def test_the_readme_stays_short() -> None:
    lines = README.read_text().count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move the detail into docs/"


def test_the_manual_has_pages_beyond_the_readme() -> None:
    assert len(manual()) > 1, "docs/*.md is empty"


@pytest.mark.parametrize("page", manual(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_lands_on_a_file_of_the_repository(page: Path) -> None:
    broken = [f"{target!r} {why}" for target in links(page.read_text()) if (why := problem(page, target))]
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


BROKEN = [
    "[site](https://example.com)",
    "<http://example.com>",
    "see www.example.com for more",
    "plain https://example.com/page in prose",
    '<a href="http://example.com">site</a>',
    "[ref]: https://example.com/ref",
    "[design](../../shared/ARCHITECTURE.md)",
    "[gone](missing.md)",
    "[root](/README.md)",
]
FINE = ["[layers](architecture.md#layers)", "[home](../README.md)", "[top](#top)", "![shot](screenshots/)"]
IN_CODE = ["`https://in-code.example.com`", "```\nhttps://in-a-block.example.com\n```", "<!-- http://x.example -->"]


@pytest.mark.parametrize("text", BROKEN)
def test_a_link_to_the_web_or_out_of_the_repository_is_caught(text: str) -> None:
    page = ROOT / "docs" / "example.md"
    targets = links(text)
    assert targets
    assert all(problem(page, target) for target in targets)


@pytest.mark.parametrize("text", FINE)
def test_a_link_to_a_file_of_the_repository_passes(text: str) -> None:
    page = ROOT / "docs" / "example.md"
    targets = links(text)
    assert targets
    assert not [target for target in targets if problem(page, target)]


@pytest.mark.parametrize("text", IN_CODE)
def test_an_address_in_code_is_not_a_link(text: str) -> None:
    assert links(text) == []


def quick_start_commands() -> list[str]:
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = FENCE.search(section)
    assert block, "the README's Quick start has no command block"
    lines = [line.split("#", 1)[0].strip() for line in block.group(0).splitlines()[1:-1]]
    return [line for line in lines if line]


def make_recipe(target: str) -> str:
    makefile = (ROOT / "Makefile").read_text()
    rule = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)*)", makefile, re.MULTILINE)
    assert rule, f"the Makefile has no target {target!r}"
    return rule.group(1)


def test_the_readme_gives_two_commands_and_both_are_makefile_targets() -> None:
    commands = quick_start_commands()
    assert commands == ["make run", "make test"]
    for command in commands:
        make_recipe(command.split()[1])


def test_make_run_starts_the_whole_system_and_make_test_runs_the_suite() -> None:
    run = make_recipe("run")
    assert "manage.py migrate" in run
    assert "manage.py serve" in run
    assert "pytest" in make_recipe("test")
