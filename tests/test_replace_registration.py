"""A VLE registered again (moved to HTTPS, a new address) replaces its old registration: the
provider admin previews it, confirms, and the courses, people, work and gradebook columns move to
the new registration; the old one is disabled and the audit trail says what moved."""
from __future__ import annotations

import re
import time

from sqlalchemy import select

from lti_tool.models import DISABLED, Course, Person, Placement, Platform
from lti_tool.security_models import AuditEvent

from .browser import Browser, csrf_token
from .conftest import learner, register
from .platform_server import PlatformServer
from .test_security import _admin
from .test_vle_profiles import CHECK, _submit_check, _wait_for_score


def _placed_check(platform, **kw):
    spec = learner(custom={"npq_item": CHECK}, lineitems_url=platform.issuer + "/lineitems", **kw)
    spec.lineitem_url = platform.add_line_item("Knowledge check", 5, resource_id=CHECK)
    return spec


def test_admin_replaces_a_registration_and_the_work_follows(app, tool, dbs):
    old = PlatformServer(tool.url)
    old.db_id = register(app, old)
    new = PlatformServer(tool.url)  # the same VLE at its new address, registered again
    new.db_id = register(app, new)
    try:
        spec = _placed_check(old)
        participant = Browser()
        _submit_check(participant, participant.launch(old, spec))
        _wait_for_score(old, spec.user_id)
        # Someone launches through the new registration before the admin acts: a copy without work.
        same_person = learner(user_id=spec.user_id, context_id=spec.context_id, custom={"npq_programme": "NPQSL"})
        assert Browser().launch(new, same_person).status_code == 200

        admin, _, _ = _admin(app, tool)
        page = admin.http.get(f"{tool.url}/admin/platforms/{new.db_id}/replace", params={"old": old.db_id})
        assert page.status_code == 200 and "What would change" in page.text
        text = re.sub(r"\s+", " ", page.text)
        assert "Moves 1 person and 1 course, with all their work" in text
        assert f"Gradebook addresses change from {old.issuer} to {new.issuer}" in text
        assert "also launched through the new registration without any work there" in text
        done = admin.http.post(f"{tool.url}/admin/platforms/{new.db_id}/replace",
                               data={"csrf_token": csrf_token(page.text), "old": old.db_id})
        assert done.status_code == 200 and "now holds the courses, people and work" in done.text

        dbs.expire_all()
        assert dbs.get(Platform, old.db_id).status == DISABLED
        person = dbs.scalar(select(Person).where(Person.sub == spec.user_id))
        assert person.platform_id == new.db_id  # one person, the old one with its history
        course = dbs.scalar(select(Course).where(Course.context_id == spec.context_id))
        assert course.platform_id == new.db_id
        placement = dbs.scalar(select(Placement).where(Placement.course_id == course.id,
                                                       Placement.line_item_url.is_not(None)))
        assert placement.line_item_url.startswith(new.issuer + "/lineitems/")
        event = dbs.scalar(select(AuditEvent).where(AuditEvent.action == "platform.replaced")
                           .order_by(AuditEvent.id.desc()))
        assert event.detail["from_platform"] == old.db_id and event.detail["people"] == 1

        # The participant launches through the new registration and finds their submitted work.
        again = learner(user_id=spec.user_id, context_id=spec.context_id, resource_link_id=spec.resource_link_id,
                        custom={"npq_item": CHECK}, lineitems_url=new.issuer + "/lineitems")
        again.lineitem_url = new.add_line_item("Knowledge check", 5, resource_id=CHECK)
        page = Browser().launch(new, again)
        assert page.status_code == 200 and "You submitted this on" in page.text
        # And the old registration no longer launches.
        assert Browser().http.get(old.login_url(learner())).status_code == 403
    finally:
        old.stop()
        new.stop()


def test_cli_refuses_when_the_new_copy_holds_work_and_changes_nothing(app, tool, dbs):
    old = PlatformServer(tool.url)
    old.db_id = register(app, old)
    new = PlatformServer(tool.url)
    new.db_id = register(app, new)
    try:
        spec = _placed_check(old)
        b = Browser()
        _submit_check(b, b.launch(old, spec))
        twin = _placed_check(new, user_id=spec.user_id, context_id=spec.context_id)
        b2 = Browser()
        _submit_check(b2, b2.launch(new, twin))  # work under both registrations
        time.sleep(0.2)
        result = app.test_cli_runner().invoke(args=["platform", "replace", str(old.db_id), str(new.db_id), "--yes"])
        assert result.exit_code != 0 and "already has work under the new registration" in result.output
        assert "Nothing was changed" in result.output
        dbs.expire_all()
        assert dbs.get(Platform, old.db_id).status != DISABLED
        assert dbs.scalar(select(Course.platform_id).where(Course.context_id == spec.context_id,
                                                           Course.platform_id == old.db_id)) == old.db_id
    finally:
        old.stop()
        new.stop()


def test_cli_preview_and_replacement(app, tool, dbs):
    old = PlatformServer(tool.url)
    old.db_id = register(app, old)
    new = PlatformServer(tool.url)
    new.db_id = register(app, new)
    try:
        spec = learner()
        assert Browser().launch(old, spec).status_code == 200
        runner = app.test_cli_runner()
        declined = runner.invoke(args=["platform", "replace", str(old.db_id), str(new.db_id)], input="n\n")
        assert declined.exit_code != 0 and "Moves 1 person and 1 course" in declined.output
        result = runner.invoke(args=["platform", "replace", str(old.db_id), str(new.db_id), "--yes"])
        assert result.exit_code == 0, result.output
        dbs.expire_all()
        assert dbs.scalar(select(Person.platform_id).where(Person.sub == spec.user_id)) == new.db_id
        assert runner.invoke(args=["platform", "replace", str(new.db_id), str(new.db_id), "--yes"]).exit_code != 0
    finally:
        old.stop()
        new.stop()
