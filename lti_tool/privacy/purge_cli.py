"""`flask data purge`: apply the retention periods (run from cron; --dry-run reports only)."""
import click

from .cli import data_cli


@data_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what has expired; delete nothing.")
def purge_command(dry_run: bool):
    """Delete personal data past its retention period (provider settings) and print, per
    category and table, how many rows went (or would go)."""
    from .purge import report_lines, run_purge  # noqa: PLC0415 (the app's models load first)

    outcomes = run_purge(dry_run=dry_run)
    for line in report_lines(outcomes, dry_run=dry_run):
        click.echo(line)
