"""The OpenAPI description of the web application fuzzed with schemathesis: whatever a client sends — signed in as
staff or not, bodies shaped as described or not — the answer is never a 500."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from webapp import make_app, signed_in

from toolkit.files import json_text

FOLDER = Path(tempfile.mkdtemp(prefix="shenbao-fuzz-"))
APP = make_app(FOLDER)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def staff() -> dict[str, Any]:
    """The cookie and CSRF header of a signed-in staff member, and one submission in the ledger to act on."""
    from conftest import sample
    from fastapi.testclient import TestClient

    with TestClient(APP, base_url="https://testserver") as client:
        csrf = signed_in(client)
        form = "tj-high-tech-enterprise-application"
        client.post(f"/api/forms/{form}/submissions", content=json_text(sample(form)).encode(),
                    headers={"content-type": "application/json"})
        return {"cookies": {"shenbao_session": client.cookies.get("shenbao_session")},
                "headers": {"x-csrf-token": csrf}}


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_no_request_gives_a_500(case: Any, staff: dict[str, Any]) -> None:
    anonymous = case.call()
    assert anonymous.status_code < 500, (case.method, case.formatted_path, anonymous.text[:500])
    if case.path.startswith("/api/staff/"):
        assert anonymous.status_code >= 400  # nothing of the staff's without signing in
        signed = case.call(headers=dict(staff["headers"]), cookies=dict(staff["cookies"]))
        assert signed.status_code < 500, (case.method, case.formatted_path, signed.text[:500])
