"""Provider admin pages for people's personal data: find a person, see where they appear and what
is held, download everything held about them (subject access), erase them."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..paging import clamp_page, page_count
from ..privacy.erasure import CONFIRM_WORD, erase, preview
from ..privacy.inventory import AREAS, TABLES
from ..privacy.people import count_people, counts_about, counts_by, find_people, is_erased, person_found
from ..privacy.subject_access import export_person
from .access import admin_required
from .blueprint import bp
from .forms import ConfirmForm

PAGE_SIZE = 25
QUERY_LIMIT = 200


class EraseForm(FlaskForm):
    confirm = StringField(f"Type {CONFIRM_WORD} to confirm", validators=[DataRequired(), Length(max=40)],
                          description="In capital letters. Erasure cannot be undone.")


def _found_or_404(person_id: int):
    found = person_found(person_id)
    if found is None:
        abort(404)
    return found


@bp.get("/people")
@admin_required
def people():
    query = (request.args.get("q") or "").strip()[:QUERY_LIMIT]
    total, found, page, pages = 0, [], 1, 1
    if query:
        pages = page_count(count_people(query), PAGE_SIZE)
        page = clamp_page(request.args.get("page"), pages)
        total, found = find_people(query, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render_template("admin/people.html", query=query, total=total, found=found, page=page, pages=pages,
                           is_erased=is_erased)


def _held(person_id: int) -> list[tuple[str, int]]:
    """(what, how many rows) per export area, from the inventory."""
    counts = counts_about(person_id)
    out = []
    for area, description in AREAS.items():
        n = sum(counts.get(spec.name, 0) for spec in TABLES.values() if spec.area == area)
        out.append((description, n))
    return out


@bp.get("/people/<int:person_id>")
@admin_required
def person(person_id: int):
    found = _found_or_404(person_id)
    return render_template("admin/person.html", found=found, held=_held(person_id), acted=counts_by(person_id),
                           erased=is_erased(found.person), form=ConfirmForm())


@bp.post("/people/<int:person_id>/export")
@admin_required
def person_export(person_id: int):
    _found_or_404(person_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name, content = export_person(person_id)
    return Response(content, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


@bp.route("/people/<int:person_id>/erase", methods=["GET", "POST"])
@admin_required
def person_erase(person_id: int):
    plan = preview(person_id)
    if plan is None:
        abort(404)
    if plan.already_erased:
        flash("This person has already been erased.")
        return redirect(url_for("admin.person", person_id=person_id))
    form = EraseForm()
    if form.validate_on_submit():
        if form.confirm.data.strip() != CONFIRM_WORD:
            form.confirm.errors.append(f"Type the word {CONFIRM_WORD} in capital letters to erase this person.")
        else:
            done = erase(person_id)
            flash(f"Erased. The person is now “{done.pseudonym}”; their free text is gone and their figures kept.")
            return redirect(url_for("admin.person", person_id=person_id))
    return render_template("admin/erase.html", plan=plan, form=form), 400 if form.errors else 200
