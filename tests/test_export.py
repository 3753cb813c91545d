"""Write-up exports: the PDF and the .docx are opened again and their text and structure checked."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pypdf import PdfReader

from lti_tool.writeups.export import ExportDocument, ExportSection, to_docx, to_pdf

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

RISK_COLUMNS = ["Risk", "Likelihood", "Impact", "Rating", "Mitigation", "Owner", "Review date"]
RISKS = [
    ["Staff turnover in the maths department", "Medium", "High", "High",
     "Pair each new teacher with a mentor; record the approach in the handbook.",
     "Head of maths", "January 2027"],
    ["Training time lost to cover", "High", "Medium", "High",
     "Book sessions on INSET days and protect them in the calendar.", "Deputy head", "Each half term"],
    ["Data collection is inconsistent", "Low", "Medium", "Low",
     "One shared template; a check at each data drop.", "Data lead", "March 2027"],
    ["Parents are not aware of the change", "Medium", "Low", "Medium",
     "Newsletter item and a short video for the website.", "Pastoral lead", "December 2026"],
] * 3

ESSAY_PARAGRAPH = (
    "Over two terms we introduced a structured approach to retrieval practice in key stage three "
    "mathematics. Teachers began each lesson with five low-stakes questions drawn from previous "
    "units, and we tracked both participation and end-of-unit outcomes. The early evidence "
    "suggested that pupils who had previously disengaged were more willing to attempt questions, "
    "although the effect on attainment took longer to appear than we had planned for in the action "
    "plan. We reviewed the implementation at each data drop and adjusted the professional "
    "development offer accordingly."
)

UNICODE_NAME = "Zoë Ó Briain-Ștefan"
XSS = "<script>alert('x')</script> & <b>bold</b> &amp; {nb} **not bold** ]]> \\n"
CURLY = "“Curly quotes” and ‘single’ – en dash — em dash … naïve café"


def essay(words: int = 4000) -> str:
    per = len(ESSAY_PARAGRAPH.split())
    paragraphs = []
    for i in range(words // per + 1):
        paragraphs.append(f"Paragraph {i + 1}. {ESSAY_PARAGRAPH}")
    return "\n\n".join(paragraphs)


def sample(*, participant: str = UNICODE_NAME, essay_words: int = 4000) -> ExportDocument:
    return ExportDocument(
        title="Action plan",
        programme="National Professional Qualification for Senior Leadership",
        participant=participant,
        school="St Ștefan’s Academy & Sixth Form",
        course="NPQSL Cohort 12 (2026–27)",
        version_label="Submitted version 2",
        dates=[("Submitted", "26 November 2026, 14:05 UTC"), ("Exported", "27 November 2026, 09:00 UTC")],
        sections=[
            ExportSection(
                title="Project overview", kind="fields",
                guidance="Summarise the problem your project addresses and why it matters in your school.",
                fields=[("Project title", "Retrieval practice in KS3 maths"),
                        ("Problem", "Pupils forget prior content; " + CURLY),
                        ("Key stakeholders", XSS)],
            ),
            ExportSection(
                title="Risk assessment", kind="table",
                guidance="List the main risks to implementation and how you will mitigate them.",
                columns=RISK_COLUMNS, rows=RISKS,
                note="Highest risks: Staff turnover in the maths department; Training time lost to cover",
            ),
            ExportSection(
                title="Milestones", kind="table", columns=["Milestone", "Date"],
                rows=[["Baseline data collected", "October 2026"], ["Mid-point review", "February 2027"]],
            ),
            ExportSection(
                title="Impact essay", kind="text", text=essay(essay_words),
                word_count=essay_words, note=f"Words: {essay_words:,} of 4,000",
            ),
            ExportSection(
                title="References", kind="references",
                references=["Rosenshine, B. (2012) ‘Principles of instruction’, American Educator, 36(1), pp. 12–19.",
                            "Education Endowment Foundation (2021) Cognitive science approaches in the classroom. London: EEF.",
                            "Ó Briain, Z. (2024) https://example.org/" + "a-very-long-url-segment" * 8],
            ),
        ],
    )


def squash(text: str) -> str:
    """Text without any whitespace: extraction may break lines anywhere text was wrapped."""
    return re.sub(r"\s+", "", text)


def pdf_text(data: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(data))
    return reader, [page.extract_text() or "" for page in reader.pages]


@pytest.fixture(scope="module")
def pdf_bytes():
    return to_pdf(sample())


@pytest.fixture(scope="module")
def docx_bytes():
    return to_docx(sample())


# -------------------------------------------------------------------------------------- PDF

def test_pdf_text_and_structure(pdf_bytes):
    assert pdf_bytes.startswith(b"%PDF-")
    reader, pages = pdf_text(pdf_bytes)
    all_text = squash("\n".join(pages))
    assert len(reader.pages) > 1

    first = squash(pages[0])
    for expected in ("Action plan", "National Professional Qualification for Senior Leadership",
                     UNICODE_NAME, "St Ștefan’s Academy & Sixth Form", "NPQSL Cohort 12 (2026–27)",
                     "Submitted version 2", "26 November 2026, 14:05 UTC", "Exported"):
        assert squash(expected) in first, expected

    for heading in ("Project overview", "Risk assessment", "Milestones", "Impact essay", "References"):
        assert squash(heading) in all_text, heading
    for label, value in sample().sections[0].fields:
        assert squash(label) in all_text and squash(value) in all_text, label
    for column in RISK_COLUMNS:
        assert squash(column) in all_text
    for row in RISKS[:4]:
        for cell in row:
            assert squash(cell) in all_text, cell
    assert squash("Milestone") in all_text and squash("February 2027") in all_text
    for paragraph in sample().sections[3].text.split("\n\n")[:3] + sample().sections[3].text.split("\n\n")[-2:]:
        assert squash(paragraph) in all_text
    assert squash("Words: 4,000 of 4,000") in all_text
    assert squash("Rosenshine, B. (2012) ‘Principles of instruction’") in all_text
    assert squash("Highest risks:") in all_text


def test_pdf_footer_has_page_numbers_name_and_title(pdf_bytes):
    reader, pages = pdf_text(pdf_bytes)
    total = len(reader.pages)
    for n, text in enumerate(pages, start=1):
        flat = " ".join(text.split())
        assert f"Page {n} of {total}" in flat
        assert squash(f"{UNICODE_NAME} · Action plan") in squash(text)


def test_pdf_wide_table_goes_on_a_landscape_page_and_other_pages_are_portrait_a4(pdf_bytes):
    reader, pages = pdf_text(pdf_bytes)
    shapes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages]
    assert shapes[0] == (595, 842)  # A4 portrait, in points
    landscape = [i for i, s in enumerate(shapes) if s == (842, 595)]
    assert landscape, shapes
    assert "Risk assessment" in pages[landscape[0]]
    assert all(s in ((595, 842), (842, 595)) for s in shapes)
    # The essay is back on portrait pages.
    essay_page = next(i for i, t in enumerate(pages) if "Impact essay" in t)
    assert shapes[essay_page] == (595, 842)


def test_pdf_unicode_and_markup_come_out_literally():
    doc = ExportDocument(
        title="Impact <essay> & “review”", programme="NPQ for Headship", participant="Ștefan Zoë Ó Briain",
        school=None, course="Course <i>1</i>", version_label="Draft, version 7",
        dates=[("Saved", "1 December 2026, 10:00 UTC")],
        sections=[ExportSection(title="Essay <h1>", kind="text",
                                text=f"{XSS}\n\n{CURLY}\n\nEmoji 😀 Arabic محمد Chinese 王小明 end.\n\n"
                                     + "Supercalifragilistic" * 30)],
    )
    data = to_pdf(doc)
    _, pages = pdf_text(data)
    text = squash("\n".join(pages))
    for literal in ("Impact <essay> & “review”", "Ștefan Zoë Ó Briain", "Course <i>1</i>", "Essay <h1>",
                    XSS, CURLY, "Draft, version 7", "Emoji", "Arabic", "Chinese", "end.",
                    "Supercalifragilistic" * 30):
        assert squash(literal) in text, literal
    # No school line when there is no school.
    assert "School" not in pages[0]


def test_pdf_arabic_is_shaped_when_shaping_is_installed():
    pytest.importorskip("uharfbuzz")
    pytest.importorskip("fontpkg_ibm_plex_sans_arabic")
    doc = ExportDocument(
        title="Action plan", programme="NPQ", participant="محمد علي", school="مدرسة النور",
        course="Course", version_label="Draft, version 1", dates=[],
        sections=[ExportSection(title="Essay", kind="text", text="Mixed text: محمد علي wrote this.")],
    )
    _, pages = pdf_text(to_pdf(doc))
    text = pages[0]
    # Extraction follows the visual order, so the words are checked one by one.
    for word in ("محمد", "علي", "مدرسة", "النور", "Mixed", "wrote"):
        assert text.count(word) >= 1, word
    assert text.count("محمد") >= 3  # title block, essay and footer


def test_pdf_without_fallback_fonts_replaces_what_it_cannot_draw(monkeypatch, caplog):
    from lti_tool.writeups.export import fonts

    monkeypatch.setattr(fonts, "fallback_candidates", lambda: [])
    doc = sample()
    doc.participant = "Zoë 王小明 محمد 😀 end"
    _, pages = pdf_text(to_pdf(doc))
    text = " ".join(pages[0].split())
    assert "Zoë ??? ???? ? end" in text
    assert "missing the following glyphs" not in caplog.text


def test_pdf_long_essay_is_paged_and_fast():
    doc = sample(essay_words=4000)
    start = time.perf_counter()
    data = to_pdf(doc)
    elapsed = time.perf_counter() - start
    reader, _ = pdf_text(data)
    assert len(reader.pages) >= 8
    assert elapsed < 5, elapsed  # about half a second on the 2-core CI machine


def test_pdf_row_taller_than_a_page_is_split_not_cut():
    long_cell = " ".join(f"word{i:05d}" for i in range(2500))
    doc = ExportDocument(
        title="Risk assessment", programme="NPQ", participant="A Participant", school="School",
        course="Course", version_label="Draft, version 1", dates=[],
        sections=[ExportSection(title="Risks", kind="table", columns=["Risk", "Mitigation"],
                                rows=[["Short", "Fine"], ["Huge", long_cell], ["After", "Last row"]])],
    )
    reader, pages = pdf_text(to_pdf(doc))
    assert len(reader.pages) >= 3
    text = "\n".join(pages)
    # Every word of the tall cell, in order, none lost at a page break.
    assert re.findall(r"word\d{5}", text) == long_cell.split()
    assert text.index("word02499") < text.index("Last row")
    # The header row is repeated on the pages the table continues on.
    assert all("Mitigation" in p for p in pages)


def test_awkward_input_does_not_crash_either_format():
    doc = ExportDocument(
        title="\x00Title\x07 with \ud800 lone surrogate\r\nand CR", programme="", participant="",
        school="", course="", version_label="", dates=[("", "")],
        sections=[
            ExportSection(title="", kind="fields", fields=[("Empty", ""), ("Tab\tand\x0bvtab", "\ufeff\u200b\u2028x")]),
            ExportSection(title="Ragged", kind="table", columns=["A"], rows=[["1", "2", "3"], [], ["only"]]),
            ExportSection(title="No rows", kind="table", columns=["A", "B"], rows=[]),
            ExportSection(title="No columns", kind="table"),
            ExportSection(title="Empty text", kind="text", text=None, word_count=0),
            ExportSection(title="Empty refs", kind="references"),
            ExportSection(title="Odd kind", kind="something-else", text="Still shown"),
            ExportSection(title="Private use \ue000\ue001 and \U0010ffff", kind="text", text="\ue000\ue001"),
        ],
    )
    data = to_pdf(doc)
    _, pages = pdf_text(data)
    assert "Still shown" in " ".join(pages)
    document = docx.Document(io.BytesIO(to_docx(doc)))
    assert "Still shown" in "\n".join(p.text for p in document.paragraphs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200), st.lists(st.text(max_size=40), min_size=1, max_size=4))
def test_any_text_exports(text, cells):
    doc = ExportDocument(
        title=text[:50], programme=text, participant=text[:30], school=text or None, course=text,
        version_label=text, dates=[(text, text)],
        sections=[ExportSection(title=text, kind="fields", guidance=text, fields=[(text, text)]),
                  ExportSection(title=text, kind="table", columns=cells, rows=[cells, cells[::-1]], note=text),
                  ExportSection(title=text, kind="text", text=text),
                  ExportSection(title=text, kind="references", references=[text])],
    )
    assert to_pdf(doc).startswith(b"%PDF-")
    assert to_docx(doc).startswith(b"PK")


# ------------------------------------------------------------------------------------- DOCX

def test_docx_structure(docx_bytes):
    document = docx.Document(io.BytesIO(docx_bytes))
    paragraphs = document.paragraphs
    title = [p.text for p in paragraphs if p.style.name == "Title"]
    assert title == ["Action plan"]
    headings = [p.text for p in paragraphs if p.style.name == "Heading 1"]
    assert headings == ["Project overview", "Risk assessment", "Milestones", "Impact essay", "References"]

    # Title block: the first table, before any section heading.
    block = document.tables[0]
    cells = {row.cells[0].text: row.cells[1].text for row in block.rows}
    assert cells["Participant"] == UNICODE_NAME
    assert cells["School"] == "St Ștefan’s Academy & Sixth Form"
    assert cells["Version"] == "Submitted version 2"
    assert cells["Submitted"] == "26 November 2026, 14:05 UTC"

    fields = document.tables[1]
    assert [(r.cells[0].text, r.cells[1].text) for r in fields.rows] == list(sample().sections[0].fields)

    risks = document.tables[2]
    assert [c.text for c in risks.rows[0].cells] == RISK_COLUMNS
    assert len(risks.rows) == len(RISKS) + 1
    assert [c.text for c in risks.rows[1].cells] == RISKS[0]
    assert risks.rows[0]._tr.trPr is not None  # header row repeats on each page

    essay_paragraphs = sample().sections[3].text.split("\n\n")
    texts = [p.text for p in paragraphs]
    start = texts.index(essay_paragraphs[0])
    assert texts[start:start + len(essay_paragraphs)] == essay_paragraphs
    assert any("Words: 4,000 of 4,000" in t for t in texts)
    assert any(t.startswith("Rosenshine, B. (2012)") for t in texts)

    # The wide risk table sits in a landscape section; the document starts and ends in portrait.
    sections = document.sections
    assert sections[0].page_width < sections[0].page_height
    assert any(s.page_width > s.page_height for s in sections)
    assert sections[-1].page_width < sections[-1].page_height
    footer_xml = sections[0].footer._element.xml
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml and UNICODE_NAME in footer_xml


def test_docx_markup_is_literal():
    doc = sample(participant="<script>alert(1)</script> & Zoë")
    doc.sections[3].text = XSS + "\n\n" + CURLY + "\n\nEmoji 😀 Arabic محمد Chinese 王小明"
    document = docx.Document(io.BytesIO(to_docx(doc)))
    texts = [p.text for p in document.paragraphs]
    assert XSS in texts and CURLY in texts
    assert "Emoji 😀 Arabic محمد Chinese 王小明" in texts
    assert document.tables[0].rows[0].cells[1].text == "<script>alert(1)</script> & Zoë"


# -------------------------------------------------------------------------- for a human eye

def test_first_pdf_page_as_png(pdf_bytes, tmp_path):
    pdftoppm = shutil.which("pdftoppm")
    if not pdftoppm:
        pytest.skip("pdftoppm (Debian package poppler-utils) is not installed")
    source = tmp_path / "export.pdf"
    source.write_bytes(pdf_bytes)
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run([pdftoppm, "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(source),
                    str(ARTIFACTS / "export-page1")], check=True, timeout=60)
    png = ARTIFACTS / "export-page1.png"
    assert png.read_bytes().startswith(b"\x89PNG")
