"""A grade-delivery worker process for the bench: THREADS threads, each looping over the tool's own
lti_tool.grades.delivery.deliver_due() in an app context until the outbox has nothing pending.

Configured like the tool (NPQ_CONFIG, DATABASE_URL, KEYS_DIR, SECRET_KEY from the environment). Prints
"ready" once the app is built, starts on a "go" line on stdin (so start-up is not timed), prints one
JSON line of counts when done.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    if os.environ.get("BENCH_KEYCACHE") == "1":  # the what-if run only (see bench/whatif_wsgi.py)
        from bench.platform_proc import _cache_private_key_parsing

        _cache_private_key_parsing()
    from sqlalchemy import func, select

    from lti_tool import create_app
    from lti_tool.db import db
    from lti_tool.grades.delivery import deliver_due
    from lti_tool.models import GradeOutbox

    app = create_app()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    attempted = [0] * threads
    errors: list[str] = []

    def loop(i: int) -> None:
        with app.app_context():
            while True:
                try:
                    n = deliver_due()
                    attempted[i] += n
                    if n:
                        continue
                    pending = db().scalar(select(func.count()).select_from(GradeOutbox)
                                          .where(GradeOutbox.status == "pending"))
                    db().commit()
                    if not pending:
                        return
                    time.sleep(0.2)  # the rest is leased by other workers, or waiting for a retry
                except Exception as exc:
                    # What a worker daemon would do: log it and go on. deliver_due() let it escape, so the
                    # rest of the rows it had leased stay leased until the lease runs out.
                    first = str(exc).splitlines()[0][:200] if str(exc) else ""
                    errors.append(f"{type(exc).__name__}: {first}")
                    print(f"WORKER-ERROR {type(exc).__name__}: {first}", file=sys.stderr, flush=True)
                    db().rollback()
                    app.extensions["db_session"].remove()
                    time.sleep(0.2)

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    print(json.dumps({"attempted": sum(attempted), "errors": errors[:5]}), flush=True)


if __name__ == "__main__":
    main()
