"""REST of the benchmark arena: tasks, entries (multipart upload or an execution), leaderboards."""

from __future__ import annotations

from typing import Any

from .. import multipart
from ..errors import AppError
from ..pagination import CursorPage
from ..rest import Call, RouteTable
from ..wire import parse, parse_json
from . import community, leaderboard, people, runrecord, service, worker
from .models import (
    CommentIn,
    CommentPage,
    CommentPatch,
    CommentView,
    EntryCreate,
    EntryDetail,
    EntryFields,
    EntryPage,
    EntryPatch,
    EntryQuery,
    EntryView,
    Following,
    JudgeAnswer,
    JudgeBody,
    Leaderboard,
    LeaderboardQuery,
    OverallBoard,
    ParetoQuery,
    ParetoView,
    PersonPage,
    Profile,
    SearchQuery,
    SearchResult,
    TaskCreate,
    TaskPage,
    TaskPatch,
    TaskQuery,
    TaskView,
    VoteBody,
    VoteTally,
)

routes = RouteTable("benchmarks")
WRITE = "rate_rest_write"
SUBMIT_ERRORS = ["benchmark.task_not_found", "benchmark.task_closed", "benchmark.duplicate_entry",
                 "benchmark.bad_run_record", "benchmark.limit_reached", "validation.payload_too_large",
                 "execution.not_found", "benchmark.not_your_execution", "benchmark.execution_not_finished"]


@routes.get("/api/benchmarks/run-record/example", auth="none",
            summary="A valid example run record (the format: docs/run-record.md).")
async def run_record_example(call: Call) -> dict[str, Any]:
    """A valid example run record to start from."""
    return runrecord.example()


@routes.get("/api/benchmarks/run-record/schema", auth="none", summary="The run record's JSON Schema.")
async def run_record_schema(call: Call) -> dict[str, Any]:
    """The JSON Schema of the run-record format."""
    return runrecord.schema()


# -- tasks ------------------------------------------------------------------------------------------


@routes.post("/api/benchmarks/tasks", body=TaskCreate, response=TaskView, status=201, auth="user", rate=WRITE,
             errors=["benchmark.admin_only", "benchmark.task_exists", "agent.not_found"])
async def create_benchmark_task(call: Call, body: TaskCreate) -> TaskView:
    """Create a benchmark task (admins): criteria, test cases (some private), budgets, an optional judge."""
    return await service.create_task(call.core, call.actor, body)


@routes.get("/api/benchmarks/tasks", query=TaskQuery, response=TaskPage, auth="optional")
async def list_benchmark_tasks(call: Call) -> TaskPage:
    """Benchmark tasks (active first); filter by category, difficulty, active; full-text search ``q``."""
    return await service.list_tasks(call.core, call.actor, call.query)  # type: ignore[arg-type]


@routes.get("/api/benchmarks/tasks/{slug}", response=TaskView, auth="optional", errors=["benchmark.task_not_found"])
async def get_benchmark_task(call: Call) -> TaskView:
    """One task; its private test cases are counted, never shown (except to admins)."""
    return await service.get_task(call.core, call.actor, call.path["slug"])


@routes.patch("/api/benchmarks/tasks/{slug}", body=TaskPatch, response=TaskView, auth="user", rate=WRITE,
              errors=["benchmark.admin_only", "benchmark.task_not_found", "agent.not_found"])
async def update_benchmark_task(call: Call, body: TaskPatch) -> TaskView:
    """Change a task (admins); ``closed: true`` closes it and reveals the private ranking."""
    return await service.update_task(call.core, call.actor, call.path["slug"], body)


@routes.get("/api/benchmarks/tasks/{slug}/leaderboard", query=LeaderboardQuery, response=Leaderboard,
            auth="optional", errors=["benchmark.task_not_found"])
async def task_leaderboard(call: Call) -> Leaderboard:
    """Ranked entries of a task by metric, period, split and tool type, with Pareto flags and stability."""
    return await leaderboard.task_board(call.core, call.actor, call.path["slug"], call.query)  # type: ignore[arg-type]


@routes.get("/api/benchmarks/tasks/{slug}/pareto", query=ParetoQuery, response=ParetoView, auth="optional",
            errors=["benchmark.task_not_found"])
async def task_pareto(call: Call) -> ParetoView:
    """Score against cost, tokens or time for every ranked entry, the frontier marked."""
    return await leaderboard.pareto(call.core, call.actor, call.path["slug"], call.query)  # type: ignore[arg-type]


@routes.get("/api/benchmarks/leaderboard", query=LeaderboardQuery, response=OverallBoard, auth="optional")
async def overall_leaderboard(call: Call) -> OverallBoard:
    """Across tasks: each submitter's best entry per task, averaged over the tasks."""
    return await leaderboard.overall_board(call.core, call.query)  # type: ignore[arg-type]


# -- entries ----------------------------------------------------------------------------------------


async def _read_multipart(call: Call) -> tuple[EntryFields, bytes]:
    form = await multipart.read_form(call.request, {"file": call.core.settings.benchmark_file_max_bytes})
    if "file" not in form.files:
        raise AppError("validation.failed", "the multipart body needs a file part named file", 422,
                       details=[{"loc": ["body", "file"], "msg": "missing", "type": "missing"}])
    return parse(EntryFields, form.fields, "body"), form.files["file"]


@routes.post("/api/benchmarks/tasks/{slug}/entries", response=EntryDetail, status=201, auth="required", rate=WRITE,
             errors=SUBMIT_ERRORS, bodies={"multipart/form-data": EntryFields, "application/json": EntryCreate},
             files=("file",),
             summary="Submit an entry: multipart/form-data with a file part (a run record or an OTLP trace export) "
                     "and the fields of EntryFields, or JSON EntryCreate naming a completed execution_id.")
async def submit_entry(call: Call) -> EntryDetail:
    """Submit an entry: an uploaded run (multipart ``file``) or a completed execution (JSON ``execution_id``)."""
    slug = call.path["slug"]
    if call.request.content_type == "application/x-www-form-urlencoded":
        raise AppError("validation.failed", "send multipart/form-data with a file part, or JSON with an execution_id",
                       422, details=[{"loc": ["body", "file"], "msg": "missing", "type": "missing"}])
    if multipart.is_multipart(call.request):
        fields, data = await _read_multipart(call)
        return await service.submit_file(call.core, call.actor, slug, fields, data)
    from ..rest import read_raw_body

    body = parse(EntryCreate, parse_json(await read_raw_body(call.request, call.core.settings.rest_max_body_bytes)))
    return await service.submit_execution(call.core, call.actor, slug, body)


@routes.get("/api/benchmarks/entries", query=EntryQuery, response=EntryPage, auth="optional")
async def list_benchmark_entries(call: Call) -> EntryPage:
    """Entries you may see, newest first: by task, status, user, yours; full-text search ``q``."""
    return await service.list_entries(call.core, call.actor, call.query)  # type: ignore[arg-type]


@routes.get("/api/benchmarks/entries/{entry_id}", response=EntryDetail, auth="optional",
            errors=["benchmark.entry_not_found"])
async def get_benchmark_entry(call: Call) -> EntryDetail:
    """One entry: status, stats, validation, scores, rankings, its steps and check results."""
    return await service.get_entry(call.core, call.actor, call.uuid("entry_id"))


@routes.patch("/api/benchmarks/entries/{entry_id}", body=EntryPatch, response=EntryView, auth="required", rate=WRITE,
              errors=["benchmark.entry_not_found", "benchmark.forbidden"])
async def update_benchmark_entry(call: Call, body: EntryPatch) -> EntryView:
    """Change an entry's title, description or visibility (its submitter)."""
    return await service.update_entry(call.core, call.actor, call.uuid("entry_id"), body)


@routes.post("/api/benchmarks/entries/{entry_id}/judge", body=JudgeBody, auth="agent",
             errors=["benchmark.entry_not_found", "benchmark.not_the_judge", "benchmark.not_waiting_for_judge"])
async def judge_benchmark_entry(call: Call, body: JudgeBody) -> dict[str, Any]:
    """The task's judge decides the entry's judge checks (REST twin of benchmark:judge)."""
    return await worker.judge_answered(call.core, call.actor,
                                       JudgeAnswer(entry_id=call.uuid("entry_id"), verdicts=body.verdicts))


@routes.get("/api/benchmarks/search", query=SearchQuery, response=SearchResult, auth="optional")
async def search_benchmarks(call: Call) -> SearchResult:
    """Full-text search of tasks (names, descriptions) and the entries you may see (titles, descriptions)."""
    return await service.search(call.core, call.actor, call.query)  # type: ignore[arg-type]


# -- community --------------------------------------------------------------------------------------

VOTE = "rate_benchmark_vote"
COMMENT = "rate_benchmark_comment"


@routes.post("/api/benchmarks/entries/{entry_id}/vote", body=VoteBody, response=VoteTally, auth="user", rate=VOTE,
             errors=["benchmark.entry_not_found", "benchmark.own_entry", "rate_limited"])
async def vote_benchmark_entry(call: Call, body: VoteBody) -> VoteTally:
    """Up- or downvote an entry (one vote each; null takes it back). Young accounts' votes are held."""
    return await community.vote_entry(call.core, call.actor, call.uuid("entry_id"), body)


@routes.get("/api/benchmarks/entries/{entry_id}/comments", response=CommentPage, auth="optional",
            errors=["benchmark.entry_not_found"])
async def list_benchmark_comments(call: Call) -> CommentPage:
    """An entry's comment thread, oldest first (deleted ones keep their place, without text)."""
    return await community.thread(call.core, call.actor, call.uuid("entry_id"))


@routes.post("/api/benchmarks/entries/{entry_id}/comments", body=CommentIn, response=CommentView, status=201,
             auth="user", rate=COMMENT, errors=["benchmark.entry_not_found", "benchmark.comment_not_found"])
async def add_benchmark_comment(call: Call, body: CommentIn) -> CommentView:
    """Comment on an entry, or reply to a comment of it (``parent_id``)."""
    return await community.add_comment(call.core, call.actor, call.uuid("entry_id"), body)


@routes.patch("/api/benchmarks/comments/{comment_id}", body=CommentPatch, response=CommentView, auth="user",
              rate=COMMENT, errors=["benchmark.comment_not_found", "benchmark.forbidden", "benchmark.comment_deleted"])
async def edit_benchmark_comment(call: Call, body: CommentPatch) -> CommentView:
    """Edit your comment (it is marked edited)."""
    return await community.edit_comment(call.core, call.actor, call.uuid("comment_id"), body)


@routes.delete("/api/benchmarks/comments/{comment_id}", status=204, auth="user",
               errors=["benchmark.comment_not_found", "benchmark.forbidden", "benchmark.comment_deleted"])
async def delete_benchmark_comment(call: Call) -> None:
    """Delete your comment (an admin may too): its text goes, its place in the thread stays."""
    await community.delete_comment(call.core, call.actor, call.uuid("comment_id"))


@routes.post("/api/benchmarks/comments/{comment_id}/vote", body=VoteBody, response=VoteTally, auth="user",
             rate=VOTE, errors=["benchmark.comment_not_found", "benchmark.own_comment", "rate_limited"])
async def vote_benchmark_comment(call: Call, body: VoteBody) -> VoteTally:
    """Up- or downvote a comment (one vote each; null takes it back)."""
    return await community.vote_comment(call.core, call.actor, call.uuid("comment_id"), body)


@routes.post("/api/users/{username}/follow", response=Following, auth="user", rate=WRITE,
             errors=["user.not_found", "user.cannot_follow_self"])
async def follow_user(call: Call) -> Following:
    """Follow a user: you hear of their new public entries."""
    return await people.set_follow(call.core, call.actor, call.path["username"], True)


@routes.delete("/api/users/{username}/follow", response=Following, auth="user", rate=WRITE,
               errors=["user.not_found", "user.cannot_follow_self"])
async def unfollow_user(call: Call) -> Following:
    """Stop following a user."""
    return await people.set_follow(call.core, call.actor, call.path["username"], False)


@routes.get("/api/users/{username}/profile", response=Profile, auth="optional", errors=["user.not_found"])
async def user_profile(call: Call) -> Profile:
    """A user's profile: their statistics (kept by the database), latest public entries, and whether you follow."""
    return await people.profile(call.core, call.actor, call.path["username"])


@routes.get("/api/users/{username}/followers", query=CursorPage, response=PersonPage, auth="optional",
            errors=["user.not_found"])
async def user_followers(call: Call) -> PersonPage:
    """Who follows the user, most recent first."""
    return await people.people(call.core, call.actor, call.path["username"], True, call.query)  # type: ignore[arg-type]


@routes.get("/api/users/{username}/following", query=CursorPage, response=PersonPage, auth="optional",
            errors=["user.not_found"])
async def user_following(call: Call) -> PersonPage:
    """Whom the user follows, most recent first."""
    return await people.people(call.core, call.actor, call.path["username"], False, call.query)  # type: ignore[arg-type]
