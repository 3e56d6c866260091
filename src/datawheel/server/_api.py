"""The REST API under ``/api``: everything the pages do, as JSON (schema at ``/openapi.json``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from datawheel._version import __version__
from datawheel.lineage import head_revision
from datawheel.pipeline._labelling import (
    Priority,
    TaskType,
    add_members,
    create_project,
    get_project,
    guideline_history,
    list_projects,
    set_guidelines,
    start_round,
)
from datawheel.pipeline._labelling_export import (
    FileFormat,
    Method,
    What,
    export_project,
    pilot_disagreements,
    project_stats,
    write_labels,
)
from datawheel.pipeline._labelling_import import import_suggestions
from datawheel.pipeline._labelling_tasks import (
    TaskInfo,
    decide,
    flag_items,
    item_project,
    may_see_item,
    my_tasks,
    next_task,
    review_queue,
    skip,
    submit,
    undo_last,
)
from datawheel.pipeline._labelling_users import (
    SESSION_HOURS,
    SignedIn,
    UserInfo,
    add_user,
    list_users,
    open_session,
    verify_password,
)
from datawheel.server._auth import (
    SESSION_COOKIE,
    LoginLimiter,
    Refused,
    end_session,
    member_of,
    require,
    signed_in,
    workspace_of,
)
from datawheel.server._work import annotating, in_database

router = APIRouter(prefix="/api")
Annotator = Annotated[UserInfo, Depends(require("annotator"))]
Reviewer = Annotated[UserInfo, Depends(require("reviewer"))]
Admin = Annotated[UserInfo, Depends(require("admin"))]
Session = Annotated[SignedIn, Depends(signed_in)]
_FORMAT_TYPES = {
    "jsonl": "application/jsonl",
    "csv": "text/csv",
    "label-studio": "application/json",
    "conll": "text/plain",
}
_SUFFIX = {"jsonl": ".jsonl", "csv": ".csv", "label-studio": ".json", "conll": ".conll"}


class Login(BaseModel):
    """A sign-in."""

    name: str
    password: str


class NewAccount(BaseModel):
    """An account to make; without a password, one is generated and returned once."""

    name: str
    role: Literal["annotator", "reviewer", "admin"]
    password: str | None = None


class NewProject(BaseModel):
    """A project to make from a dataset version."""

    name: str
    source: str = Field(description="The dataset version: NAME, NAME@N or NAME@TAG.")
    task_type: TaskType
    column: str
    labels: list[str | dict[str, str]]
    overlap: int = 1
    priority: Priority = "order"
    score_column: str | None = None
    suggestion_column: str | None = None
    confidence_column: str | None = None
    pilot: int = 0
    seed: int = 0
    guidelines: str = ""
    members: list[str] = Field(default_factory=list)


class Members(BaseModel):
    """Accounts to add to a project."""

    names: list[str]


class Guidelines(BaseModel):
    """A new version of a project's guidelines, in Markdown."""

    text: str


class RoundChange(BaseModel):
    """The round a project moves to."""

    round: Literal["pilot", "main"]


class Answer(BaseModel):
    """An annotator's answer: a label name, a list of names, or a list of spans."""

    value: Any
    duration_ms: int | None = None
    suggestion_used: bool | None = None


class Skip(BaseModel):
    """Why a task is given back."""

    reason: str


class Decision(BaseModel):
    """A reviewer's decision on an item."""

    value: Any
    note: str = ""


class Flags(BaseModel):
    """Items to send to review."""

    row_ids: list[str]
    reason: str = "flagged"


class SuggestionFile(BaseModel):
    """A file of labels (a model's predictions, or another tool's labels) to pre-fill tasks with."""

    format: FileFormat
    content: str


class ExportRequest(BaseModel):
    """How final labels are decided where annotators disagree and no reviewer decided."""

    method: Method = "majority"


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Whether the service runs (no sign-in needed)."""
    return {"status": "ok", "version": __version__, "schema": head_revision()}


# Routes are matched in the order they are declared: the annotating loop's come first, as its
# requests are by far the most frequent.
@router.get("/projects/{project}/next")
async def next_one(project: str, request: Request, user: Annotator) -> dict[str, Any]:
    """The account's next task in the project (``task`` is null when the round has no more)."""
    task = await annotating(request, "next_task", next_task, project, user)  # refuses a non-member
    return {"task": None if task is None else task.to_dict()}


@router.post("/tasks/{assignment}/submit", status_code=201)
async def submit_task(assignment: int, body: Answer, request: Request, user: Annotator) -> dict[str, Any]:
    """Answer one of the account's open tasks."""
    done = await annotating(
        request,
        "submit",
        submit,
        assignment,
        user,
        body.value,
        duration_ms=body.duration_ms,
        suggestion_used=body.suggestion_used,
    )
    return done.to_dict()


@router.post("/tasks/{assignment}/skip")
async def skip_task(assignment: int, body: Skip, request: Request, user: Annotator) -> dict[str, Any]:
    """Give back one of the account's open tasks, with a reason."""
    return (
        await in_database(request, skip, workspace_of(request), assignment, user, reason=body.reason)
    ).to_dict()


@router.post("/projects/{project}/undo")
async def undo(project: str, request: Request, user: Annotator) -> dict[str, Any]:
    """Take back the account's last submission; its task is open again."""
    workspace = workspace_of(request)

    def undo_mine() -> TaskInfo:
        return undo_last(workspace, member_of(workspace, project, user), user)

    return {"task": (await in_database(request, undo_mine)).to_dict()}


def start_session(request: Request, response: Response, name: str, password: str) -> SignedIn:
    """Check a password under the rate limit and set the session cookie; refused (401/429)."""
    workspace = workspace_of(request)
    keys = (f"name:{name}", f"addr:{request.client.host if request.client else '?'}")
    limiter: LoginLimiter = request.app.state.login_limiter
    wait = limiter.blocked(*keys)
    if wait:
        raise Refused(429, f"too many failed sign-ins; try again in {int(wait) + 1} s")
    user = verify_password(workspace, name, password)
    if user is None:
        limiter.failed(*keys)
        raise Refused(401, "wrong account name or password")
    limiter.succeeded(keys[0])
    token, signed = open_session(workspace, user)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=SESSION_HOURS * 3600,
        path="/",
    )
    return signed


def _signed_json(signed: SignedIn) -> dict[str, Any]:
    return {"user": signed.user.to_dict(), "csrf_token": signed.csrf_token}


@router.post("/login")
def login(body: Login, request: Request, response: Response) -> dict[str, Any]:
    """Sign in: sets the session cookie and returns the CSRF token to send on changes."""
    return _signed_json(start_session(request, response, body.name, body.password))


@router.post("/logout")
def logout(request: Request, response: Response, signed: Session) -> dict[str, Any]:
    """Sign out: the session ends."""
    end_session(request)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"signed_out": signed.user.name}


@router.get("/me")
def me(signed: Session) -> dict[str, Any]:
    """The signed-in account and its CSRF token."""
    return _signed_json(signed)


@router.get("/users")
def users(request: Request, admin: Admin) -> list[dict[str, Any]]:
    """Every account (admins only)."""
    return [u.to_dict() for u in list_users(workspace_of(request))]


@router.post("/users", status_code=201)
def new_user(body: NewAccount, request: Request, admin: Admin) -> dict[str, Any]:
    """Make an account (admins only); a generated password is returned this once."""
    return add_user(workspace_of(request), body.name, role=body.role, password=body.password).to_dict()


@router.get("/projects")
def projects(request: Request, user: Annotator) -> list[dict[str, Any]]:
    """The projects the account works on (all of them for an admin)."""
    return [p.to_dict() for p in list_projects(workspace_of(request), user=user)]


@router.post("/projects", status_code=201)
def new_project(body: NewProject, request: Request, admin: Admin) -> dict[str, Any]:
    """Make a project from a dataset version (admins only)."""
    options = body.model_dump(exclude={"name", "source"})
    return create_project(workspace_of(request), body.name, body.source, **options).to_dict()


@router.get("/projects/{project}")
def project(project: str, request: Request, user: Annotator) -> dict[str, Any]:
    """One project (its members and admins only)."""
    workspace = workspace_of(request)
    return get_project(workspace, member_of(workspace, project, user)).to_dict()


@router.post("/projects/{project}/members")
def members(project: str, body: Members, request: Request, admin: Admin) -> dict[str, Any]:
    """Let accounts work on the project (admins only)."""
    return {"members": add_members(workspace_of(request), project, body.names)}


@router.get("/projects/{project}/guidelines")
def guidelines(project: str, request: Request, user: Annotator) -> list[dict[str, Any]]:
    """Every version of the project's guidelines."""
    workspace = workspace_of(request)
    return guideline_history(workspace, member_of(workspace, project, user))


@router.post("/projects/{project}/guidelines", status_code=201)
def new_guidelines(project: str, body: Guidelines, request: Request, admin: Admin) -> dict[str, Any]:
    """Record a new version of the guidelines (admins only); new annotations carry it."""
    return {"version": set_guidelines(workspace_of(request), project, body.text, author=admin.name)}


@router.post("/projects/{project}/round")
def change_round(project: str, body: RoundChange, request: Request, admin: Admin) -> dict[str, Any]:
    """Move the project to another round, e.g. from the pilot to the main round (admins only)."""
    return start_round(workspace_of(request), project, body.round).to_dict()


@router.get("/projects/{project}/tasks")
def tasks(project: str, request: Request, user: Annotator, limit: int = 100) -> list[dict[str, Any]]:
    """The account's own tasks in the project, newest first."""
    workspace = workspace_of(request)
    return [t.to_dict() for t in my_tasks(workspace, member_of(workspace, project, user), user, limit=limit)]


@router.get("/items/{item}/blob")
def item_blob(item: int, request: Request, user: Annotator) -> Response:
    """The image of an item the account may see (one of its tasks, or a reviewer's project)."""
    workspace = workspace_of(request)
    payload = may_see_item(workspace, item, user)
    if "blob" not in payload:
        raise Refused(404, f"item {item} has no image")
    return Response(
        workspace.blobs.get(str(payload["blob"])),
        media_type=str(payload.get("media_type") or "application/octet-stream"),
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get("/projects/{project}/review")
def review(project: str, request: Request, user: Reviewer, limit: int = 50) -> list[dict[str, Any]]:
    """Items to review: annotators disagree, or flagged (reviewers and admins)."""
    workspace = workspace_of(request)
    return review_queue(workspace, member_of(workspace, project, user), limit=limit)


@router.post("/items/{item}/review", status_code=201)
def review_item(item: int, body: Decision, request: Request, user: Reviewer) -> dict[str, Any]:
    """Decide an item's label (reviewers and admins); kept apart from the annotations."""
    workspace = workspace_of(request)
    member_of(workspace, item_project(workspace, item), user)
    return decide(workspace, item, user, body.value, note=body.note)


@router.post("/projects/{project}/flags")
def flags(project: str, body: Flags, request: Request, user: Reviewer) -> dict[str, Any]:
    """Send items to review, e.g. those label-issue detection found (reviewers and admins)."""
    workspace = workspace_of(request)
    member_of(workspace, project, user)
    return {"flagged": flag_items(workspace, project, body.row_ids, reason=body.reason)}


@router.get("/projects/{project}/stats")
def stats(project: str, request: Request, user: Reviewer) -> dict[str, Any]:
    """Progress, pace, class balance and agreement (reviewers and admins)."""
    workspace = workspace_of(request)
    return project_stats(workspace, member_of(workspace, project, user)).to_dict()


@router.get("/projects/{project}/pilot")
def pilot(project: str, request: Request, admin: Admin) -> list[dict[str, Any]]:
    """The pilot round's disagreements, to revise the guidelines with (admins only)."""
    return pilot_disagreements(workspace_of(request), project)


@router.post("/projects/{project}/suggestions")
def suggestions(project: str, body: SuggestionFile, request: Request, admin: Admin) -> dict[str, Any]:
    """Set items' suggestions from JSONL, CSV, Label Studio JSON or CoNLL text (admins only)."""
    folder = Path(tempfile.mkdtemp(prefix="datawheel-upload-"))
    path = folder / f"suggestions{_SUFFIX[body.format]}"
    try:
        path.write_text(body.content, encoding="utf-8")
        return {"suggested": import_suggestions(workspace_of(request), project, path, format=body.format)}
    finally:
        _remove(folder)


@router.post("/projects/{project}/export")
def export(project: str, body: ExportRequest, request: Request, admin: Admin) -> dict[str, Any]:
    """Commit annotations and final labels as dataset versions, with lineage (admins only)."""
    return export_project(workspace_of(request), project, method=body.method).to_dict()


@router.get("/projects/{project}/download")
def download(
    project: str,
    request: Request,
    admin: Admin,
    what: What = "labels",
    format: FileFormat = "jsonl",
    method: Method = "majority",
) -> Response:
    """Annotations or final labels as JSONL, CSV, Label Studio JSON or CoNLL (admins only)."""
    folder = Path(tempfile.mkdtemp(prefix="datawheel-download-"))
    path = folder / f"{project}.{what}{_SUFFIX[format]}"
    write_labels(workspace_of(request), project, path, what=what, format=format, method=method)
    return FileResponse(
        path,
        media_type=_FORMAT_TYPES[format],
        filename=path.name,
        background=BackgroundTask(_remove, folder),
    )


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


def refused(status: int, message: str) -> JSONResponse:
    """The JSON body of a refusal."""
    return JSONResponse({"error": message}, status_code=status)
