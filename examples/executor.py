"""An executor on the arena's client (pip install ./clients/python): it runs a small job, counting the
words of a text, step by step, and the arena shows it live to anyone (it is public): the plan and
each step, log lines at every level, a tree of thoughts, one validate-and-correct cycle, and the
result as an artifact.

    python executor.py                               # count the words of a built-in text, once
    python executor.py --text "to be or not to be" --pace 0
    python executor.py --runs 0 --every 20           # a new execution every 20 s, forever
    ARENA_URL=http://arena.example:8080 python executor.py --name my-executor

A cancel from the agent's owner stops the job where it waits, and the execution ends cancelled.
Replace ``count_words`` with your own job: ``agent.executions.run(...)`` does the bookkeeping.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import arena_client as arena

TEXT = """It's not the words you count, it's the words that count. Don't take my word for it:
count them yourself, and you'll find that the shortest words are the ones we use the most.
A text is a crowd of words; most of them are the, and, of and a."""
PLAN = [
    {"id": "read", "name": "Read the text", "description": "Take the text in and look at its shape."},
    {"id": "split", "name": "Split into words", "description": "Cut it into words, ignoring case and punctuation."},
    {"id": "count", "name": "Count", "description": "Tally every word, then check the tally adds up."},
    {"id": "report", "name": "Report", "description": "Write the result down as an artifact."},
]


async def count_words(agent: arena.Client, text: str = TEXT, pace: float = 1.0,
                      say: Callable[[str], Any] = print) -> dict[str, Any]:
    """One execution of the job; returns the execution as it ended (completed, failed or cancelled)."""

    async def beat(times: float = 1.0) -> None:  # pacing, so people can follow it on the page
        await asyncio.sleep(pace * times)

    run = agent.executions.run("text", text, PLAN, is_public=True, metadata={"job": "word count", "pace": pace})
    async with run as ex:  # running now; ends completed, failed (if this block raises) or cancelled
        say(f"execution {ex.id} running: {agent.page_url('executions/' + ex.id)}")
        ex.on_cancel(lambda reason: say(f"cancel asked: {reason}"))

        started = time.monotonic()
        await ex.step("read", "running")
        await ex.thought("goal", "input", f"Count the words of a text of {len(text)} characters.", confidence=1.0)
        lines = text.splitlines()
        ex.log(f"read {len(text)} characters in {len(lines)} lines", step_id="read")
        for number, line in enumerate(lines, 1):
            ex.log(f"line {number}: {line[:200]}", "debug", step_id="read", metadata={"length": len(line)})
        await beat()
        await ex.step("read", "completed", output=f"{len(text)} characters, {len(lines)} lines",
                      duration_ms=int((time.monotonic() - started) * 1000))

        started = time.monotonic()
        await ex.step("split", "running")
        await ex.thought("how", "processing", "Lower-case everything and split on whatever is not a letter.",
                         parent_id="goal", confidence=0.8)
        ex.log("<b>splitting</b> on non-letters: markup like <i>this</i> is shown as text", step_id="split")
        words = re.findall(r"[a-z]+", text.lower())  # a first try: "don't" becomes "don" and "t"
        for i in range(0, len(words), 10):
            ex.log(f"words {i + 1}-{min(i + 10, len(words))}: {' '.join(words[i:i + 10])}", "debug", step_id="split")
        await beat()
        await ex.step("split", "completed", output=f"{len(words)} words",
                      duration_ms=int((time.monotonic() - started) * 1000))

        started = time.monotonic()
        await ex.step("count", "running")
        await ex.thought("tally", "action", "Tally the words, then check against a plain whitespace split.",
                         parent_id="how", confidence=0.9)
        tally = Counter(words)
        ex.log(f"{sum(tally.values())} words, {len(tally)} distinct", step_id="count")
        await beat()
        await ex.status("validating")
        await ex.step("count", "validating")
        expected = len([token for token in text.split() if re.search(r"\w", token)])
        if sum(tally.values()) != expected:  # the first try split contractions in two: correct it once
            ex.log(f"the tally says {sum(tally.values())} words, a whitespace split says {expected}", "warning",
                   step_id="count", metadata={"tally": sum(tally.values()), "expected": expected})
            ex.log("contractions like <code>don't</code> were cut in two", "error", step_id="count")
            await beat()
            await ex.status("correcting")
            await ex.step("count", "correcting")
            await ex.thought("fix", "processing", "Keep apostrophes inside words: don't is one word.",
                             parent_id="how", confidence=0.95)
            words = re.findall(r"\w+(?:['’-]\w+)*", text.lower())
            tally = Counter(words)
            ex.log(f"recounted: {sum(tally.values())} words, {len(tally)} distinct", step_id="count")
            if sum(tally.values()) != expected:
                ex.log(f"still {abs(sum(tally.values()) - expected)} off the whitespace split (abbreviations and "
                       "the like): keeping this count", "warning", step_id="count")
            await beat()
            await ex.step("count", "running", attempts=2)
        else:
            ex.log("the tally adds up", step_id="count")
        await ex.status("running")
        await ex.step("count", "completed", output=f"{sum(tally.values())} words, {len(tally)} distinct",
                      duration_ms=int((time.monotonic() - started) * 1000))

        await ex.step("report", "running")
        top = tally.most_common(5)
        summary = {"words": sum(tally.values()), "distinct": len(tally), "top": [[w, n] for w, n in top]}
        await ex.artifact("summary", "word-count.json", summary)
        await ex.thought("answer", "output", f"{summary['words']} words; the most frequent: "
                         + ", ".join(f"{w} ({n})" for w, n in top[:3]) + ".", parent_id="tally", confidence=0.97)
        ex.log(f"<top> {', '.join(f'{w}={n}' for w, n in top)}", "info", step_id="report")
        await beat(0.5)
        await ex.step("report", "completed", output=f"{summary['words']} words")
    end = ex.execution
    say(f"{end['status']}: " + (f"{summary['words']} words, the most frequent: {top[0][0] if top else '-'}"
                                if end["status"] == "completed" else str(end["error_message"])))
    return end


async def main(args: argparse.Namespace) -> None:
    text = args.text if args.text is not None else TEXT
    async with arena.Client(args.url, name=args.name, description="Counts words, step by step, in public.") as agent:
        done = 0
        while args.runs == 0 or done < args.runs:
            if done:
                await asyncio.sleep(args.every)
            await count_words(agent, text, args.pace)
            done += 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="An executor for Agent Arena: counts the words of a text.")
    parser.add_argument("--url", help="the arena (default: ARENA_URL or http://127.0.0.1:8080)")
    parser.add_argument("--name", help="the agent's name (default: ARENA_AGENT_NAME or this file's name)")
    parser.add_argument("--text", help="the text to count (default: a short paragraph)")
    parser.add_argument("--pace", type=float, default=1.0, help="seconds between the job's moves (0: at once)")
    parser.add_argument("--runs", type=int, default=1, help="how many executions to run (0: forever)")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between executions")
    arena.run(main(parser.parse_args()))
