"""The checking page's web application (Flask): the page, and a JSON API that checks answers.

- ``GET /`` (``?lang=ru``): the page (``page.py``);
- ``POST /api/verify`` with ``{"parameter": "w11", "answer": "…", "format": "plain", "lang": "en"}``
  (``format`` and ``lang`` optional): the verdict as ``symbackprop verify --format json`` prints
  it (``correct``, ``present``, ``missing``, ``wrong_factors``, ``notes``, ``message``, …);
- ``POST /api/read`` with ``{"answer": "…", "format": "plain"}``: how the checker reads the
  answer (``text``, and ``mathml`` for the page's live preview).

A request that cannot be answered gets ``{"error": "<one line>", "detail": "<the whole message>"}``
with status 400 (an answer that does not parse, a hostile one, an unknown parameter, a body that
is not a JSON object), 413 (a body over ``MAX_BODY`` bytes), 404 or 405. Every request is bounded:
the body by ``MAX_BODY``, the answer by the parser's limits, the diagnosis of a wrong answer by
``budget`` seconds. JSON is written so that no browser could read it as HTML (``<``, ``>``, ``&``
escaped, ``nosniff``), and every response forbids framing and fetching anything else.

>>> from symbackprop import lecture_network
>>> client = create_app(lecture_network(), source="lecture").test_client()
>>> reply = client.post("/api/verify", json={"parameter": "s1", "answer": "m1"})
>>> reply.status_code, reply.get_json()["correct"], reply.get_json()["notes"]
(200, True, [])
>>> reply = client.post("/api/verify", json={"parameter": "s1", "answer": "__import__('os')"})
>>> reply.status_code, reply.get_json()["error"].startswith("line 1, column 1: names cannot start with '_'")
(400, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..check.feedback import LANGUAGES
from ..check.verify import DEFAULT_BUDGET, parse_answer, verify
from ..core.errors import SymbackpropError, did_you_mean
from ..core.graph import Graph
from ..render.mathml import mathml
from ..render.printing import text
from .page import checking_page, html_safe_json

__all__ = ["create_app", "MAX_BODY"]

MAX_BODY = 16 * 1024       # bytes of a request body: an answer is at most 3,000 characters
_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store"}
_API_POLICY = "default-src 'none'; frame-ancestors 'none'"


@dataclass(frozen=True)
class _Question:
    parameter: str
    answer: str
    format: str
    lang: str


def _json(data, status: int = 200) -> Response:
    return Response(html_safe_json(data), status=status, mimetype="application/json")


def _error(message: str, status: int) -> Response:
    return _json({"error": message.splitlines()[0] if message else "error", "detail": message}, status)


def create_app(graph: Graph, lang: str = "en", source: str = "model", budget: float = DEFAULT_BUDGET) -> Flask:
    """The application for ``graph``; ``lang`` is the page's default language, ``budget`` the
    seconds a wrong answer's diagnosis may take."""
    if lang not in LANGUAGES:
        raise SymbackpropError(f"unknown language {lang!r}; use {' or '.join(LANGUAGES)}")
    pages = {language: checking_page(graph, language, source) for language in LANGUAGES}
    parameters = [p.name for p in graph.parameters]
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    def question(needs_parameter: bool) -> _Question:
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            raise SymbackpropError("the request body must be a JSON object such as "
                                   '{"parameter": "w11", "answer": "…", "format": "plain"}')
        fields = {"parameter": body.get("parameter", "") if needs_parameter else "",
                  "answer": body.get("answer"), "format": body.get("format", "plain"), "lang": body.get("lang", lang)}
        for name, value in fields.items():
            if not isinstance(value, str):
                raise SymbackpropError(f"{name} must be a string")
        if fields["lang"] not in LANGUAGES:
            raise SymbackpropError(f"lang must be {' or '.join(LANGUAGES)}")
        if needs_parameter and fields["parameter"] not in parameters:
            raise SymbackpropError(f"unknown parameter {fields['parameter'][:40]!r}"
                                   f"{did_you_mean(fields['parameter'][:40], parameters)}; "
                                   f"choose one of {', '.join(parameters)}")
        return _Question(**fields)

    @app.get("/")
    def page() -> Response:
        chosen = pages.get(request.args.get("lang", lang), pages[lang])
        response = Response(chosen.html, mimetype="text/html")
        response.headers["Content-Security-Policy"] = chosen.policy
        return response

    @app.post("/api/verify")
    def api_verify() -> Response:
        asked = question(needs_parameter=True)
        verdict = verify(graph, asked.parameter, asked.answer, lang=asked.lang, format=asked.format, budget=budget)
        return _json(verdict.as_dict())

    @app.post("/api/read")
    def api_read() -> Response:
        asked = question(needs_parameter=False)
        answer = parse_answer(graph, asked.answer, asked.format)
        return _json({"text": text(answer), "mathml": mathml(answer)})

    @app.errorhandler(SymbackpropError)
    def refused(error: SymbackpropError) -> Response:
        return _error(str(error), 400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        message = f"the request is larger than {MAX_BODY:,} bytes" if error.code == 413 else error.name.lower()
        return _error(message, error.code or 500)

    @app.errorhandler(Exception)
    def failed(error: Exception) -> Response:
        app.logger.exception("a request failed")
        return _error("the checker failed on this request; please tell your teacher", 500)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update(_HEADERS)
        response.headers.setdefault("Content-Security-Policy", _API_POLICY)
        return response

    return app
