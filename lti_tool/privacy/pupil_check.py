"""Before work is submitted: does it seem to name a pupil or a colleague, or give a date of birth?

A warning, never a block: the participant sees the flagged passages and may submit anyway. The
patterns look for a capitalised name right next to a word that says who the person is ("pupil
Amira", "Year 4 child Jack", "student called Tom", "Jack, a Year 5 pupil", "Mrs Patel") and for
dates of birth ("DOB 12/03/2015", "born 3 March 2016"), so an ordinary capitalised word (a
sentence's first word, "Pupil Premium", "Year 7") is not flagged."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

DATE_OF_BIRTH, NAME = "a date of birth", "a name"
# The value of the submit button on the warning: submit without checking again.
SUBMIT_ANYWAY = "submit-anyway"
CONTEXT = 40  # characters shown either side of a flagged passage
MAX_FLAGS = 10

MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
NUMERIC_DATE = r"\d{1,2}\s?[/.\-]\s?\d{1,2}\s?[/.\-]\s?(?:\d{4}|\d{2})\b"
DAY = r"\d{1,2}(?:st|nd|rd|th)?\b"
WORDY_DATE = rf"(?:{DAY}\s+(?:of\s+)?{MONTHS}(?:\s+\d{{4}})?|{MONTHS}\s+\d{{4}}|{MONTHS}\s+{DAY}(?:,?\s+\d{{4}})?)"

_DOB = re.compile(
    rf"(?i:\b(?:d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|birth\s?date|birthday)\s*(?:is|was|:|-|–)?\s*)"
    rf"(?:{NUMERIC_DATE}|(?i:{WORDY_DATE}))"
    rf"|(?i:\bborn\s+(?:on\s+|in\s+)?(?:the\s+)?)(?:{NUMERIC_DATE}|(?i:{WORDY_DATE}))")

GIVEN = r"(?P<name>[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?)"
PUPIL_WORDS = r"(?:pupil|student|child|learner|boy|girl|son|daughter|toddler|teen(?:ager)?|colleague)"
TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx)\.?"
_NAMES = (
    # "pupil Amira", "Year 4 child Jack", "student called Tom", "a colleague named Sarah"
    re.compile(rf"(?i:\b{PUPIL_WORDS}s?)(?:\s+(?i:called|named|known\s+as))?\s+{GIVEN}\b"),
    # "Jack, a Year 5 pupil", "Amira (Year 4)", "Tom, aged 7"
    re.compile(rf"\b{GIVEN},?\s+(?i:(?:a|an|our|one|my)\s+(?:(?:year|yr)\s*\d{{1,2}}\s+|reception\s+)?{PUPIL_WORDS})\b"),
    re.compile(rf"\b{GIVEN}\s+\((?i:(?:year|yr|y)\s*\d{{1,2}}|reception|aged?\s+\d{{1,2}})\)"),
    re.compile(rf"\b{GIVEN},?\s+(?i:aged)\s+\d{{1,2}}\b"),
    # "Mrs Patel", "Mr O'Neill": a colleague (or a parent) by name
    re.compile(rf"\b{TITLES}\s+(?P<name>[A-Z][a-z]*(?:[-'’][A-Z]?[a-z]+)?)\b"),
)
# Capitalised words that follow "pupil", "student"... in ordinary school writing and are no names.
NOT_NAMES = frozenset("""
    A An And As At But By For From He Her His I If In It Its My No Not Of On Or Our She So That The Their Them
    Then There These They This Those To We Were What When Where Which Who Whose With You Your Year Years Yr
    Reception Key Stage Premium Voice Council Leadership Leader Leaders Progress Attainment Outcomes Data Support
    Wellbeing Welfare Behaviour Attendance Passport Profile Profiles Tracker Survey Surveys Teacher Teachers
    Protection Services Referral Unit Panel Plan Plans Record Records Services Mental Health English Maths
    Mathematics Science History Geography French Spanish Art Music Drama Computing Reading Writing Literacy
    Numeracy Phonics Premium Sport Sports Parliament Ambassador Ambassadors Champion Champions Mentor Mentors
    Services Finance Loans Union Led Centred Centered Engagement Agency Focus Group Groups Questionnaire
    Feedback Conferencing Interviews Interview Voices Work Book Books Journal Journals Portfolio Portfolios
    Premium Plus Pupils Students Children Learners Colleagues Staff Head Heads Deputy Assistant Governor
    Governors Trust School Schools Academy January February March April May June July August September October
    However Instead Therefore Additionally Finally Firstly Secondly Thirdly Meanwhile Overall Similarly
    Consequently Again Also Often Sometimes Today Yesterday Here Now Later Afterwards Previously Currently
    Subsequently Nevertheless Initially Recently Typically Eventually Unfortunately Fortunately Importantly
    Interestingly Notably Crucially Likewise Furthermore Moreover Next Last First Second Third Every Each Any
    One Two Three Four Five Six Seven Eight Nine Ten Only Just Even Because Although While Since After Before
    November December Monday Tuesday Wednesday Thursday Friday Saturday Sunday
""".split())


@dataclass(frozen=True)
class Flag:
    kind: str     # DATE_OF_BIRTH or NAME
    found: str    # the words that matched
    snippet: str  # the passage around them, as the participant wrote it


def texts_of(value: Any) -> Iterable[str]:
    """Every piece of text in a write-up's content or a response's answers (nested dicts, lists)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts_of(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from texts_of(item)


def _snippet(text: str, start: int, end: int) -> str:
    left, right = max(0, start - CONTEXT), min(len(text), end + CONTEXT)
    passage = " ".join(text[left:right].split())
    return ("…" if left else "") + passage + ("…" if right < len(text) else "")


def _in_text(text: str) -> Iterable[Flag]:
    for match in _DOB.finditer(text):
        yield Flag(DATE_OF_BIRTH, match.group(0).strip(), _snippet(text, match.start(), match.end()))
    for pattern in _NAMES:
        for match in pattern.finditer(text):
            if match.group("name") in NOT_NAMES or len(match.group("name")) < 2:
                continue
            yield Flag(NAME, match.group(0).strip(), _snippet(text, match.start(), match.end()))


def check(content: Any) -> list[Flag]:
    """Passages that seem to identify a pupil or colleague (at most MAX_FLAGS, each once)."""
    flags, seen = [], set()
    for text in texts_of(content):
        for flag in _in_text(text):
            key = (flag.kind, flag.found.lower())
            if key not in seen:
                seen.add(key)
                flags.append(flag)
                if len(flags) >= MAX_FLAGS:
                    return flags
    return flags
