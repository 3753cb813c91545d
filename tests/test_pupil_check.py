"""The check for pupils' and colleagues' names and dates of birth in work about to be submitted."""
from __future__ import annotations

import pytest

from lti_tool.privacy.pupil_check import DATE_OF_BIRTH, NAME, check, texts_of


def found(text: str) -> list[tuple[str, str]]:
    return [(flag.kind, flag.found) for flag in check(text)]


@pytest.mark.parametrize("text, expected", [
    ("Her DOB 12/03/2015 is on the file.", "DOB 12/03/2015"),
    ("D.O.B.: 01.09.2016", "D.O.B.: 01.09.2016"),
    ("date of birth: 4 Feb 2015", "date of birth: 4 Feb 2015"),
    ("She was born 3 March 2016 in Leeds.", "born 3 March 2016"),
    ("He was born on the 3rd of March 2016.", "born on the 3rd of March 2016"),
    ("born in September 2015, so among the youngest", "born in September 2015"),
])
def test_dates_of_birth_are_flagged(text, expected):
    assert found(text) == [(DATE_OF_BIRTH, expected)]


@pytest.mark.parametrize("text, expected", [
    ("I worked with pupil Amira on her reading.", "pupil Amira"),
    ("A Year 4 child Jack found the routine hard.", "child Jack"),
    ("A student called Tom asked to present.", "student called Tom"),
    ("Jack, a Year 5 pupil, improved fastest.", "Jack, a Year 5 pupil"),
    ("Amira (Year 4) read aloud for the first time.", "Amira (Year 4)"),
    ("Tom, aged 7, joined mid-year.", "Tom, aged 7"),
    ("Mrs Patel led the training for the department.", "Mrs Patel"),
    ("my colleague Sarah observed the lessons", "colleague Sarah"),
])
def test_names_next_to_pupil_words_are_flagged(text, expected):
    assert found(text) == [(NAME, expected)]


@pytest.mark.parametrize("text", [
    "Pupil Premium pupils made more progress than their peers in Year 7.",
    "However, a pupil in Year 7 said the routine helped. Our student Voice survey agreed.",
    "Teachers used retrieval practice with pupils. Key Stage 3 outcomes rose.",
    "The Education Endowment Foundation (EEF) guidance on Metacognition informed the plan.",
    "I was born in the 1980s and trained in Manchester in 2009.",
    "The review on 12/03/2026 compared the data drops from September and March.",
    "Pupil engagement in English and Maths rose. Each pupil Reading Record was checked.",
    "Mrs B, the SENCO, and Mr T (head of maths) reviewed it.",  # initials only: already anonymous
])
def test_ordinary_school_writing_is_not_flagged(text):
    assert found(text) == []


def test_snippets_keep_the_participants_words_and_each_passage_once():
    essay = {"aims": "We began in October. " * 5 + "I sat with pupil Amira each week.",
             "rows": [{"risk": "Pupil Amira moves school", "owner": "Mrs Okafor"}], "refs": ["x", 3, None]}
    flags = check(essay)
    assert [f.found for f in flags] == ["pupil Amira", "Mrs Okafor"]  # "Pupil Amira" again: counted once
    assert flags[0].snippet.startswith("…") and flags[0].snippet.endswith("with pupil Amira each week.")
    assert list(texts_of(essay))[1:] == ["Pupil Amira moves school", "Mrs Okafor", "x"]


def test_at_most_ten_flags():
    text = " ".join(f"pupil {name}" for name in ("Amira Ben Cara Dev Ella Finn Gus Hana Ivo Jada Kai Lola".split()))
    assert len(check(text)) == 10
