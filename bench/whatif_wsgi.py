"""What-if entry point (bench only, never used in production): the tool exactly as wsgi.py builds it, with
one change made in memory before the app is imported: parsed RSA private keys are cached per process, as
the fix recommended in bench/RESULTS.md would do (the tool re-parses and re-validates its own PEM key on
every launch, login and grade delivery). Used by `bench.run --what-if` to show what that fix is worth.
"""
from bench.platform_proc import _cache_private_key_parsing

_cache_private_key_parsing()

from wsgi import app  # noqa: E402,F401
