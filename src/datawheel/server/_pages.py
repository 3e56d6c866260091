"""The web pages: sign-in, projects, annotating, review, dashboard and accounts.

Pages are rendered on the server (Jinja2, autoescaped); the annotating, review and dashboard
pages then talk to the REST API from their own scripts, which insert data only as text.
Every form that changes something carries the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool

from datawheel.errors import DatawheelError
from datawheel.pipeline._labelling import (
    add_members,
    create_project,
    get_project,
    list_projects,
    parse_labels,
    set_guidelines,
    start_round,
)
from datawheel.pipeline._labelling_export import export_project
from datawheel.pipeline._labelling_users import SignedIn, add_user, list_users
from datawheel.server._auth import (
    SESSION_COOKIE,
    Refused,
    end_session,
    member_of,
    signed_in,
    workspace_of,
)

router = APIRouter(include_in_schema=False)
T = TypeVar("T")


def _render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.templates
    signed: SignedIn | None = getattr(request.state, "signed", None)
    html = env.get_template(template).render(
        user=signed.user if signed else None, csrf=signed.csrf_token if signed else "", **context
    )
    return HTMLResponse(html, status_code=status)


async def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await run_in_threadpool(fn, *args, **kwargs)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _back(path: str, notice: str = "") -> RedirectResponse:
    return RedirectResponse(f"{path}?notice={quote(notice)}" if notice else path, status_code=303)


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return _render(request, "login.html", next=_safe_next(next), error="")


@router.post("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    """Sign in from the form; back to the page asked for."""
    from datawheel.server._api import start_session

    form = await _form(request)
    target = _safe_next(form.get("next"))
    response = RedirectResponse(target, status_code=303)
    try:
        await _call(start_session, request, response, form.get("name", ""), form.get("password", ""))
    except Refused as exc:
        return _render(request, "login.html", status=exc.status, next=target, error=exc.message)
    return response


@router.post("/logout")
async def logout_form(request: Request) -> Response:
    """Sign out."""
    await signed_in(request)
    await _call(end_session, request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, notice: str = "") -> Response:
    """The projects the account works on; admins also make projects here."""
    signed = await signed_in(request)
    workspace = workspace_of(request)
    projects = await _call(list_projects, workspace, user=signed.user)
    datasets = await _call(workspace.datasets) if signed.user.role == "admin" else []
    return _render(request, "projects.html", projects=projects, datasets=datasets, notice=notice)


@router.post("/projects")
async def new_project_form(request: Request) -> Response:
    """Make a project from the admin's form."""
    signed = await signed_in(request)
    _admin(signed)
    form = await _form(request)
    try:
        labels = [
            line.strip() for line in form.get("labels", "").replace(",", "\n").splitlines() if line.strip()
        ]
        info = await _call(
            create_project,
            workspace_of(request),
            form.get("name", "").strip(),
            form.get("source", "").strip(),
            task_type=form.get("task_type", "single"),
            column=form.get("column", "").strip(),
            labels=parse_labels(labels),
            overlap=int(form.get("overlap") or 1),
            priority=form.get("priority", "order"),
            score_column=form.get("score_column") or None,
            suggestion_column=form.get("suggestion_column") or None,
            confidence_column=form.get("confidence_column") or None,
            pilot=int(form.get("pilot") or 0),
            guidelines=form.get("guidelines", ""),
            members=[m.strip() for m in form.get("members", "").split(",") if m.strip()],
        )
    except (DatawheelError, ValueError) as exc:
        return _back("/", f"could not create the project: {exc}")
    return _back(f"/projects/{info.name}/dashboard", f"project {info.name} created with {info.items} items")


def _admin(signed: SignedIn) -> None:
    if signed.user.role != "admin":
        raise Refused(403, f"this needs the admin role; {signed.user.name} is {signed.user.role}")


@router.get("/users", response_class=HTMLResponse)
async def users_page(request: Request) -> Response:
    """Accounts (admins only)."""
    _admin(await signed_in(request))
    users = await _call(list_users, workspace_of(request))
    return _render(request, "users.html", users=users, made=None, error="")


@router.post("/users", response_class=HTMLResponse)
async def users_form(request: Request) -> Response:
    """Make an account; a generated password is shown this once."""
    _admin(await signed_in(request))
    form = await _form(request)
    workspace = workspace_of(request)
    made, error = None, ""
    try:
        made = await _call(
            add_user,
            workspace,
            form.get("name", ""),
            role=form.get("role", ""),
            password=form.get("password") or None,
        )
    except DatawheelError as exc:
        error = str(exc)
    users = await _call(list_users, workspace)
    return _render(request, "users.html", users=users, made=made, error=error)


async def _project_page(request: Request, project: str, template: str, role: str, **context: Any) -> Response:
    signed = await signed_in(request)
    if not signed.user.at_least(role):  # type: ignore[arg-type]
        raise Refused(403, f"this page needs the {role} role; {signed.user.name} is {signed.user.role}")
    workspace = workspace_of(request)
    project_id = await _call(member_of, workspace, project, signed.user)
    info = await _call(get_project, workspace, project_id)
    return _render(request, template, project=info, **context)


@router.get("/projects/{project}/annotate", response_class=HTMLResponse)
async def annotate_page(request: Request, project: str) -> Response:
    """One task at a time, keyboard first, guidelines beside it."""
    return await _project_page(request, project, "annotate.html", "annotator")


@router.get("/projects/{project}/review", response_class=HTMLResponse)
async def review_page(request: Request, project: str) -> Response:
    """Items whose annotators disagree, or flagged, for a reviewer to decide."""
    return await _project_page(request, project, "review.html", "reviewer")


@router.get("/projects/{project}/dashboard", response_class=HTMLResponse)
async def dashboard_page(request: Request, project: str, notice: str = "") -> Response:
    """Progress, agreement, pace and class balance; admins also steer the project here."""
    return await _project_page(request, project, "dashboard.html", "reviewer", notice=notice)


@router.post("/projects/{project}/{action}")
async def project_action(request: Request, project: str, action: str) -> Response:
    """An admin's change to a project: guidelines, round, members or export."""
    signed = await signed_in(request)
    _admin(signed)
    form = await _form(request)
    workspace = workspace_of(request)
    back = f"/projects/{project}/dashboard"
    try:
        notice = await _call(_act, workspace, project, action, form, signed.user.name)
    except DatawheelError as exc:
        notice = f"{action} failed: {exc}"
    return _back(back, notice)


def _act(workspace: Any, project: str, action: str, form: dict[str, str], author: str) -> str:
    if action == "guidelines":
        version = set_guidelines(workspace, project, form.get("text", ""), author=author)
        return f"guidelines version {version} recorded"
    if action == "round":
        return f"round is now {start_round(workspace, project, form.get('round', 'main')).round}"  # type: ignore[arg-type]
    if action == "members":
        names = [n.strip() for n in form.get("names", "").split(",") if n.strip()]
        return f"members: {', '.join(add_members(workspace, project, names))}"
    if action == "export":
        done = export_project(workspace, project, method=form.get("method", "majority"))  # type: ignore[arg-type]
        return f"exported {done.annotations.ref} and {done.labels.ref}"
    raise Refused(404, f"no action '{action}'")
