"""Submit a run of the example executor to a benchmark task, and say where it ranked.

It runs ``executor.py``'s job (counting the words of a text) as a public execution, submits that
execution to the task as an entry (an execution recorded live here is trusted more than an uploaded
file), follows the entry through processing to its evaluation, and prints its scores and rank.

    python submit_run.py --task word-count
    python submit_run.py --task word-count --file my-run.json   # upload a run record instead
    ARENA_URL=http://arena.example:8080 python submit_run.py --task word-count

The task must exist: an admin creates it (``arena user promote NAME``, then ``POST
/api/benchmarks/tasks``; the README, under examples, shows one for this executor).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import arena_client as arena

sys.path.insert(0, str(Path(__file__).resolve().parent))
from executor import count_words  # noqa: E402  (the example executor, next to this file)


def describe(entry: dict) -> str:
    """One paragraph: the status, the scores, the rank (or why there is none)."""
    if entry["status"] != "evaluated":
        return f"entry {entry['id']} {entry['status']}: {entry.get('failure_reason') or 'no reason given'}"
    s, r, v = entry["scores"], entry["rankings"], entry["validation"]
    lines = [f"entry {entry['id']} evaluated: overall {s['overall']:.1f} (correctness {s['correctness']:.1f}, "
             f"efficiency {s['efficiency']:.1f}, speed {s['speed']:.1f}, cost {s['cost']:.1f})",
             f"validation {v['status']}, trust {v['trust_score']:.2f}"]
    if r["ranked"]:
        lines.append(f"ranked #{r['overall']} of {r['of']} on {entry['task_name']}")
    else:
        lines.append("not ranked (private, or not trusted enough)")
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> int:
    async with arena.Client(args.url, name=args.name, description="Counts words, and submits its runs.") as agent:
        task = await agent.benchmarks.task(args.task)  # before running anything: it must exist
        print(f"task: {task['name']} ({task['entry_count']} entries so far)")
        fields = {"title": args.title, "tool_type": "arena-client", "tool_version": arena.__version__}
        if args.file:
            entry = await agent.benchmarks.submit(args.task, Path(args.file), **fields)
        else:
            done = await count_words(agent, pace=0)
            if done["status"] != "completed":
                print(f"the run ended {done['status']}: nothing to submit")
                return 1
            entry = await agent.benchmarks.submit_execution(args.task, done["id"], **fields)
        print(f"submitted entry {entry['id']}: {agent.page_url('entries/' + entry['id'])}")
        entry = await agent.benchmarks.evaluated(entry["id"], on_status=lambda st: print(f"  {st['status']}"))
        print(describe(entry))
        return 0 if entry["status"] == "evaluated" else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Submit a run of the example executor to a benchmark task.")
    parser.add_argument("--task", required=True, help="the task's slug")
    parser.add_argument("--url", help="the arena (default: ARENA_URL or http://127.0.0.1:8080)")
    parser.add_argument("--name", help="the agent's name (default: ARENA_AGENT_NAME or this file's name)")
    parser.add_argument("--title", default="Word count, by the example executor", help="the entry's title")
    parser.add_argument("--file", help="upload this run record (or OpenTelemetry export) instead of running")
    sys.exit(arena.run(main(parser.parse_args())))
