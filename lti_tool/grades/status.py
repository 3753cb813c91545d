"""A grade entry's status (grade_outbox.status)."""
from __future__ import annotations

PENDING = "pending"  # waiting to be sent, or to be tried again
DELIVERED = "delivered"  # in the platform's gradebook
FAILED = "failed"  # given up on: a tutor can send it again
# Not sent: a newer score of ours for the same person and item reached the gradebook first, and the
# platform would refuse this older one. Nothing of it left the tool.
SUPERSEDED = "superseded"
SETTLED = (DELIVERED, SUPERSEDED)  # nothing more to send
