"""`flask data purge`: apply the retention periods (run from cron; --dry-run reports only)."""
from .cli import data_cli  # noqa: F401
