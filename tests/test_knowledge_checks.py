"""Knowledge checks that test understanding: each person's own stable order of options, scoring that
ignores the order, the programme's attempts policy (best of three, feedback after the last attempt),
and the content check's limits on where the keys sit and how long they are."""
from __future__ import annotations

import re
import shutil
import time

import yaml
from datetime import timedelta

from sqlalchemy import select, update

from lti_tool import wording
from lti_tool.content import load_programmes
from lti_tool.db import db, utcnow
from lti_tool.grades.delivery import deliver_due
from lti_tool.models import ActivitySubmission, ActivityWork, GradeOutbox, Person

from .browser import Browser, csrf_token
from .conftest import learner
from .test_content import PACKS

RADIO = re.compile(r'<input type="radio" id="answer-[^"]+" name="answer-([a-z0-9-]+)" value="(\d+)"[^>]*>\s*'
                   r'<label for="[^"]+">([^<]*)</label>')


def _shown(html: str) -> dict[str, list[tuple[int, str]]]:
    """Each question's options as the page shows them: (value sent, label) in display order."""
    shown: dict[str, list[tuple[int, str]]] = {}
    for qid, value, label in RADIO.findall(html):
        shown.setdefault(qid, []).append((int(value), label))
    return shown


def _activity(activity_id: str):
    return load_programmes(PACKS)["NPQSL"].activities[activity_id]


def _unescape(text: str) -> str:
    return text.replace("&#39;", "'").replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def _answers_as_shown(html: str, activity, right: set[str]) -> dict[str, str]:
    """Pick options by the text the page shows: the key for questions in `right`, a wrong one otherwise."""
    data = {"csrf_token": csrf_token(html), "action": "submit"}
    for question in activity.questions:
        key_text = question.options[question.correct_index].text
        for value, label in _shown(html)[question.id]:
            if (_unescape(label) == key_text) == (question.id in right):
                data[f"answer-{question.id}"] = str(value)
                break
    return data


def _wait_for(predicate, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_option_order_is_stable_per_person_and_differs_across_people(platform):
    asha, ben = Browser(), Browser()
    spec = learner(custom={"npq_item": "NPQSL/sc-check"})
    first = asha.launch(platform, spec)
    again = asha.launch(platform, spec)  # a second launch: a new session, the same person
    other = ben.launch(platform, learner(context_id=spec.context_id, user_id="learner-ben", name="Ben Okafor",
                                         custom={"npq_item": "NPQSL/sc-check"}))
    orders = [_shown(page.text) for page in (first, again, other)]
    assert orders[0] == orders[1]
    activity = _activity("sc-check")
    assert set(orders[0]) == {q.id for q in activity.questions}
    # Every option is offered once, under its pack index, whatever the order.
    for question in activity.questions:
        assert sorted(v for v, _ in orders[0][question.id]) == list(range(len(question.options)))
    # Across the module's checks (ten questions) two people are as good as certain to differ.
    other_check = re.sub(r"sc-check$", "te-check", first.url)
    asha_all = [orders[0], _shown(asha.http.get(other_check).text)]
    ben_all = [orders[2], _shown(ben.http.get(re.sub(r"sc-check$", "te-check", other.url)).text)]
    assert asha_all != ben_all


def test_best_of_three_attempts_scored_through_the_shuffle(platform, browser, dbs):
    spec = learner(custom={"npq_item": "NPQSL/sc-check"}, lineitems_url=platform.issuer + "/lineitems")
    spec.lineitem_url = platform.add_line_item("Knowledge check", 5, resource_id="NPQSL/sc-check")
    page = browser.launch(platform, spec)
    activity = _activity("sc-check")
    ids = [q.id for q in activity.questions]
    assert "You have 3 attempts at this check" in page.text

    # Attempt 1: three right. Which ones were wrong is not shown yet.
    done = browser.http.post(page.url, data=_answers_as_shown(page.text, activity, set(ids[:3])))
    assert "You scored 3 out of 5" in done.text and "You have 2 attempts left" in done.text
    assert "Not quite." not in done.text and "The best answer:" not in done.text

    # Attempt 2: every option chosen as the page shows it, after the shuffle: full marks.
    done = browser.http.post(page.url, data=_answers_as_shown(done.text, activity, set(ids)))
    assert "You scored 5 out of 5" in done.text
    assert "Correct." in done.text  # all right: nothing left to gain, so the feedback is shown

    # Attempt 3: one right. The gradebook keeps the best attempt.
    done = browser.http.post(page.url, data=_answers_as_shown(done.text, activity, set(ids[:1])))
    assert "You scored 1 out of 5" in done.text and "That was your last attempt" in done.text
    assert "Not quite." in done.text and "The best answer:" in done.text
    assert "Submit again" not in done.text

    # A fourth attempt is refused, clearly, and the answers are kept as a draft.
    fourth = _answers_as_shown(done.text, activity, set(ids[:2]))
    refused = browser.http.post(page.url, data={**fourth, "version": _version(done.text)})
    assert refused.status_code == 409
    assert "You have used all 3 attempts at this knowledge check" in refused.text
    assert "Your best score, 5, is the one in your course&#39;s gradebook" in refused.text

    work = dbs.scalar(select(ActivityWork).join(Person, Person.id == ActivityWork.person_id)
                      .where(ActivityWork.activity_ref == "NPQSL/sc-check", Person.sub == spec.user_id))
    scores = dbs.scalars(select(ActivitySubmission.score).where(ActivitySubmission.work_id == work.id)
                         .order_by(ActivitySubmission.id)).all()
    assert scores == [3, 5, 1]
    assert work.status == "draft" and work.answers[ids[1]] == fourth[f"answer-{ids[1]}"]

    assert _wait_for(lambda: len(platform.received.scores) == 3), platform.received.scores
    sent = [body["scoreGiven"] for _, body in platform.received.scores]
    assert sent == [3, 5, 5]  # always the best so far
    assert platform.received.scores[-1][1]["scoreMaximum"] == 5


def test_an_older_score_held_back_is_not_sent_after_a_newer_one_arrived(platform, browser, app, dbs):
    """Attempt 1's score meets a platform outage and waits for its retry; attempt 2's score is sent
    meanwhile. The retry must not then be posted (the platform would refuse its older timestamp)
    nor shown to a tutor as a refusal: the gradebook already holds the newer score."""
    spec = learner(custom={"npq_item": "NPQSL/sc-check"}, lineitems_url=platform.issuer + "/lineitems")
    spec.lineitem_url = platform.add_line_item("Knowledge check", 5, resource_id="NPQSL/sc-check")
    page = browser.launch(platform, spec)
    activity = _activity("sc-check")
    ids = [q.id for q in activity.questions]
    gb = platform.gradebook
    gb.fail_next, gb.fail_status = 1, 503

    done = browser.http.post(page.url, data=_answers_as_shown(page.text, activity, set(ids[:2])))
    assert "You scored 2 out of 5" in done.text
    assert _wait_for(lambda: (e := _entries(app, spec.user_id)) and e[0].attempts == 1 and e[0].lease_owner is None)
    first = _entries(app, spec.user_id)[0]
    assert first.status == "pending" and "503" in first.last_error and not first.maybe_delivered
    with app.app_context():  # its backoff has grown: the next attempt is an hour away
        db().execute(update(GradeOutbox).where(GradeOutbox.id == first.id)
                     .values(next_attempt_at=utcnow() + timedelta(hours=1)))
        db().commit()

    done = browser.http.post(page.url, data=_answers_as_shown(done.text, activity, set(ids[:4])))
    assert "You scored 4 out of 5" in done.text
    assert _wait_for(lambda: len(e := _entries(app, spec.user_id)) == 2 and e[1].status == "delivered")
    assert [body["scoreGiven"] for _, body in platform.received.scores] == [4]

    posts = platform.received.score_attempts
    with app.app_context():
        db().execute(update(GradeOutbox).where(GradeOutbox.id == first.id).values(next_attempt_at=utcnow()))
        db().commit()
        assert deliver_due() == 1
    first, second = _entries(app, spec.user_id)
    assert platform.received.score_attempts == posts  # not posted again
    # Recorded as what happened: never sent (so erasure deletes it), and not a failure.
    assert first.status == "superseded" and first.delivered_at is None and first.last_error is None
    assert second.status == "delivered" and second.delivered_at is not None
    assert wording.delivery_status(first.status) == "not sent: a newer grade was sent"
    assert gb.latest[(spec.lineitem_url, spec.user_id)]["scoreGiven"] == 4


def _entries(app, user_id: str) -> list[GradeOutbox]:
    with app.app_context():
        return list(db().scalars(select(GradeOutbox).where(GradeOutbox.source == "activity")
                                 .where(GradeOutbox.score["userId"].as_string() == user_id)
                                 .order_by(GradeOutbox.id)))


def _version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def test_content_check_fails_a_pack_with_every_key_first(app, tmp_path):
    shutil.copytree(PACKS / "npqsl", tmp_path / "npqsl")
    path = tmp_path / "npqsl" / "modules.yaml"
    data = yaml.safe_load(path.read_text())
    for module in data["modules"]:
        for activity in module["activities"]:
            for question in activity["questions"]:
                if question["type"] == "choice":
                    question["options"].sort(key=lambda o: not o.get("correct"))
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    result = app.test_cli_runner().invoke(args=["content", "check", str(tmp_path)])
    assert result.exit_code != 0
    assert re.search(r"NPQSL modules.yaml: knowledge checks: \d+ of \d+ correct answers are option 1 \(100%", result.output)


def test_shipped_packs_report_and_pass_the_knowledge_check_limits(app):
    result = app.test_cli_runner().invoke(args=["content", "check"])
    assert result.exit_code == 0, result.output
    for code in ("NPQSL", "NPQLT"):
        line = next(l for l in result.output.splitlines() if l.startswith(f"{code}: knowledge checks:"))
        assert "correct answers at option 1:" in line and "longest option is the key in" in line
