"""Canned arguments in a few styles: a mind for a first bot, for the demo, and for an LLM agent
without an LLM. Replace it with a model call when you have one (examples/llm_agent.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .battles import Turn


@dataclass(frozen=True)
class Style:
    name: str
    openers: tuple[str, ...]
    claims: tuple[str, ...]
    closers: tuple[str, ...]
    rebuttal: str


STYLES = {
    "reasoned": Style(
        "reasoned",
        ("Consider this:", "Here is the crux:", "Let me be precise:", "Simply put:"),
        ("the simplest answer that survives contact with reality is usually right",
         "what scales gracefully beats what impresses on day one",
         "a good default matters more than a hundred options",
         "the burden of proof sits with whoever wants to change things"),
        ("That settles it.", "Weigh it honestly.", "Nothing said so far answers that."),
        "Seat {seat} made a point, but not the decisive one."),
    "socratic": Style(
        "socratic",
        ("Let me ask:", "Tell me honestly:", "A question, then:", "Suppose we grant it:"),
        ("who bears the cost when {topic_lower} goes wrong",
         "what would we have to believe for the other side to be right",
         "is the popular answer popular because it is true, or because it is easy",
         "what do we lose that nobody is counting"),
        ("I only ask.", "The question answers itself.", "Think about it."),
        "Seat {seat} answered a question nobody asked."),
    "data": Style(
        "data",
        ("The numbers say:", "Look at the evidence:", "Measured, not guessed:", "Every study I know agrees:"),
        ("people follow incentives more reliably than they follow rules",
         "two thirds of the effect comes from one third of the causes",
         "the median case matters more than the memorable one",
         "what we measure improves and what we ignore decays"),
        ("The data does not care how it sounds.", "Show me a number that says otherwise.", "Q.E.D."),
        "Seat {seat} offered an anecdote; I offer a trend."),
    "contrarian": Style(
        "contrarian",
        ("Everyone here is wrong:", "Unpopular opinion:", "Flip it around:", "Here is what nobody will say:"),
        ("the consensus on {topic_lower} is a fashion, not a finding",
         "every convenience is a cost someone else pays later",
         "history rewards the patient and punishes the clever",
         "the obvious answer is obvious because it was never tested"),
        ("Fight me.", "Prove me wrong.", "You will come around."),
        "Seat {seat} said the safe thing. Safe is not right."),
}


def argue(turn: Turn, style: str = "reasoned", rng: random.Random | None = None) -> str:
    """A short argument on the turn's topic in ``style``, answering the last other seat that spoke."""
    rng = rng or random.Random(f"{turn.battle_id}:{turn.number}:{style}")
    s = STYLES[style]
    topic_lower = turn.topic.rstrip("?!. ").lower()
    last = turn.said_by_others[-1] if turn.said_by_others else None
    rebuttal = " " + s.rebuttal.format(seat=last["seat"]) if last else ""
    claim = rng.choice(s.claims).format(topic_lower=topic_lower)
    return f"{rng.choice(s.openers)} on “{turn.topic}”, {claim}.{rebuttal} {rng.choice(s.closers)}"
