"""The documentation says what the code does: one heading per setting with its default,
every check id explained, and a README that renders on a package index."""

from __future__ import annotations

import ast
import re
import tomllib

from tests.conftest import ROOT
from webhooks_app.conf import DEFAULTS

DOCS = ROOT / "docs"
SETTING_HEADING = re.compile(r"^### `([A-Z_]+)`\n\nDefault: (required|`([^`]*)`)", re.M)


def documented_settings() -> dict[str, str | None]:
    """{setting: its documented default (None: "required")} from the settings reference."""
    text = (DOCS / "settings.md").read_text()
    headings = re.findall(r"^### (.*)$", text, re.M)
    found = {name: literal or None for name, _, literal in SETTING_HEADING.findall(text)}
    assert len(found) == len(headings), "a heading is not a `SETTING` with its Default line"
    return found


def test_every_setting_has_one_heading_and_every_heading_names_a_setting():
    text = (DOCS / "settings.md").read_text()
    names = [name for name, _, _ in SETTING_HEADING.findall(text)]

    assert len(names) == len(set(names)), "a setting has two headings"
    assert set(names) - set(DEFAULTS) == set(), "headings naming no setting"
    assert set(DEFAULTS) - set(names) == set(), "settings with no heading"


def test_each_documented_default_is_the_one_in_conf():
    for name, literal in documented_settings().items():
        if literal is None:
            assert DEFAULTS[name] is None, f"{name} is documented as required"
        else:
            assert ast.literal_eval(literal) == DEFAULTS[name], name


def test_every_check_id_in_the_code_is_explained_in_troubleshooting():
    code = "\n".join(p.read_text() for p in (ROOT / "webhooks_app").rglob("*.py"))
    ids = set(re.findall(r"webhooks_app\.([EW]\d{3})", code))
    troubleshooting = (DOCS / "troubleshooting.md").read_text()
    explained = set(re.findall(r"^\| `([EW]\d{3})` \|", troubleshooting, re.M))

    assert ids - explained == set(), "check ids with no row in troubleshooting.md"
    assert explained - ids == set(), "rows for check ids the code does not have"


def test_the_readme_is_a_short_front_page_whose_links_resolve_on_a_package_index():
    readme = (ROOT / "README.md").read_text()
    with open(ROOT / "pyproject.toml", "rb") as f:
        urls = tomllib.load(f)["project"]["urls"]
    site = urls["Documentation"]
    prose = re.sub(r"```.*?```|`[^`]*`", "", readme, flags=re.S)  # code is not linked
    links = re.findall(r"\]\(([^)]+)\)", prose) + re.findall(r"https?://[^\s)>]+", prose)

    assert len(readme.splitlines()) < 200
    assert links, "the README links the docs site"
    assert [link for link in links if not link.startswith(site)] == []
    assert all(url.startswith(site) for url in urls.values())
    assert "make test" in readme and "make demo" in readme
