"""`flask content ...`: check the programme packs, write a new programme's skeleton."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup


content_cli = AppGroup("content", help="Programme packs (frameworks, modules, activities).")


@content_cli.command("check")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
def content_check(folder):
    """Check every pack in FOLDER (default: the configured packs) against the schema."""
    from ..assessment.pack import content_check_lines
    from . import check_all
    from .report import programme_problems, programme_report

    root = Path(folder or current_app.config["CONTENT_PACKS_DIR"])
    programmes, problems = check_all(root)
    assessment_lines, assessment_problems = content_check_lines(root)
    problems = problems + assessment_problems + programme_problems(programmes)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in the packs under {root}")
    for code, programme in sorted(programmes.items()):
        for line in programme_report(programme):
            click.echo(line)
    for line in assessment_lines:
        click.echo(line)
    from .outline import check_lines as outline_lines

    for line in outline_lines(programmes):
        click.echo(line)
    click.echo("All packs are valid.")


@content_cli.command("new-programme")
@click.argument("code")
@click.option("--out", type=click.Path(file_okay=False), help="Folder to write into (default: CONTENT_PACKS_DIR).")
@click.option("--force", is_flag=True, help="Replace the programme's folder if it exists.")
def content_new_programme(code, out, force):
    """Write a commented pack skeleton for one of the ten NPQs (e.g. NPQH) to fill in."""
    from .scaffold import ScaffoldError, write

    try:
        folder = write(code, Path(out or current_app.config["CONTENT_PACKS_DIR"]), force=force)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Wrote {folder}: an outline pack to fill in (see the comments in each file), "
               f"then check it with `flask content check {folder.parent}`.")
