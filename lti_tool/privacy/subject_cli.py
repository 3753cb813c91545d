"""`flask data find / export / erase / inventory`: subject access and erasure from the command line."""
from __future__ import annotations

from pathlib import Path

import click

from .cli import data_cli


@data_cli.command("find")
@click.argument("query")
def find(query):
    """Find people by name, email or VLE user ID (any part, any case), across platforms and courses."""
    from .people import find_people

    total, found = find_people(query, limit=100)
    if not found:
        click.echo("No one matches.")
        return
    for f in found:
        courses = "; ".join(f"{c.course} ({c.role})" for c in f.courses) or "no course"
        click.echo(f"{f.person.id}\t{f.person.display_name}\t{f.person.email or '-'}\t{f.platform}\t"
                   f"VLE user ID {f.person.sub}\t{courses}")
    if total > len(found):
        click.echo(f"... and {total - len(found)} more: narrow the search.")


@data_cli.command("export")
@click.argument("person_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The ZIP file to write (it holds personal data: keep it safe).")
def export(person_id, out):
    """Write everything held about a person to a ZIP (JSON per area and a PDF summary)."""
    import os

    from .subject_access import export_person

    result = export_person(person_id, actor="cli")
    if result is None:
        raise click.ClickException(f"no person {person_id}")
    _, content = result
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: readable by us only
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    click.echo(f"Wrote {out} ({len(content):,} bytes).")


@data_cli.command("erase")
@click.argument("person_id", type=int)
@click.option("--dry-run", is_flag=True, help="Print what would happen and change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(person_id, dry_run, yes):
    """Erase a person: free text removed, identity pseudonymised, figures kept (prints the preview)."""
    from .erasure import erase as erase_person, preview

    plan = preview(person_id)
    if plan is None:
        raise click.ClickException(f"no person {person_id}")
    if plan.already_erased:
        raise click.ClickException(f"person {person_id} is already erased ({plan.found.person.display_name}).")
    click.echo("\n".join(plan.lines()))
    if dry_run:
        click.echo("\nDry run: nothing changed.")
        return
    if not yes:
        click.confirm("\nErase this person? This cannot be undone", abort=True)
    done = erase_person(person_id, actor="cli")
    click.echo(f"Erased: person {person_id} is now “{done.pseudonym}”.")


@data_cli.command("inventory")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the inventory as Markdown.")
@click.option("--update-doc", is_flag=True, help="Rewrite the generated section of docs/data-protection.md.")
def inventory(as_markdown, update_doc):
    """The data inventory: every table and column, personal or not."""
    from .inventory import TABLES
    from .inventory_doc import DOC_PATH, markdown, update_document

    if update_doc:
        changed = update_document()
        click.echo(f"{Path(DOC_PATH).name}: {'updated' if changed else 'already up to date'}.")
        return
    if as_markdown:
        click.echo(markdown(), nl=False)
        return
    for spec in TABLES.values():
        personal = ", ".join(f"{e.column} ({e.erasure})" for e in spec.personal()) or "none"
        click.echo(f"{spec.name} [{spec.retention}]: personal: {personal}")
