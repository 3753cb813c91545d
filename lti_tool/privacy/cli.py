"""`flask data ...`: the personal-data commands (subject access, erasure, retention purge).
Each command module adds itself to this group."""
from flask.cli import AppGroup

data_cli = AppGroup("data", help="Personal data: inventory, subject access export, erasure, retention purge.")

# The command modules register themselves on data_cli when imported.
from . import purge_cli, subject_cli  # noqa: E402,F401
