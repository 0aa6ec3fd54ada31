from __future__ import annotations

from pathlib import Path

import django
from pytest_django.fixtures import Settings

from apps.devreload.changes import Change, Kind, Layout, PageUpdate, StaticRoot, outermost


def layout_in(tmp_path: Path) -> Layout:
    (tmp_path / "static" / "css").mkdir(parents=True)
    (tmp_path / "templates").mkdir()
    return Layout((StaticRoot(tmp_path / "static", "/static/"),), (tmp_path / "templates",))


def test_an_existing_stylesheet_under_static_is_swapped_by_its_url(tmp_path: Path) -> None:
    layout = layout_in(tmp_path)
    css = tmp_path / "static" / "css" / "site.css"
    css.write_text("body {}")
    assert layout.classify(css) == Change(css, Kind.STYLESHEET, "/static/css/site.css")


def test_a_deleted_stylesheet_reloads_the_page(tmp_path: Path) -> None:
    layout = layout_in(tmp_path)
    assert layout.classify(tmp_path / "static" / "css" / "gone.css").kind is Kind.RELOAD


def test_scripts_images_and_other_static_files_reload_the_page(tmp_path: Path) -> None:
    layout = layout_in(tmp_path)
    for name in ("app.js", "logo.png", "fonts/a.woff2"):
        assert layout.classify(tmp_path / "static" / name).kind is Kind.RELOAD


def test_templates_reload_and_python_is_left_to_the_server_reloader(tmp_path: Path) -> None:
    layout = layout_in(tmp_path)
    assert layout.classify(tmp_path / "templates" / "a" / "page.html").kind is Kind.TEMPLATE
    assert layout.classify(tmp_path / "templates" / "tags.py").kind is Kind.RESTART
    assert layout.classify(tmp_path / "apps" / "views.py").kind is Kind.RESTART


def test_files_elsewhere_mean_nothing_to_the_pages(tmp_path: Path) -> None:
    layout = layout_in(tmp_path)
    assert layout.classify(tmp_path / "README.md").kind is Kind.IGNORE
    assert not PageUpdate.of([layout.classify(tmp_path / "README.md")])


def test_a_stylesheet_under_a_prefixed_static_folder_gets_the_prefix_in_its_url(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "lib.css").write_text("")
    settings.STATICFILES_DIRS = [("vendor", str(tmp_path / "vendor"))]
    change = Layout.from_settings().classify((tmp_path / "vendor" / "lib.css").resolve())
    assert change.url == "/static/vendor/lib.css"


def test_the_layout_has_project_and_app_folders_but_not_installed_packages(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "templates").mkdir()
    settings.STATICFILES_DIRS = [str(tmp_path / "static")]
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path / "templates")]}]

    layout = Layout.from_settings()

    static = [r.path for r in layout.static_roots]
    assert tmp_path.resolve() / "static" in static
    assert Path(__file__).resolve().parents[1] / "static" in static  # apps/devreload/static
    assert tmp_path.resolve() / "templates" in layout.template_dirs
    django_dir = Path(django.__file__).resolve().parent
    assert not [p for p in [*static, *layout.template_dirs] if p.is_relative_to(django_dir)]


def test_a_burst_with_anything_to_reload_reloads_once_and_swaps_nothing(tmp_path: Path) -> None:
    css, page = Change(tmp_path / "a.css", Kind.STYLESHEET, "/static/a.css"), Change(tmp_path / "p.html", Kind.TEMPLATE)
    update = PageUpdate.of([css, page, Change(tmp_path / "x.py", Kind.RESTART)])
    assert update.reload
    assert update.clear_templates
    assert update.files == tuple(sorted([str(css.path), str(page.path)]))
    assert PageUpdate.of([css]) == PageUpdate(stylesheets=("/static/a.css",), files=(str(css.path),))


def test_folders_to_watch_are_the_existing_outermost_ones(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "c").mkdir()
    found = outermost([tmp_path / "a" / "b", tmp_path / "a", tmp_path / "c", tmp_path / "missing"])
    assert found == [tmp_path.resolve() / "a", tmp_path.resolve() / "c"]
