"""Grades on their way to platform gradebooks: an outbox in the database and a worker that
delivers it through LTI Assignment and Grade Services (AGS)."""
