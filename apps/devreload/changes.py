"""What a changed file means for the pages open in a browser.

A stylesheet under a static folder is swapped in place; any other static file
or a template reloads the page; Python is left to the server's own reloader
(the page sees the new server when it reconnects). Files elsewhere mean
nothing to the page unless a listener route claims them.
"""

from __future__ import annotations

import enum
import site
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.template.autoreload import get_template_directories


class Kind(enum.Enum):
    STYLESHEET = "stylesheet"  # swap the <link> in place
    RELOAD = "reload"  # static file other than CSS: reload the page
    TEMPLATE = "template"  # clear template caches, then reload
    RESTART = "restart"  # Python: the server's reloader restarts it
    IGNORE = "ignore"


@dataclass(frozen=True)
class Change:
    path: Path
    kind: Kind
    url: str = ""  # the stylesheet's URL path, for STYLESHEET


@dataclass(frozen=True)
class StaticRoot:
    path: Path
    url: str  # URL path prefix of the files under it, ending with "/"


@dataclass(frozen=True)
class Layout:
    """Where the project keeps static files and templates."""

    static_roots: tuple[StaticRoot, ...]
    template_dirs: tuple[Path, ...]

    @classmethod
    def from_settings(cls) -> Layout:
        static_url = urlsplit(settings.STATIC_URL or "/static/").path
        static_url = static_url if static_url.endswith("/") else static_url + "/"
        roots = []
        for finder in get_finders():
            # FileSystemFinder and AppDirectoriesFinder keep one storage per folder.
            for storage in getattr(finder, "storages", {}).values():
                prefix = getattr(storage, "prefix", None)
                url = static_url + (f"{prefix.strip('/')}/" if prefix else "")
                roots.append(StaticRoot(Path(storage.location).resolve(), url))
        templates = [Path(d).resolve() for d in get_template_directories()]
        return cls(
            static_roots=tuple(r for r in roots if not is_installed_code(r.path)),
            template_dirs=tuple(sorted(d for d in templates if not is_installed_code(d))),
        )

    def folders(self) -> list[Path]:
        return [r.path for r in self.static_roots] + list(self.template_dirs)

    def classify(self, path: Path) -> Change:
        if path.suffix == ".py":
            return Change(path, Kind.RESTART)
        for root in self.static_roots:
            if path.is_relative_to(root.path):
                # An editor's save may delete and recreate the file: what
                # counts is whether it exists once the burst is over.
                if path.suffix == ".css" and path.exists():
                    return Change(path, Kind.STYLESHEET, root.url + path.relative_to(root.path).as_posix())
                return Change(path, Kind.RELOAD)
        if any(path.is_relative_to(d) for d in self.template_dirs):
            return Change(path, Kind.TEMPLATE)
        return Change(path, Kind.IGNORE)


def is_installed_code(path: Path) -> bool:
    """True for folders of installed packages (the admin's static files): they do not change."""
    installed = {Path(p) for p in site.getsitepackages()}
    installed |= {Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib", "stdlib")}
    installed |= {Path(sys.base_prefix) / "lib"}
    return any(path.is_relative_to(p.resolve()) for p in installed)


def outermost(folders: Iterable[Path]) -> list[Path]:
    """The folders to watch: existing ones, none inside another (watches are recursive)."""
    unique = sorted({f.resolve() for f in folders if f.is_dir()})
    return [f for f in unique if not any(f != o and f.is_relative_to(o) for o in unique)]


@dataclass(frozen=True)
class PageUpdate:
    """What the open pages should do about a group of changes."""

    reload: bool = False
    clear_templates: bool = False
    stylesheets: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # for the console and the page's log

    @classmethod
    def of(cls, changes: Iterable[Change]) -> PageUpdate:
        acted = [c for c in changes if c.kind in (Kind.STYLESHEET, Kind.RELOAD, Kind.TEMPLATE)]
        return cls(
            reload=any(c.kind in (Kind.RELOAD, Kind.TEMPLATE) for c in acted),
            clear_templates=any(c.kind is Kind.TEMPLATE for c in acted),
            stylesheets=tuple(sorted({c.url for c in acted if c.kind is Kind.STYLESHEET})),
            files=tuple(sorted(str(c.path) for c in acted)),
        )

    def __bool__(self) -> bool:
        return self.reload or bool(self.stylesheets)
