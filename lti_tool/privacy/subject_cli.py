"""`flask data find / export / erase / inventory`: subject access and erasure from the command line."""
from .cli import data_cli  # noqa: F401
