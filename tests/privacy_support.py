"""A course where one participant (P, "Pia Owner") has a full set of work, made through the real
flows: a submitted, marked and released risk assessment, a draft action plan with versions, an
activity draft and a submitted activity, a question answered by the tutor, a case-study response,
webinar attendance and a DfE participant ID. A second participant (Q) has work of their own, so
exports and erasure can be checked for what must not leak or change."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from .browser import csrf_token, forms
from .test_assessment import GOOD, _submit
from .test_marking import _doc_link, _mark_form
from .test_route_matrix import NAME, SECRET_ACTIVITY, SECRET_DRAFT, SECRET_QUESTION, SECRET_RISK, World, build_world
from .test_security import _autosave, _post, _qids, _settle

SECRET_CASE = "PIA-SECRET-CASE"
SECRET_SUBMITTED = "PIA-SECRET-SUBMITTED-ACTIVITY"
SECRET_FEEDBACK = "PIA-FEEDBACK-FROM-TESS"
TUTOR_ANSWER = "PIA-ANSWER-FROM-TESS"
DFE_ID = "7a8b9c0d-1e2f-4a5b-8c9d-0e1f2a3b4c5d"
P_SECRETS = (SECRET_RISK, SECRET_DRAFT, SECRET_ACTIVITY, SECRET_QUESTION, SECRET_CASE, SECRET_SUBMITTED)
Q_SECRETS = ("QUINN-SECRET-RISK", "QUINN-SECRET-ACTIVITY", "QUINN-SECRET-QUESTION")
SUBMITTED_ACTIVITY = "sc-scenario"


@dataclass
class PrivacyWorld:
    world: World
    p_id: int
    q_id: int
    t_id: int
    p_sub: str

    def session(self, actor: str) -> str:
        return f"{self.world.tool_url}/s/{self.world.sids[actor]}/"


def _tutor_work(w: World, p_id: int) -> None:
    t, base = w.browsers["T"], f"{w.tool_url}/s/{w.sids['T']}/"
    queue = t.http.get(base + "marking/NPQSL/risk-assessment")
    page = t.http.get(w.tool_url + _doc_link(queue, NAME))
    data, _ = _mark_form(page, [2, 2, 2, 2, 2], overall=SECRET_FEEDBACK + " Clear and well judged.")
    released = t.http.post(page.url, data={**data, "action": "release", "kind": "first"})
    assert "Mark released" in released.text, released.text[-800:]
    questions = t.http.get(base + "questions")
    action = re.search(r'action="([^"]+/answer)"', questions.text).group(1)
    t.http.post(w.tool_url + action, data={"csrf_token": csrf_token(questions.text), "answer": TUTOR_ANSWER})
    webinar = w.values["webinar_id"]
    attendance = t.http.get(f"{base}webinars/{webinar}/attendance")
    saved = t.http.post(attendance.url, data={"csrf_token": csrf_token(attendance.text), "present": [str(p_id)]})
    assert saved.status_code == 200, saved.text[:400]
    person_page = t.http.get(f"{base}assessment/NPQSL/engagement/{p_id}")
    done = t.http.post(person_page.url, data={"csrf_token": csrf_token(person_page.text), "dfe_participant_id": DFE_ID})
    assert done.status_code in (200, 303), done.text[:400]


def _participant_work(w: World) -> None:
    p, base = w.browsers["P"], f"{w.tool_url}/s/{w.sids['P']}/"
    case = p.http.get(base + "assessment/NPQSL")
    answers = {k: f"{SECRET_CASE} {v}" for k, v in GOOD.items()}
    submitted = _submit(p, case, answers)
    assert submitted.status_code == 200 and "submitted" in submitted.text.lower(), submitted.text[:400]
    activity = p.http.get(f"{base}activities/NPQSL/{SUBMITTED_ACTIVITY}")
    form = next(f for f in forms(activity.text) if "version" in f.fields)
    data = {**form.fields, "action": "submit",
            **{k: SECRET_SUBMITTED for k in form.fields if k.startswith("answer-")}}
    done = p.http.post(activity.url, data=data)
    assert "You submitted this on" in done.text, done.text[:600]


def _other_participant_work(w: World) -> None:
    q, base = w.browsers["Q"], f"{w.tool_url}/s/{w.sids['Q']}/"
    risk = q.http.get(base + "writeups/NPQSL/risk-assessment")
    assert _post(q, risk, {"f.overview.description": Q_SECRETS[0]}).status_code == 200
    activity = q.http.get(base + "activities/NPQSL/sc-reading")
    assert _autosave(q, activity, {"answers": {_qids(activity)[0]: Q_SECRETS[1]}, "version": 0}).ok
    asked = q.http.post(base + "questions", data={"csrf_token": csrf_token(activity.text), "question": Q_SECRETS[2],
                                                  "item_ref": "NPQSL/sc-reading"})
    assert asked.status_code == 200


def build_privacy_world(app, tool, platform) -> PrivacyWorld:
    w = build_world(app, tool, platform)
    p_id = w.values["owner_id"]
    _participant_work(w)
    _tutor_work(w, p_id)
    _other_participant_work(w)
    _settle(app, [platform.db_id])
    with app.app_context():
        from lti_tool.db import db
        from lti_tool.models import Person

        people = {p.name: p for p in db().scalars(select(Person).where(Person.platform_id == platform.db_id))}
        return PrivacyWorld(w, p_id, people["Quinn Second"].id, people["Tess Tutor"].id, people[NAME].sub)
