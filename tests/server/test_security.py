"""What the dashboard refuses: strangers without the token, forged notes, escaping the
static folder, running scripts from the runs, and listening beyond 127.0.0.1 unasked."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from heldout.cli import app as cli
from heldout.server import create_app
from heldout.server._security import FormSigner, is_loopback
from heldout.store import Store
from tests.server.dashboard_runs import HOSTILE, HOSTILE_NOTE, Runs

TOKEN = "s3cret-token-for-tests"
ROUTES = ("/", "/api/runs", "/openapi.json", "/static/dashboard.js", "/history/churn")


def _form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


@pytest.fixture
def guarded(runs: Runs) -> TestClient:
    return TestClient(create_app(runs.url, token=TOKEN))


@pytest.mark.parametrize("route", ROUTES)
def test_without_the_token_every_route_is_refused(guarded: TestClient, route: str) -> None:
    answer = guarded.get(route)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert guarded.get(route, headers={"Authorization": "Bearer wrong"}).status_code == 401


@pytest.mark.parametrize("route", ROUTES)
def test_a_bearer_token_opens_every_route(guarded: TestClient, route: str) -> None:
    answer = guarded.get(route, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200


def test_a_token_in_the_address_becomes_an_httponly_cookie(guarded: TestClient, runs: Runs) -> None:
    first = guarded.get("/", params={"token": TOKEN, "name": "churn"}, follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/?name=churn"
    cookie = first.headers["set-cookie"]
    assert "heldout_token=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    # the client keeps the cookie: later requests need nothing else
    assert guarded.get("/?name=churn").status_code == 200
    assert guarded.get(f"/runs/{runs.binary.id}").status_code == 200
    assert guarded.get("/", params={"token": "wrong"}).status_code == 401


def test_every_response_carries_a_strict_policy(client: TestClient, runs: Runs) -> None:
    for route in (*ROUTES, f"/runs/{runs.binary.id}", "/runs/nope", "/static/missing.js"):
        headers = client.get(route).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0]
        assert "unsafe-eval" not in policy
        assert "default-src 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_pages_have_no_inline_script(client: TestClient, runs: Runs) -> None:
    for route in (
        "/",
        f"/runs/{runs.binary.id}",
        f"/runs/{runs.binary.id}/examples",
        "/history/churn",
    ):
        page = client.get(route).text
        for tag in re.findall(r"<script[^>]*>", page):
            assert 'src="/static' in tag or 'type="application/json"' in tag, tag
        # no inline event handlers (onclick=, onerror=...) in any tag
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", page)


def test_run_outputs_inputs_and_notes_are_escaped(client: TestClient, runs: Runs) -> None:
    page = client.get(f"/runs/{runs.binary.id}").text
    assert HOSTILE_NOTE not in page
    assert "&lt;img src=x onerror=alert(1)&gt; ship it" in page
    drafts = client.get(f"/runs/{runs.drafts.id}").text
    assert HOSTILE not in drafts
    assert (
        client.get(f"/api/runs/{runs.binary.id}/notes").json()["notes"][0]["text"] == HOSTILE_NOTE
    )


@pytest.mark.parametrize(
    "path",
    [
        "/static/..%2f_app.py",
        "/static/..%2f..%2fserver%2f_app.py",
        "/static/%2e%2e/_app.py",
        "/static/../_app.py",
        "/static/..%5c_app.py",
        "/static/%2fetc%2fpasswd",
    ],
)
def test_static_files_cannot_leave_their_folder(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert "create_app" not in answer.text


def test_a_note_needs_the_form_token_and_redirects_back(fresh_store: str, runs: Runs) -> None:
    with TestClient(create_app(fresh_store)) as client:
        page = client.get(f"/runs/{runs.binary.id}").text
        token = _form_token(page)
        forged = client.post(
            f"/runs/{runs.binary.id}/notes", data={"text": "forged", "form_token": "1.abc"}
        )
        assert forged.status_code == 403
        missing = client.post(f"/runs/{runs.binary.id}/notes", data={"text": "no token"})
        assert missing.status_code == 422
        # a token issued for one run cannot post to another
        other = client.post(
            f"/runs/{runs.drafts.id}/notes", data={"text": "elsewhere", "form_token": token}
        )
        assert other.status_code == 403
        sent = client.post(
            f"/runs/{runs.binary.id[:8]}/notes",
            data={"text": "<b>ship</b> tuned", "author": "ana", "form_token": token},
            follow_redirects=False,
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/runs/{runs.binary.id}#notes"
        shown = client.get(sent.headers["location"]).text
        assert "&lt;b&gt;ship&lt;/b&gt; tuned" in shown and "ana" in shown
    with Store.open(fresh_store) as store:
        assert [n.text for n in store.notes(runs.binary.id)] == [HOSTILE_NOTE, "<b>ship</b> tuned"]


def test_a_blank_note_is_a_400(fresh_store: str, runs: Runs) -> None:
    with TestClient(create_app(fresh_store)) as client:
        token = _form_token(client.get(f"/runs/{runs.binary.id}").text)
        answer = client.post(
            f"/runs/{runs.binary.id}/notes", data={"text": "   ", "form_token": token}
        )
        assert answer.status_code == 400 and "a note needs some text" in answer.text


def test_with_a_token_set_notes_need_it_too(fresh_store: str, runs: Runs) -> None:
    with TestClient(create_app(fresh_store, token=TOKEN)) as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        token = _form_token(client.get(f"/runs/{runs.binary.id}", headers=headers).text)
        data = {"text": "looks good", "form_token": token}
        assert client.post(f"/runs/{runs.binary.id}/notes", data=data).status_code == 401
        ok = client.post(
            f"/runs/{runs.binary.id}/notes", data=data, headers=headers, follow_redirects=False
        )
        assert ok.status_code == 303


def test_form_tokens_expire_and_are_bound_to_their_purpose() -> None:
    signer = FormSigner(b"k" * 32)
    token = signer.issue("note:abc", now=1_000_000)
    assert signer.check("note:abc", token, now=1_000_000 + 60)
    assert not signer.check("note:abd", token, now=1_000_000 + 60)
    assert not signer.check("note:abc", token, now=1_000_000 + 13 * 3600)
    assert not FormSigner(b"x" * 32).check("note:abc", token, now=1_000_000 + 60)
    assert signer.check("note:abc", signer.issue("note:abc"), now=time.time())


def test_loopback_hosts() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org"))


def test_serve_defaults_to_127_0_0_1(monkeypatch: pytest.MonkeyPatch, runs: Runs) -> None:
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.delenv("HELDOUT_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--store", runs.url])
    assert result.exit_code == 0, result.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8765


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5"])
def test_serve_refuses_other_hosts_without_a_token(
    monkeypatch: pytest.MonkeyPatch, runs: Runs, host: str
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: pytest.fail("must not start"))
    monkeypatch.delenv("HELDOUT_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--store", runs.url, "--host", host])
    assert result.exit_code == 2
    assert "needs a token" in result.output


def test_serve_on_another_host_takes_the_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, runs: Runs
) -> None:
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    monkeypatch.setenv("HELDOUT_TOKEN", TOKEN)
    result = CliRunner().invoke(cli, ["serve", "--store", runs.url, "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert seen["host"] == "0.0.0.0"
    served = TestClient(seen["app"])  # type: ignore[arg-type]
    assert served.get("/api/runs").status_code == 401
    assert served.get("/api/runs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_serve_with_a_missing_store_is_one_line_exit_2(tmp_path: object) -> None:
    result = CliRunner().invoke(cli, ["serve", "--store", "sqlite:////nonexistent/x/heldout.db"])
    assert result.exit_code == 2
    assert "no store at" in result.output
