"""The REST API: sign-in, roles on every endpoint, CSRF, escaping, and the labelling path."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.server.conftest import XSS, Login

from datawheel.lineage import now
from datawheel.lineage._labelling_models import LabelAnnotation
from datawheel.pipeline._labelling_users import SignedIn, UserInfo, sessions_of
from datawheel.server import SESSION_COOKIE, _auth
from datawheel.server._auth import SessionCache
from datawheel.workspace import Workspace

# Every /api endpoint and the least role that may call it ("public": no sign-in needed).
# The test below fails when an endpoint is added without being listed here.
ENDPOINTS: dict[tuple[str, str], str] = {
    ("GET", "/api/health"): "public",
    ("POST", "/api/login"): "public",
    ("POST", "/api/logout"): "annotator",
    ("GET", "/api/me"): "annotator",
    ("GET", "/api/users"): "admin",
    ("POST", "/api/users"): "admin",
    ("GET", "/api/projects"): "annotator",
    ("POST", "/api/projects"): "admin",
    ("GET", "/api/projects/{project}"): "member",
    ("POST", "/api/projects/{project}/members"): "admin",
    ("GET", "/api/projects/{project}/guidelines"): "member",
    ("POST", "/api/projects/{project}/guidelines"): "admin",
    ("POST", "/api/projects/{project}/round"): "admin",
    ("GET", "/api/projects/{project}/next"): "member",
    ("GET", "/api/projects/{project}/tasks"): "member",
    ("POST", "/api/projects/{project}/undo"): "member",
    ("POST", "/api/tasks/{assignment}/submit"): "owner",
    ("POST", "/api/tasks/{assignment}/skip"): "owner",
    ("GET", "/api/items/{item}/blob"): "owner",
    ("GET", "/api/projects/{project}/review"): "reviewer",
    ("POST", "/api/items/{item}/review"): "reviewer",
    ("POST", "/api/projects/{project}/flags"): "reviewer",
    ("GET", "/api/projects/{project}/stats"): "reviewer",
    ("GET", "/api/projects/{project}/pilot"): "admin",
    ("POST", "/api/projects/{project}/suggestions"): "admin",
    ("POST", "/api/projects/{project}/export"): "admin",
    ("GET", "/api/projects/{project}/download"): "admin",
}
BODIES: dict[str, dict[str, Any]] = {
    "/api/users": {"name": "mallory", "role": "admin"},
    "/api/projects": {
        "name": "p2",
        "source": "sms",
        "task_type": "single",
        "column": "text",
        "labels": ["a"],
    },
    "/api/projects/{project}/members": {"names": ["eve"]},
    "/api/projects/{project}/guidelines": {"text": "changed"},
    "/api/projects/{project}/round": {"round": "main"},
    "/api/tasks/{assignment}/submit": {"value": "spam"},
    "/api/tasks/{assignment}/skip": {"reason": "unclear"},
    "/api/items/{item}/review": {"value": "spam"},
    "/api/projects/{project}/flags": {"row_ids": ["x"]},
    "/api/projects/{project}/export": {"method": "majority"},
    "/api/projects/{project}/suggestions": {"format": "jsonl", "content": ""},
}


def _routes(app: FastAPI) -> set[tuple[str, str]]:
    paths = TestClient(app).get("/openapi.json").json()["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def _call(client: TestClient, method: str, path: str, **ids: int) -> int:
    url = path.format(project="sms-triage", **ids) if "{" in path else path
    body = BODIES.get(path)
    return client.request(method, url, json=body).status_code


def test_the_table_lists_every_api_endpoint(app: FastAPI) -> None:
    assert _routes(app) == set(ENDPOINTS)


def test_health_and_schema_need_no_sign_in(app: FastAPI) -> None:
    client = TestClient(app)
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    schema = client.get("/openapi.json").json()
    assert "/api/projects/{project}/next" in schema["paths"]


@pytest.mark.parametrize(("method", "path"), sorted(k for k, v in ENDPOINTS.items() if v != "public"))
def test_every_endpoint_refuses_an_unauthenticated_request(app: FastAPI, method: str, path: str) -> None:
    assert _call(TestClient(app), method, path, assignment=1, item=1) in (401, 403)


def _annotator_task(login: Login) -> tuple[TestClient, int, int]:
    ann = login("ann")
    task = ann.get("/api/projects/sms-triage/next").json()["task"]
    return ann, task["assignment"], task["item"]


@pytest.mark.parametrize(
    ("method", "path"), sorted(k for k, v in ENDPOINTS.items() if v in ("admin", "reviewer"))
)
def test_annotators_are_refused_reviewer_and_admin_endpoints(login: Login, method: str, path: str) -> None:
    ann, assignment, item = _annotator_task(login)
    assert _call(ann, method, path, assignment=assignment, item=item) == 403


@pytest.mark.parametrize(("method", "path"), sorted(k for k, v in ENDPOINTS.items() if v == "admin"))
def test_reviewers_are_refused_admin_endpoints(login: Login, method: str, path: str) -> None:
    _, assignment, item = _annotator_task(login)
    assert _call(login("rev"), method, path, assignment=assignment, item=item) == 403


@pytest.mark.parametrize(
    ("method", "path"), sorted(k for k, v in ENDPOINTS.items() if v in ("member", "owner"))
)
def test_an_annotator_sees_no_other_project_and_no_other_task(login: Login, method: str, path: str) -> None:
    _, assignment, item = _annotator_task(login)  # ann's task; eve is not in the project
    assert _call(login("eve"), method, path, assignment=assignment, item=item) in (403, 404)


def test_an_annotator_lists_only_their_projects(login: Login) -> None:
    assert login("eve").get("/api/projects").json() == []
    assert [p["name"] for p in login("ann").get("/api/projects").json()] == ["sms-triage"]


def test_a_state_change_without_the_csrf_token_is_refused(login: Login) -> None:
    ann, assignment, _ = _annotator_task(login)
    bare = TestClient(ann.app)
    bare.cookies.set(SESSION_COOKIE, ann.cookies[SESSION_COOKIE])
    refused = bare.post(f"/api/tasks/{assignment}/submit", json={"value": "spam"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]
    wrong = bare.post(
        f"/api/tasks/{assignment}/submit", json={"value": "spam"}, headers={"X-CSRF-Token": "x"}
    )
    assert wrong.status_code == 403
    assert ann.post(f"/api/tasks/{assignment}/submit", json={"value": "spam"}).status_code == 201


def test_a_page_form_without_the_csrf_token_is_refused(login: Login) -> None:
    boss = login("boss")
    del boss.headers["X-CSRF-Token"]
    answer = boss.post("/projects/sms-triage/guidelines", data={"text": "hijacked"}, follow_redirects=False)
    assert answer.status_code == 403
    assert "hijacked" not in login("boss").get("/api/projects/sms-triage").json()["guidelines"]


def test_the_session_cookie_is_httponly_and_samesite(app: FastAPI) -> None:
    answer = TestClient(app).post("/api/login", json={"name": "ann", "password": "ann-password"})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http here; https sets Secure
    secure = TestClient(app, base_url="https://testserver").post(
        "/api/login", json={"name": "ann", "password": "ann-password"}
    )
    assert "secure" in secure.headers["set-cookie"].lower()


def test_sign_in_is_rate_limited(app: FastAPI) -> None:
    client = TestClient(app)
    codes = [
        client.post("/api/login", json={"name": "bob", "password": "wrong"}).status_code for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    assert client.post("/api/login", json={"name": "bob", "password": "bob-password"}).status_code == 429


def test_sign_out_ends_the_session(login: Login, app: FastAPI) -> None:
    ann = login("ann")
    token = ann.cookies[SESSION_COOKIE]
    assert ann.get("/api/me").status_code == 200  # the session is now in the app's cache too
    assert ann.post("/api/logout").status_code == 200
    assert ann.get("/api/me").status_code == 401
    replayed = TestClient(app, cookies={SESSION_COOKIE: token})  # the old cookie, kept by someone
    assert replayed.get("/api/me").status_code == 401


class _Clock:
    """A monotonic clock that moves only when told, so that no pause of a busy machine counts."""

    def __init__(self) -> None:
        self.at = 100.0

    def monotonic(self) -> float:
        return self.at


def test_session_cache_trusts_an_entry_briefly_and_never_past_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(_auth, "time", clock)
    user = UserInfo(1, "ann", "annotator", now())
    cache = SessionCache(seconds=0.2, size=2)
    live = SignedIn(user, "csrf", now() + timedelta(hours=1))
    cache.put("a", live)
    assert cache.get("a") == live
    cache.forget("a")
    assert cache.get("a") is None  # signed out
    cache.put("b", SignedIn(user, "csrf", now() - timedelta(seconds=1)))
    assert cache.get("b") is None  # expired
    cache.put("c", live)
    cache.put("d", live)
    cache.put("e", live)
    assert cache.get("c") is None  # the oldest went when a third came
    assert cache.get("e") == live
    clock.at += 0.19
    assert cache.get("e") == live
    clock.at += 0.01
    assert cache.get("e") is None  # read from the database again once its seconds are up


def test_xss_in_data_is_returned_as_text_and_escaped_in_pages(login: Login) -> None:
    ann = login("ann")
    task = ann.get("/api/projects/sms-triage/next").json()["task"]
    assert task["payload"]["text"] == XSS  # JSON carries the text as it is; the page sets it as text
    page = ann.get("/projects/sms-triage/annotate").text
    assert "<b>raw html</b>" not in page
    assert "&lt;b&gt;raw html&lt;/b&gt;" in page  # guidelines: HTML in Markdown is escaped
    assert "<script>" not in page.replace('<script src="/static/', "").replace(
        '<script type="application/json"', ""
    )
    assert "script-src 'self'" in ann.get("/projects/sms-triage/annotate").headers["content-security-policy"]


def test_two_annotators_on_the_same_item_are_both_recorded(login: Login, labelled: Workspace) -> None:
    ann, bob = login("ann"), login("bob")
    a = ann.get("/api/projects/sms-triage/next").json()["task"]
    b = bob.get("/api/projects/sms-triage/next").json()["task"]
    assert a["item"] == b["item"]  # overlap 2: both hold the first item
    assert ann.post(f"/api/tasks/{a['assignment']}/submit", json={"value": "spam"}).status_code == 201
    assert bob.post(f"/api/tasks/{b['assignment']}/submit", json={"value": "ham"}).status_code == 201
    with sessions_of(labelled)() as session:
        votes = session.scalar(select(func.count()).where(LabelAnnotation.item_id == a["item"]))
    assert votes == 2
    third = login("rev").get("/api/projects/sms-triage/next").json()["task"]
    assert third["item"] != a["item"]  # the item is full: a third annotator gets another


def test_submit_twice_skip_and_undo(login: Login) -> None:
    ann, assignment, item = _annotator_task(login)
    assert ann.post(f"/api/tasks/{assignment}/submit", json={"value": "nonsense"}).status_code == 400
    assert ann.post(f"/api/tasks/{assignment}/submit", json={"value": "ham"}).status_code == 201
    assert ann.post(f"/api/tasks/{assignment}/submit", json={"value": "ham"}).status_code == 409
    undone = ann.post("/api/projects/sms-triage/undo").json()["task"]
    assert (undone["assignment"], undone["value"], undone["status"]) == (assignment, "ham", "open")
    assert ann.post("/api/projects/sms-triage/undo").status_code == 409  # only the last one
    assert ann.post(f"/api/tasks/{assignment}/skip", json={"reason": " "}).status_code == 400
    assert ann.post(f"/api/tasks/{assignment}/skip", json={"reason": "not English"}).status_code == 200
    after = ann.get("/api/projects/sms-triage/next").json()["task"]
    assert after["item"] != item  # never the same item twice to one person


def test_the_review_flow_and_export(login: Login) -> None:
    ann, bob, rev, boss = login("ann"), login("bob"), login("rev"), login("boss")
    for client, label in ((ann, "spam"), (bob, "ham")):
        task = client.get("/api/projects/sms-triage/next").json()["task"]
        client.post(f"/api/tasks/{task['assignment']}/submit", json={"value": label})
    queue = rev.get("/api/projects/sms-triage/review").json()
    assert len(queue) == 1
    assert sorted(a["annotator"] for a in queue[0]["annotations"]) == ["ann", "bob"]
    assert rev.post(f"/api/items/{queue[0]['item']}/review", json={"value": "spam"}).status_code == 201
    assert rev.get("/api/projects/sms-triage/review").json() == []
    done = boss.post("/api/projects/sms-triage/export", json={"method": "majority"}).json()
    assert (done["labels"], done["annotation_rows"], done["decided"]) == (
        "sms-triage.labels@1",
        2,
        {"reviewer": 1},
    )
    csv = boss.get("/api/projects/sms-triage/download", params={"what": "annotations", "format": "csv"})
    assert csv.status_code == 200
    assert csv.text.splitlines()[0].startswith("annotation,item,annotator,label")


def test_admins_make_accounts_and_projects(login: Login) -> None:
    boss = login("boss")
    made = boss.post("/api/users", json={"name": "cy", "role": "annotator"}).json()
    assert (made["name"], made["role"]) == ("cy", "annotator")
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", made["password"])
    assert boss.post("/api/users", json={"name": "cy", "role": "annotator"}).status_code == 409
    project = boss.post(
        "/api/projects",
        json={
            "name": "ner",
            "source": "sms",
            "task_type": "spans",
            "column": "text",
            "labels": ["PER", "ORG"],
        },
    )
    assert project.status_code == 201
    assert [label["hotkey"] for label in project.json()["labels"]] == ["1", "2"]
    missing = boss.post("/api/projects", json={**BODIES["/api/projects"], "name": "x", "source": "nope"})
    assert missing.status_code == 404
