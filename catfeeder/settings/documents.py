"""The files made from the declaration of the variables: `.env.example` and the configuration tables.

`manage.py settings --write-docs` (or `make settings-docs`) writes them; a test fails when one of
them differs from what the declaration makes. docs/configuration.md gets the full table and the
README the short one, each between its pair of markers; the rest of those files is left alone.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from itertools import groupby
from pathlib import Path

from catfeeder.settings.declaration import Variable, env_quote, env_text
from catfeeder.settings.variables import VARIABLES

ENV_EXAMPLE = Path(".env.example")
CONFIGURATION = Path("docs/configuration.md")
README = Path("README.md")
FULL_MARKERS = ("<!-- settings-table:start -->", "<!-- settings-table:end -->")
ESSENTIAL_MARKERS = ("<!-- settings-essential:start -->", "<!-- settings-essential:end -->")
REGENERATE = "make settings-docs"  # or: python manage.py settings --write-docs

ENV_EXAMPLE_HEAD = f"""\
# Every environment variable Cat Feeder reads. Made from catfeeder/settings/variables.py by
# `{REGENERATE}`: change the declaration there, not this file.
#
# Copy to .env (or set in the environment; the environment wins). Every variable is optional in
# development; with DJANGO_DEBUG=false, DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS are required
# and start-up names any that is missing. A line left commented keeps the default.
"""


def env_example(variables: Iterable[Variable] = VARIABLES) -> str:
    parts = [ENV_EXAMPLE_HEAD]
    for group, members in groupby(variables, key=lambda v: v.group):
        parts.append(f"\n# --- {group} " + "-" * max(3, 92 - len(group)) + "\n")
        for variable in members:
            parts.append(_comment(f"{variable.doc} ({_env_note(variable)})"))
            if variable.essential and variable.default is not None:
                parts.append(f"{variable.name}={env_quote(env_text(variable.default))}\n")
            else:
                parts.append(f"# {variable.name}={env_quote(variable.example or env_text(variable.default))}\n")
    return "".join(parts)


def _comment(text: str) -> str:
    return textwrap.fill(text, width=100, initial_indent="# ", subsequent_indent="#   ", break_on_hyphens=False) + "\n"


def _env_note(variable: Variable) -> str:
    secret = "secret; " if variable.secret else ""
    return f"{variable.type_text}; {secret}default: {variable.default_text}"


def full_table(variables: Iterable[Variable] = VARIABLES) -> str:
    """One table per group: every variable, its type, default, secrecy and meaning."""
    parts = []
    for group, members in groupby(variables, key=lambda v: v.group):
        parts.append(f"\n### {group}\n\n| variable | type | default | secret | meaning |\n|---|---|---|---|---|\n")
        for v in members:
            cells = (f"`{v.name}`", _type_cell(v), _default_cell(v), "yes" if v.secret else "", _cell(v.doc))
            parts.append("| " + " | ".join(cells) + " |\n")
    return "".join(parts) + "\n"


def essential_table(variables: Iterable[Variable] = VARIABLES) -> str:
    """The few variables a newcomer sets first."""
    rows = [f"| `{v.name}` | {_default_cell(v)} | {_cell(v.doc)} |\n" for v in variables if v.essential]
    return "\n| variable | default | meaning |\n|---|---|---|\n" + "".join(rows) + "\n"


def _type_cell(variable: Variable) -> str:
    if variable.choices:
        return " \\| ".join(f"`{choice}`" for choice in variable.choices)
    return variable.type_text


def _default_cell(variable: Variable) -> str:
    if variable.shown:
        return _cell(variable.shown)  # words, not a value
    text = env_text(variable.default)
    return f"`{text}`" if text else "empty"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def between_markers(text: str, markers: tuple[str, str], body: str, *, where: Path) -> str:
    """`text` with what lies between the two markers replaced by `body`."""
    start, end = markers
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"{where} needs the markers {start} and {end}, once each and in that order")
    head, rest = text.split(start)
    return head + start + "\n\n" + body.strip("\n") + "\n\n" + end + rest.split(end, 1)[1]


def documents_render(base_dir: Path) -> dict[Path, str]:
    """Each generated file's new text, by path: whole for .env.example, the marked block for the others."""
    documents = {base_dir / ENV_EXAMPLE: env_example()}
    for path, markers, body in (
        (CONFIGURATION, FULL_MARKERS, full_table()),
        (README, ESSENTIAL_MARKERS, essential_table()),
    ):
        text = (base_dir / path).read_text(encoding="utf-8")
        documents[base_dir / path] = between_markers(text, markers, body, where=path)
    return documents


def documents_stale(base_dir: Path) -> list[Path]:
    """The generated files that differ from what the declaration makes."""
    return [
        path
        for path, text in documents_render(base_dir).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def documents_write(base_dir: Path) -> list[Path]:
    """Write the files that differ; return them."""
    stale = documents_stale(base_dir)
    rendered = documents_render(base_dir)
    for path in stale:
        path.write_text(rendered[path], encoding="utf-8")
    return stale
