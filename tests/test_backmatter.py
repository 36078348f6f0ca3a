"""The back matter covers the book: bibliography, glossary and notation (pure text, no build).

- every work cited anywhere (`{cite}`, `{cite:p}`, `{cite:t}`, ... in notebooks and book/*.md) has an entry in
  book/references.bib, and every entry is cited somewhere (the bibliography page lists cited works only);
- no work has two entries: no repeated key, DOI, arXiv id or (normalised) title;
- every glossary term is the target of at least one `{term}` role in a chapter, every `{term}` role names a
  glossary term, and every chapter links at least one term;
- the notation page mentions every chapter and the appendix.

The root defaults to the repository; BACKMATTER_ROOT points the checks at a copy (used to see them fail on a
deliberately broken tree).
"""
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("BACKMATTER_ROOT", Path(__file__).resolve().parents[1]))

CITE = re.compile(r"\{cite(?::[\w-]+)?\}`([^`]*)`")
TERM = re.compile(r"\{term\}`([^`]*)`")


def _cells(path, kinds=("markdown",)):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] in kinds]


def _chapters():
    paths = sorted((ROOT / "chapters").glob("*.ipynb"))
    assert paths, f"no chapter notebooks under {ROOT / 'chapters'}"
    return paths


def _texts_that_cite():
    """(name, text) of every page that can cite: notebooks of all three kinds and the book's markdown pages."""
    out = []
    for folder in ("chapters", "exercises", "solutions"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            out.append((f"{folder}/{path.name}", "\n".join(_cells(path, ("markdown", "code")))))
    for path in sorted((ROOT / "book").glob("*.md")):
        out.append((f"book/{path.name}", path.read_text(encoding="utf-8")))
    return out


def _cited_keys():
    cited = {}
    for name, text in _texts_that_cite():
        for m in CITE.finditer(text):
            for key in m.group(1).split(","):
                if key.strip():
                    cited.setdefault(key.strip(), set()).add(name)
    return cited


def _bib_entries():
    """(key, {field: value}) for every entry of references.bib, in file order; values keep nested braces."""
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    entries = []
    for m in re.finditer(r"@(\w+)\s*\{\s*([^,\s]+)\s*,", text):
        if m.group(1).lower() in ("comment", "string", "preamble"):
            continue
        # the entry body runs to the brace that closes the one after @type
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body = text[m.end():i - 1]
        fields = {}
        for f in re.finditer(r"(\w+)\s*=\s*", body):
            j = f.end()
            if j < len(body) and body[j] == "{":
                depth, k = 1, j + 1
                while depth and k < len(body):
                    depth += {"{": 1, "}": -1}.get(body[k], 0)
                    k += 1
                value = body[j + 1:k - 1]
            elif j < len(body) and body[j] == '"':
                k = body.index('"', j + 1)
                value = body[j + 1:k]
            else:
                value = re.match(r"[^,\s]*", body[j:]).group(0)
            fields.setdefault(f.group(1).lower(), value)
        entries.append((m.group(2), fields))
    assert entries, "no entries parsed from references.bib"
    return entries


def _norm_doi(doi):
    doi = doi.strip().lower()
    return re.sub(r"^(https?://)?(dx\.)?doi\.org/", "", doi)


def _norm_arxiv(fields):
    ids = []
    for name in ("eprint", "url", "journal", "note", "howpublished"):
        for m in re.finditer(r"(?:arxiv[:/.\s]*(?:abs/)?)?(\d{4}\.\d{4,5})(?:v\d+)?", fields.get(name, ""), re.I):
            ids.append(m.group(1))
    return set(ids)


def _norm_title(title):
    return re.sub(r"[^a-z0-9]", "", re.sub(r"\\[a-zA-Z]+", "", title).lower())


def _glossary_terms():
    text = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    m = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    assert m, "book/glossary.md has no {glossary} block"
    terms = [line.strip() for line in m.group(1).split("\n") if line.strip() and not line[0].isspace()]
    assert terms, "the glossary block is empty"
    return terms


def _term_target(inner):
    explicit = re.search(r"<([^<>]*)>\s*$", inner)
    target = explicit.group(1) if explicit else inner
    return " ".join(target.split()).lower()


def _term_links():
    """chapter file name -> list of term targets (lower case) linked from its markdown cells."""
    return {path.name: [_term_target(m.group(1)) for cell in _cells(path) for m in TERM.finditer(cell)]
            for path in _chapters()}


# ---------------------------------------------------------------- bibliography

def test_every_citation_has_a_bib_entry():
    keys = {key for key, _ in _bib_entries()}
    missing = {key: sorted(where) for key, where in _cited_keys().items() if key not in keys}
    assert not missing, f"cited but not in book/references.bib: {missing}"


def test_every_bib_entry_is_cited():
    cited = _cited_keys()
    assert len(cited) > 0, "found no citations at all: the citation pattern is broken"
    uncited = [key for key, _ in _bib_entries() if key not in cited]
    assert not uncited, f"entries in book/references.bib that no page cites: {uncited}"


def test_no_work_has_two_entries():
    seen, clashes = {}, []
    for key, fields in _bib_entries():
        marks = [("key", key.lower())]
        if fields.get("doi"):
            marks.append(("doi", _norm_doi(fields["doi"])))
        marks += [("arXiv", a) for a in _norm_arxiv(fields)]
        if fields.get("title"):
            marks.append(("title", _norm_title(fields["title"])))
        for mark in marks:
            if mark in seen and seen[mark] != key or (mark[0] == "key" and mark in seen):
                clashes.append(f"{key} and {seen[mark]} share {mark[0]} {mark[1]!r}")
            seen.setdefault(mark, key)
    assert not clashes, "duplicate works in book/references.bib: " + "; ".join(clashes)


# ---------------------------------------------------------------- glossary

def test_glossary_terms_are_unique():
    terms = [t.lower() for t in _glossary_terms()]
    assert len(terms) == len(set(terms)), sorted({t for t in terms if terms.count(t) > 1})


def test_every_term_role_names_a_glossary_term():
    terms = {t.lower() for t in _glossary_terms()}
    unknown = {name: sorted(set(t for t in targets if t not in terms)) for name, targets in _term_links().items()}
    unknown = {name: t for name, t in unknown.items() if t}
    assert not unknown, f"{{term}} roles without a glossary entry: {unknown}"


def test_every_glossary_term_is_linked_from_a_chapter():
    linked = {t for targets in _term_links().values() for t in targets}
    unlinked = [t for t in _glossary_terms() if t.lower() not in linked]
    assert not unlinked, f"glossary terms that no chapter links with {{term}}: {unlinked}"


def test_every_chapter_links_the_glossary():
    bare = [name for name, targets in _term_links().items() if not targets]
    assert not bare, f"chapters without a single {{term}} link: {bare}"


# ---------------------------------------------------------------- notation

def _chapter_labels():
    """'1'...'17' from NN_ file names, 'A' from the appendix."""
    labels = []
    for path in _chapters():
        head = path.name.split("_")[0]
        labels.append(str(int(head)) if head.isdigit() else head)
    return labels


def _notation_mentions():
    """Chapter numbers the notation page attributes a symbol to, and appendix letters it names."""
    text = (ROOT / "book" / "notation.md").read_text(encoding="utf-8")
    numbers = set()

    def add_list(s):
        for a, b in re.findall(r"(\d+)\s*(?:[–-]\s*(\d+))?", s):
            numbers.update(str(n) for n in range(int(a), int(b or a) + 1))

    # "chapter 3", "chapters 5, 6 and 8", "chapters 1–3"
    for m in re.finditer(r"chapters?\s+((?:\d+(?:\s*[–-]\s*\d+)?(?:,\s*|\s+and\s+)?)+)", text):
        add_list(m.group(1))
    # the last column of a table row: "| 3, 12 |", "| $\theta$: 1, 2; $w$: 3 |", "| A, 13 |"
    for line in text.splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cols) >= 3 and not set(cols[-1]) <= set("-: "):
            last = re.sub(r"\$[^$]*\$", "", cols[-1])
            if re.fullmatch(r"[\d\sA,;:–\-()a-z]*", last):
                add_list(last)
                if re.search(r"\bA\b", last):
                    numbers.add("A")
    numbers.update(re.findall(r"[Aa]ppendix\s+([A-Z])\b", text))
    return numbers


def test_notation_page_covers_every_chapter():
    mentioned = _notation_mentions()
    missing = [label for label in _chapter_labels() if label not in mentioned]
    assert not missing, f"book/notation.md attributes no symbol to chapter(s) {missing}"


@pytest.mark.parametrize("page", ["notation", "glossary", "bibliography"])
def test_back_matter_pages_are_in_both_tables_of_contents(page):
    for toc in ("_toc.yml", "_toc_student.yml"):
        text = (ROOT / toc).read_text(encoding="utf-8")
        assert f"file: book/{page}\n" in text, f"book/{page} is missing from {toc}"
