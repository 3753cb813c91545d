"""The retention purge (`flask data purge`): rows of every category on both sides of their
period; a dry run deletes nothing and counts right; a real run removes exactly the expired rows."""
from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta

from sqlalchemy import inspect, select

from lti_tool.assessment.models import AssessmentParticipant
from lti_tool.db import utcnow
from lti_tool.models import (AccessToken, ActivitySubmission, ActivityWork, Attendance, Course, Deployment, Enrolment,
                             LaunchSession, LaunchState, LoginAttempt, Mark, MarkEvent, Person, Question, Setting,
                             Webinar, WriteupDoc, WriteupSubmission, WriteupVersion)
from lti_tool.privacy.purge import purge
from lti_tool.security_models import AuditEvent, RateCounter

NOW = utcnow()


def ago(days: float):
    return NOW - timedelta(days=days)


YEARS_7, YEARS_5 = ago(7 * 366), ago(5 * 365)  # either side of the six-year periods


class World:
    """Rows made for one test, each remembered as expired (must go) or fresh (must stay)."""

    def __init__(self, dbs, platform_id: int):
        self.dbs, self.platform_id = dbs, platform_id
        self.expired: list = []
        self.fresh: list = []
        self.rows: list = []
        deployment = dbs.scalar(select(Deployment).where(Deployment.platform_id == platform_id))
        self.course = Course(platform_id=platform_id, deployment_id=deployment.id,
                             context_id="retention-" + secrets.token_hex(4), title="Retention cohort")
        dbs.add(self.course)
        dbs.flush()

    def add(self, row, *, expired: bool):
        self.dbs.add(row)
        self.dbs.flush()
        (self.expired if expired else self.fresh).append((type(row), inspect(row).identity))
        self.rows.append((row, expired))
        return row

    def person(self, *, last_launch, created=None, expired=False):
        return self.add(Person(platform_id=self.platform_id, sub="ret-" + secrets.token_hex(6), name="Retention Person",
                               last_launch_at=last_launch, created_at=created or last_launch or NOW), expired=expired)


def _session_rows(w: World, person: Person):
    for days, expired in ((8, True), (6, False)):
        tag = secrets.token_hex(6)
        w.add(LaunchState(state=tag, nonce=tag, platform_id=w.platform_id, browser_binding="b",
                          expires_at=ago(days)), expired=expired)
        w.add(RateCounter(key="ret-" + tag, window=1, count=1, expires_at=ago(days)), expired=expired)
        w.add(LoginAttempt(key="ret-" + tag, at=ago(days)), expired=expired)
        w.add(AccessToken(platform_id=w.platform_id, scope_key=tag, token="t", expires_at=ago(days)), expired=expired)
        w.add(LaunchSession(id=tag, person_id=person.id, course_id=w.course.id, deployment_id=w.course.deployment_id,
                            role="participant", message_type="LtiResourceLinkRequest", expires_at=ago(days)),
              expired=expired)


def _draft_rows(w: World):
    gone = w.person(last_launch=ago(400))      # stopped launching over a year ago
    active = w.person(last_launch=ago(10))     # still using the tool
    for owner, expired in ((gone, True), (active, False)):
        doc = w.add(WriteupDoc(person_id=owner.id, course_id=w.course.id, template_ref="NPQSL/risk-assessment",
                               content={"a": "draft"}, version=2, updated_at=ago(400)), expired=expired)
        for n in (1, 2):
            w.add(WriteupVersion(doc_id=doc.id, version=n, content={}, saved_at=ago(401)), expired=expired)
        w.add(ActivityWork(person_id=owner.id, course_id=w.course.id, activity_ref="NPQSL/a1", updated_at=ago(400)),
              expired=expired)
    return gone, active


def _work_rows(w: World, owner: Person, marker: Person):
    for when, expired in ((YEARS_7, True), (YEARS_5, False)):
        doc = w.add(WriteupDoc(person_id=owner.id, course_id=w.course.id, template_ref=f"NPQSL/t-{secrets.token_hex(3)}",
                               status="submitted", queue_status="released", submitted_at=when, updated_at=when,
                               version=1), expired=expired)
        w.add(WriteupVersion(doc_id=doc.id, version=1, content={}, saved_at=when), expired=expired)
        sub = w.add(WriteupSubmission(doc_id=doc.id, attempt=1, version=1, content={}, submitted_at=when,
                                      status="marked"), expired=expired)
        w.add(Mark(submission_id=sub.id, marker_id=marker.id, status="released", total=70, created_at=when,
                   updated_at=when, released_at=when), expired=expired)
        w.add(MarkEvent(submission_id=sub.id, actor_id=marker.id, action="mark released", at=when), expired=expired)
        work = w.add(ActivityWork(person_id=owner.id, course_id=w.course.id, activity_ref=f"NPQSL/k-{secrets.token_hex(3)}",
                                  status="submitted", submitted_at=when, updated_at=when), expired=expired)
        w.add(ActivitySubmission(work_id=work.id, answers={}, submitted_at=when, score=1, max_score=1), expired=expired)


def _engagement_dfe_audit_rows(w: World, owner: Person, tutor: Person):
    webinar = w.add(Webinar(course_id=w.course.id, title="Webinar", starts_at=YEARS_5, join_url="https://example.org",
                            created_by=tutor.id), expired=False)
    for when, expired in ((YEARS_7, True), (YEARS_5, False)):
        other = w.person(last_launch=when)  # attendance is one per person and webinar
        w.add(Attendance(webinar_id=webinar.id, person_id=other.id, source="tutor", recorded_at=when), expired=expired)
        w.add(Enrolment(person_id=other.id, course_id=w.course.id, role="participant", updated_at=when), expired=expired)
        w.add(Question(course_id=w.course.id, person_id=owner.id, item_ref="NPQSL/a1", text="Q?", asked_at=when),
              expired=expired)
        w.add(AssessmentParticipant(course_id=w.course.id, person_id=other.id, dfe_participant_id="X",
                                    updated_at=when), expired=expired)
        w.add(AuditEvent(actor="cli", action="retention.test", at=when, detail={}), expired=expired)


def _counts(outcomes) -> Counter:
    return Counter({(o.category, o.table): o.rows for o in outcomes})


def _kept(dbs, model_and_key) -> bool:
    model, key = model_and_key
    return dbs.get(model, key) is not None


def test_dry_run_counts_then_purge_removes_exactly_the_expired(app, platform, dbs):
    runner = app.test_cli_runner()
    with app.app_context():
        baseline = _counts(purge(dry_run=True))
    w = World(dbs, platform.db_id)
    tutor = w.person(last_launch=ago(1))
    owner = w.person(last_launch=ago(1))
    w.add(Enrolment(person_id=owner.id, course_id=w.course.id, role="participant", updated_at=ago(1)), expired=False)
    _session_rows(w, owner)
    _draft_rows(w)
    _work_rows(w, owner, tutor)
    _engagement_dfe_audit_rows(w, owner, tutor)
    w.person(last_launch=ago(30), expired=True)   # nothing kept about them: the person row goes
    w.person(last_launch=ago(2), expired=False)   # just listed or launched: kept for now
    dbs.commit()
    expected = Counter((_category(row), type(row).__tablename__) for row, expired in w.rows if expired)

    dry = runner.invoke(args=["data", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would be deleted" in dry.output
    with app.app_context():
        counted = _counts(purge(dry_run=True))
    assert counted - baseline == expected, (counted - baseline, expected)
    dbs.expire_all()
    assert all(_kept(dbs, row) for row in w.expired + w.fresh)  # the dry run removed nothing

    audit_before = dbs.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    real = runner.invoke(args=["data", "purge"])
    assert real.exit_code == 0, real.output
    for (category, table), rows in counted.items():
        assert f"{category:<11} {table}" in real.output
    assert f"Total: {sum(counted.values())} row(s) deleted." in real.output
    dbs.expire_all()
    gone = [model.__tablename__ for model, key in w.expired if _kept(dbs, (model, key))]
    lost = [model.__tablename__ for model, key in w.fresh if not _kept(dbs, (model, key))]
    assert not gone and not lost, (gone, lost)
    entry = dbs.scalar(select(AuditEvent).where(AuditEvent.action == "data.purge", AuditEvent.id > audit_before))
    assert entry.actor == "cli" and entry.detail["total"] == sum(counted.values())
    assert entry.detail["deleted"]["audit/audit_event"] >= 1


def test_retention_periods_come_from_the_provider_settings(app, platform, dbs):
    w = World(dbs, platform.db_id)
    owner = w.person(last_launch=ago(1))
    w.add(Question(course_id=w.course.id, person_id=owner.id, item_ref="NPQSL/a1", text="Q?", asked_at=ago(3 * 366)),
          expired=False)
    dbs.merge(Setting(key="RETENTION_ENGAGEMENT_YEARS", value=2))
    dbs.commit()
    try:
        with app.app_context():
            first = _counts(purge(dry_run=True, categories=["engagement"]))
            assert first[("engagement", "question")] >= 1
    finally:
        dbs.merge(Setting(key="RETENTION_ENGAGEMENT_YEARS", value=None))
        dbs.commit()
    with app.app_context():  # back to six years: the three-year-old question is kept
        purge(categories=["engagement"], tables=["question"])
    dbs.expire_all()
    assert _kept(dbs, w.fresh[-1])


def _category(row) -> str:
    table = type(row).__tablename__
    if isinstance(row, Person):
        return "identity"
    if table in ("launch_state", "rate_counter", "login_attempt", "access_token", "launch_session"):
        return "session"
    if table in ("writeup_doc", "writeup_version", "activity_work"):
        return "work" if getattr(row, "submitted_at", None) or (table == "writeup_version" and row.saved_at < ago(2000)) \
            else "draft"
    if table in ("attendance", "enrolment", "question"):
        return "engagement"
    if table == "assessment_participant":
        return "dfe"
    if table == "audit_event":
        return "audit"
    return "work"


def test_purge_rules_follow_the_data_inventory():
    """The inventory names each personal column's retention category; the purge must have a rule in
    that category for every table holding personal data (bar the never-purged categories), and no
    rule in a category the inventory does not give that table."""
    from lti_tool.privacy import inventory, retention

    categories_of: dict[str, set[str]] = {}
    for entry in inventory.personal_entries():
        categories_of.setdefault(entry.table, set()).add(entry.retention)
    ruled = {(rule.table.name, rule.category) for rule in retention.RULES}
    # Covered by another category's rule, on purpose: a person row goes (with its last launch) once
    # nothing of theirs is kept; an attempt holds the DfE outcome, so its work rule waits for both
    # periods; the sandbox gradebook is the demo VLE's own record, not the tool's.
    ruled |= {("person", retention.ENGAGEMENT), ("assessment_attempt", retention.DFE), ("sandbox_grade", retention.WORK)}
    missing = sorted((table, category) for table, categories in categories_of.items() for category in categories
                     if category not in retention.NEVER_PURGED and (table, category) not in ruled
                     and not (category == retention.DRAFT_WORK and (table, retention.WORK) in ruled))
    assert missing == [], f"personal data with no purge rule: {missing}"
    # A draft becomes work once submitted, so a table of drafts is purged by both rules; tables with no
    # personal column (login states, tickets, tokens) may be purged in any category.
    stray = sorted((table, category) for table, category in ruled if table in categories_of
                   and category not in categories_of[table] | {retention.DRAFT_WORK, retention.WORK, retention.IDENTITY})
    assert stray == [], f"purge rules in a category the inventory does not give the table: {stray}"
