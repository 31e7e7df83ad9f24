"""The FastAPI application: the routers of the applicant pages, the staff pages and the JSON API on one ledger, the
assets shipped in the package, and one shape for every error — a clear Chinese message and a 4xx, never a 500."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from .. import convert
from ..errors import ShenbaoError, UnknownForm
from ..ledger.store import Ledger
from . import api, applicant, pages, staff, verify
from .jobs import Jobs
from .settings import Settings

STATIC = Path(__file__).with_name("static")
log = logging.getLogger("shenbao.web")


def create_app(settings: Settings) -> FastAPI:
    """The application on the ledger ``settings.db``."""
    book = Ledger(settings.db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.jobs.recover()
        had_pool, sized = convert.pool_open(), convert.size_pool(settings.office_workers)  # nothing starts yet
        yield
        app.state.jobs.close()
        convert.size_pool(sized)
        if not had_pool:  # the application's: its workers stopped, its work folder removed
            await asyncio.to_thread(convert.close_pool, True)
        book.close()

    app = FastAPI(title="申报工具箱 shenbao-toolkit", version=_version(), lifespan=lifespan,
                  description="表单审查、生成、读取，在线提交申请；工作人员的台账、决定与通知。",
                  docs_url="/api/docs", redoc_url=None, openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.ledger = book
    app.state.jobs = Jobs(book, settings.workers)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(api.staff_router)
    app.include_router(applicant.router)
    app.include_router(staff.router)
    app.include_router(verify.router)
    _errors(app)
    return app


def _version() -> str:
    from .. import __version__

    return __version__


def _errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [_problem(e) for e in exc.errors()]
        return _answer(request, 422, "请求不符合要求：" + "；".join(problems), problems)

    @app.exception_handler(HTTPException)
    async def http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (303, 302) and exc.headers:
            return Response(status_code=exc.status_code, headers=exc.headers)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return _answer(request, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(UnknownForm)
    async def unknown(request: Request, exc: UnknownForm) -> Response:
        return _answer(request, 404, str(exc))

    @app.exception_handler(ShenbaoError)
    async def refused(request: Request, exc: ShenbaoError) -> Response:
        return _answer(request, 400, str(exc))

    @app.exception_handler(Exception)
    async def broken(request: Request, exc: Exception) -> Response:  # a bug: logged, told plainly
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _answer(request, 500, "服务器内部错误，已记录；请稍后再试或联系管理员")


def _problem(error: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
    return f"{where or '请求'}：{error.get('msg', '')}"


def _answer(request: Request, status: int, message: str, problems: list[str] | None = None,
            headers: Mapping[str, str] | None = None) -> Response:
    """JSON for the API, a page for a browser."""
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
        body: dict[str, Any] = {"detail": message}
        if problems:
            body["problems"] = problems
        return JSONResponse(body, status_code=status, headers=dict(headers or {}))
    return pages.message(request, status, message, headers=headers)
