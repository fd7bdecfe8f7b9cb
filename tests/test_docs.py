"""The README is the front door and docs/ holds the rest (issue 25): every relative link in them
reaches a file, and a heading where it names one; every page in docs/ is linked from the README;
the README stays short.

Standard library only: these tests read Markdown as text. Anchors follow GitHub's rule: the
heading's text, lower-case, punctuation other than hyphens and underscores dropped, each space a
hyphen, and "-1", "-2"… for repeats. templates/library/README.md.j2 is not checked: it has no
links, and any it had would be relative to the generated project, not to this repository.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
MAX_README_LINES = 150

FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
# [text](target) and ![alt](target), with an optional "title"; the target has no spaces.
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def blank(match: re.Match) -> str:
    """The matched text as spaces, newlines kept, so offsets still give line numbers."""
    return re.sub(r"[^\n]", " ", match.group(0))


def prose(text: str) -> str:
    """The Markdown with fenced code blocks and code spans blanked out: a `[x](y)` or a `# line`
    inside code is neither a link nor a heading."""
    return CODE_SPAN.sub(blank, FENCE.sub(blank, text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor GitHub gives the headings of a Markdown file."""
    seen: dict[str, int] = {}
    found = set()
    for match in HEADING.finditer(FENCE.sub(blank, path.read_text(encoding="utf-8"))):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(path: Path) -> list[tuple[int, str]]:
    """(line, target) for each link in a Markdown file that points into this repository."""
    text = prose(path.read_text(encoding="utf-8"))
    links = []
    for match in LINK.finditer(text):
        target = match.group(1)
        if SCHEME.match(target) or target.startswith("//"):
            continue  # a URL elsewhere: not ours to check offline
        links.append((text.count("\n", 0, match.start()) + 1, target))
    return links


def resolve(page: Path, target: str) -> tuple[Path, str]:
    """The file a link points to and its anchor ("" for none)."""
    file_part, _, anchor = target.partition("#")
    return (page.parent / file_part).resolve() if file_part else page, anchor


def broken_links(page: Path) -> list[str]:
    """What is wrong with each relative link of a page, as "page:line: target: reason"."""
    problems = []
    for line, target in relative_links(page):
        where = f"{page.relative_to(ROOT)}:{line}: {target}"
        file, anchor = resolve(page, target)
        if not file.exists():
            problems.append(f"{where}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            problems.append(f"{where}: no heading with that anchor in {file.name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_heading(page):
    assert not broken_links(page), "broken links:\n" + "\n".join(broken_links(page))


def test_every_page_in_docs_is_linked_from_the_readme():
    linked = {resolve(README, target)[0] for _, target in relative_links(README)}
    unlinked = [path.name for path in sorted(DOCS.iterdir()) if path.is_file() and path.resolve() not in linked]
    assert not unlinked, f"docs/ pages the README does not link: {unlinked}"


def test_the_readme_is_a_front_door_not_a_manual():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_README_LINES, (
        f"README.md has {lines} lines (at most {MAX_README_LINES}): move the detail into docs/ and link it"
    )


def test_anchors_follow_githubs_rule(tmp_path):
    """The slug rule on the headings these pages use: code, punctuation, numbers, repeats."""
    page = tmp_path / "page.md"
    page.write_text(
        "# What `build` produces\n## 3.1 Camera frames (YUV_420_888)\n"
        "## 4. The Android library's runtime rules\n## int8\n## int8\n"
        "```sh\n# not a heading\n```\n",
        encoding="utf-8",
    )
    assert anchors(page) == {
        "what-build-produces",
        "31-camera-frames-yuv_420_888",
        "4-the-android-librarys-runtime-rules",
        "int8",
        "int8-1",
    }
