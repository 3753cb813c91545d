"""The Word writer (python-docx): the same document as the PDF, with Word's own styles and fields.

python-docx escapes XML itself, so participants' text goes in as it is (once cleaned).
"""
from __future__ import annotations

import io

from .document import ExportDocument, clean, section_note, split_paragraphs, table_shape, title_rows
from .layout import ACCENT, HEAD_FILL, LABEL_FILL, MUTED, column_widths


def _docx_modules():
    import docx
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_TAB_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor
    return docx, WD_ORIENT, WD_SECTION, WD_TABLE_ALIGNMENT, WD_TAB_ALIGNMENT, OxmlElement, qn, Mm, Pt, RGBColor


def to_docx(doc: ExportDocument) -> bytes:
    """The write-up as a Word document (bytes)."""
    (docx, WD_ORIENT, WD_SECTION, WD_TABLE_ALIGNMENT, WD_TAB_ALIGNMENT, OxmlElement, qn,
     Mm, Pt, RGBColor) = _docx_modules()
    accent = RGBColor(*ACCENT)
    muted = RGBColor(*MUTED)

    document = docx.Document()
    styles = document.styles
    normal = styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)
    for name, size in (("Title", 24), ("Heading 1", 15)):
        styles[name].font.color.rgb = accent
        styles[name].font.size = Pt(size)
    styles["Footer"].paragraph_format.tab_stops.clear_all()  # only the right tab added below

    def set_page(section, landscape: bool):
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        w, h = Mm(210), Mm(297)
        section.page_width, section.page_height = (h, w) if landscape else (w, h)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Mm(20))
        section.footer_distance = Mm(10)

    def text_width(section):
        return section.page_width - section.left_margin - section.right_margin

    def shade(cell, rgb):
        tc_pr = cell._tc.get_or_add_tcPr()
        shd = OxmlElement("w:shd")
        shd.set(qn("w:val"), "clear")
        shd.set(qn("w:color"), "auto")
        shd.set(qn("w:fill"), "%02X%02X%02X" % rgb)
        tc_pr.append(shd)

    def set_cell(cell, text, *, bold=False, size=None, color=None):
        cell.text = ""
        paragraph = cell.paragraphs[0]
        paragraph.paragraph_format.space_after = Pt(0)
        parts = text.split("\n\n") if text else [""]
        for k, part in enumerate(parts):
            p = paragraph if k == 0 else cell.add_paragraph()
            p.paragraph_format.space_after = Pt(0 if k == len(parts) - 1 else 4)
            run = p.add_run(part)  # python-docx turns "\n" into a line break
            run.bold = bold
            if size:
                run.font.size = Pt(size)
            if color is not None:
                run.font.color.rgb = color

    def repeat_header(row):
        tr_pr = row._tr.get_or_add_trPr()
        el = OxmlElement("w:tblHeader")
        el.set(qn("w:val"), "true")
        tr_pr.append(el)

    def set_widths(table, widths):
        # Roomier cells than Word's default: 1 mm above and below, 1.6 mm at the sides.
        tbl_pr = table._tbl.tblPr
        margins = OxmlElement("w:tblCellMar")
        for side, twips in (("top", 57), ("left", 91), ("bottom", 57), ("right", 91)):
            el = OxmlElement(f"w:{side}")
            el.set(qn("w:w"), str(twips))
            el.set(qn("w:type"), "dxa")
            margins.append(el)
        tbl_pr.append(margins)
        table.autofit = False
        for row in table.rows:
            for j, cell in enumerate(row.cells):
                cell.width = widths[j]
        for j, col in enumerate(table.columns):
            col.width = widths[j]

    def label_table(rows, section, *, bold_first_value=False):
        table = document.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        total = text_width(section)
        label_w = int(total * 0.3)
        for i, (label, value) in enumerate(rows):
            cells = table.add_row().cells
            set_cell(cells[0], label, bold=True, size=10)
            shade(cells[0], LABEL_FILL)
            set_cell(cells[1], value or "—", size=10, bold=bold_first_value and i == 0)
        set_widths(table, [label_w, total - label_w])
        return table

    def note_paragraph(text):
        p = document.add_paragraph()
        p.paragraph_format.space_before = Pt(4)
        run = p.add_run(text)
        run.italic = True
        run.font.size = Pt(9)
        run.font.color.rgb = muted

    section0 = document.sections[0]
    set_page(section0, False)

    footer_label = f"{' '.join(clean(doc.participant).split())} · {' '.join(clean(doc.title).split())}"

    def build_footer(section):
        """Participant and title on the left, "Page n of m" (Word fields) on the right."""
        section.footer.is_linked_to_previous = False
        paragraph = section.footer.paragraphs[0]
        for child in list(paragraph._p):
            if child.tag != qn("w:pPr"):
                paragraph._p.remove(child)
        paragraph.paragraph_format.tab_stops.add_tab_stop(text_width(section), WD_TAB_ALIGNMENT.RIGHT)

        def footer_run(text):
            run = paragraph.add_run(text)
            run.font.size = Pt(8)
            run.font.color.rgb = muted

        def footer_field(instr):
            fld = OxmlElement("w:fldSimple")
            fld.set(qn("w:instr"), instr)
            r = OxmlElement("w:r")
            r_pr = OxmlElement("w:rPr")
            color = OxmlElement("w:color")
            color.set(qn("w:val"), "%02X%02X%02X" % MUTED)
            r_pr.append(color)
            sz = OxmlElement("w:sz")
            sz.set(qn("w:val"), "16")
            r_pr.append(sz)
            r.append(r_pr)
            t = OxmlElement("w:t")
            t.text = "1"
            r.append(t)
            fld.append(r)
            paragraph._p.append(fld)

        footer_run(footer_label + "\t")
        footer_run("Page ")
        footer_field("PAGE")
        footer_run(" of ")
        footer_field("NUMPAGES")

    build_footer(section0)

    # Title block
    programme = document.add_paragraph()
    run = programme.add_run(clean(doc.programme))
    run.bold = True
    run.font.size = Pt(10)
    run.font.color.rgb = accent
    programme.paragraph_format.space_after = Pt(2)
    document.add_heading(clean(doc.title), level=0)
    label_table(title_rows(doc), section0, bold_first_value=True)
    document.add_paragraph()

    props = document.core_properties
    props.title = f"{clean(doc.title)} – {clean(doc.participant)}"[:250]
    props.author = clean(doc.participant)[:250]
    props.subject = clean(doc.programme)[:250]
    props.comments = ""
    props.last_modified_by = "NPQ LTI tool"

    current = section0
    landscape = False
    for section in doc.sections or ():
        columns, rows = table_shape(section) if section.kind == "table" else ([], [])
        wide = len(columns) >= 6
        if wide != landscape:
            current = document.add_section(WD_SECTION.NEW_PAGE)
            set_page(current, wide)
            build_footer(current)
            landscape = wide
        document.add_heading(clean(section.title), level=1)
        if section.guidance and clean(section.guidance).strip():
            for k, para in enumerate(split_paragraphs(section.guidance)):
                p = document.add_paragraph()
                if k == 0:
                    lead = p.add_run("Guidance: ")
                    lead.bold = True
                    lead.font.size = Pt(9)
                    lead.font.color.rgb = muted
                run = p.add_run(para)
                run.italic = True
                run.font.size = Pt(9)
                run.font.color.rgb = muted
        if section.kind == "fields":
            items = [(clean(a), clean(b)) for a, b in (section.fields or ())]
            if items:
                label_table(items, current)
            else:
                note_paragraph("Nothing entered.")
        elif section.kind == "table":
            if columns:
                n = len(columns)
                size = 10 if n <= 3 else 9 if n <= 5 else 8
                table = document.add_table(rows=1, cols=n)
                table.style = "Table Grid"
                for j, label in enumerate(columns):
                    cell = table.rows[0].cells[j]
                    set_cell(cell, label, bold=True, size=size, color=RGBColor(255, 255, 255))
                    shade(cell, HEAD_FILL)
                repeat_header(table.rows[0])
                for row in rows:
                    cells = table.add_row().cells
                    for j, value in enumerate(row):
                        set_cell(cells[j], value, size=size)
                total_pt = text_width(current) / 12700  # EMU to points
                widths = column_widths(columns, rows, total_pt, lambda word: len(word) * size * 0.64,
                                       pad=14.0, cap=110.0)
                set_widths(table, [Pt(w) for w in widths])
            if not rows:
                note_paragraph("No rows entered.")
        elif section.kind == "text":
            paragraphs = split_paragraphs(section.text)
            for para in paragraphs:
                document.add_paragraph(para)
            if not paragraphs:
                note_paragraph("No text entered.")
        elif section.kind == "references":
            refs = [clean(r).strip() for r in (section.references or ()) if clean(r).strip()]
            for ref in refs:
                p = document.add_paragraph(ref)
                p.paragraph_format.left_indent = Mm(8)
                p.paragraph_format.first_line_indent = Mm(-8)
                p.paragraph_format.space_after = Pt(4)
            if not refs:
                note_paragraph("No references.")
        else:
            for a, b in section.fields or ():
                document.add_paragraph(f"{clean(a)}: {clean(b)}")
            for para in split_paragraphs(section.text):
                document.add_paragraph(para)
        note = section_note(section)
        if note:
            note_paragraph(note)

    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
