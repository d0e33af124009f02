"""The checking page's server: its JSON API answers as ``verify --format json`` does, refuses
hostile and oversized requests with a one-line message, reflects nothing unescaped, and holds
under load on loopback (500 mixed requests from 20 clients), with a slow answer or slow clients
blocking nobody. The server runs as ``symbackprop serve`` in a subprocess, as a teacher starts it.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.cli import main
from symbackprop.core.functions import primes_from_derivatives
from symbackprop.render.printing import text
from test_verify_hostile import LATEX, PLAIN

flask = pytest.importorskip("flask")
pytest.importorskip("waitress")
from symbackprop.serve.app import MAX_BODY, create_app  # noqa: E402  (needs flask)

ROOT = Path(__file__).resolve().parents[1]
LECTURE = ROOT / "examples" / "lecture.sbp"
G = sbp.load(LECTURE)


def reference(parameter: str) -> str:
    """∂a/∂parameter by SymPy's own diff of the expanded output (an independent reference)."""
    expanded = G.expand(G.output)
    return text(primes_from_derivatives(sp.diff(expanded, G.symbol(parameter))))


@contextlib.contextmanager
def serving(model: Path, *options: str):
    """``symbackprop serve MODEL --port 0`` in a subprocess; yields its port."""
    process = subprocess.Popen([sys.executable, "-m", "symbackprop", "serve", str(model), "--port", "0", *options],
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, f"the server did not start: {line}{process.stderr.read() if process.poll() is not None else ''}"
        logged: list[str] = []      # read on, so that a full pipe never stalls the server
        threading.Thread(target=lambda: logged.extend(process.stderr), daemon=True).start()
        yield int(match.group(1))
        assert not any("Traceback" in entry for entry in logged), "".join(logged)
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


def request(connection: http.client.HTTPConnection, path: str, body: bytes | None = None) -> tuple[int, dict, float]:
    start = time.perf_counter()
    connection.request("POST" if body is not None else "GET", path, body=body,
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - start
    return response.status, json.loads(data) if response.getheader("Content-Type") == "application/json" else {}, elapsed


# -- the API, in-process --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    return create_app(G, source="lecture.sbp").test_client()


def test_the_api_answers_as_the_command_line_does(client, capsys):
    answer = "s1*f'(p11*z1+p21*z2)*p11*f'(w11*x1+w21*x2)*x1"
    reply = client.post("/api/verify", json={"parameter": "w11", "answer": answer, "format": "plain"})
    assert main(["verify", str(LECTURE), "--wrt", "w11", "--answer", answer, "--format", "json"]) == 3
    assert reply.status_code == 200 and reply.get_json() == json.loads(capsys.readouterr().out)
    right = client.post("/api/verify", json={"parameter": "p11", "answer": reference("p11")}).get_json()
    assert right["correct"] is True and right["notes"] == []
    latex = client.post("/api/verify", json={"parameter": "p11", "format": "latex", "lang": "ru",
                                             "answer": r"\frac{\partial a}{\partial m_1} f'(p_{11} z_1 + p_{21} z_2) z_1"})
    assert latex.get_json()["correct"] is True and latex.get_json()["message"].startswith("✓ верно")


def test_the_preview_shows_how_the_answer_was_read(client):
    reply = client.post("/api/read", json={"answer": "∂a/∂m1·∂m1/∂p11", "format": "plain"}).get_json()
    assert reply["text"] == "f'(p11·z1 + p21·z2)·s1·z1"                  # Leibniz factors resolved
    assert reply["mathml"].startswith("<math>") and "<mi>s</mi><mn>1</mn>" in reply["mathml"]
    assert client.post("/api/read", json={"answer": "2x1"}).get_json()["text"] == "2·x1"


@pytest.mark.parametrize("body, status, message", [
    (b"not json", 400, "must be a JSON object"),
    (b"[1, 2]", 400, "must be a JSON object"),
    (json.dumps({"parameter": "w11"}).encode(), 400, "answer must be a string"),
    (json.dumps({"parameter": 11, "answer": "x1"}).encode(), 400, "parameter must be a string"),
    (json.dumps({"parameter": "w111", "answer": "x1"}).encode(), 400, "unknown parameter 'w111' (did you mean"),
    (json.dumps({"parameter": "z1", "answer": "x1"}).encode(), 400, "unknown parameter 'z1'"),
    (json.dumps({"parameter": "w11", "answer": "x1", "lang": "de"}).encode(), 400, "lang must be en or ru"),
    (json.dumps({"parameter": "w11", "answer": "x1", "format": "mathml"}).encode(), 400, "unknown answer format"),
    (json.dumps({"parameter": "w11", "answer": "x1" * MAX_BODY}).encode(), 413, "larger than 16,384 bytes"),
])
def test_bad_requests_get_one_line(client, body, status, message):
    reply = client.post("/api/verify", data=body, content_type="application/json")
    assert reply.status_code == status and message in reply.get_json()["error"]
    assert "\n" not in reply.get_json()["error"]


@pytest.mark.parametrize("answer, phrase", PLAIN + [(a, p) for a, p in LATEX], ids=[a[:25] for a, _ in PLAIN + LATEX])
def test_the_hostile_catalogue_is_refused_and_nothing_is_reflected_raw(client, answer, phrase):
    latex = (answer, phrase) in LATEX
    body = json.dumps({"parameter": "w11", "answer": answer, "format": "latex" if latex else "plain"})
    reply = client.post("/api/verify", data=body, content_type="application/json")
    if len(body.encode()) > MAX_BODY:
        assert reply.status_code == 413
    else:
        assert reply.status_code == 400 and phrase in reply.get_json()["error"]
    assert not re.search(r"[<>&]", reply.get_data(as_text=True))            # escaped as \u003c, …
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_routes_and_methods_answer_json(client):
    assert client.get("/api/nothing").get_json()["error"] == "not found"
    assert client.get("/api/verify").status_code == 405


def test_the_page_is_self_contained_and_escapes_what_it_shows():
    client = create_app(G, source='<img src=x onerror="alert(1)">.sbp').test_client()
    reply = client.get("/")
    page = reply.get_data(as_text=True)
    assert '<img src=x' not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.sbp" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)       # nothing fetched from elsewhere
    assert not re.search(r"<(img|iframe|object|embed)\b", page)
    assert re.findall(r"<link [^>]*>", page) == ['<link rel="icon" href="data:,">']   # no favicon request
    policy = reply.headers["Content-Security-Policy"]
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy and "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert client.get("/?lang=ru").get_data(as_text=True).count("Проверить") == 1
    assert client.get("/?lang=<script>").get_data(as_text=True) == page            # unknown: the default


# -- under load, on loopback ----------------------------------------------------------------------

def mixed_requests(count: int) -> list[tuple[bytes, int, object]]:
    """``(body, expected status, check)`` for ``count`` requests: right answers (by SymPy's diff),
    wrong ones (a path dropped, f for f', twice the derivative), hostile ones, oversized ones."""
    parameters = [p.name for p in G.parameters]
    right = {p: reference(p) for p in parameters}
    paths = {p: sbp.derive(G, p).paths for p in parameters}
    kinds = []
    for p in parameters:
        kinds.append(({"parameter": p, "answer": right[p]}, 200, lambda r: r["correct"] is True))
        kinds.append(({"parameter": p, "answer": f"2*({right[p]})"}, 200,
                      lambda r: r["correct"] is False and r["notes"][0].startswith("coefficient")))
        if len(paths[p]) > 1:
            kinds.append(({"parameter": p, "answer": text(paths[p][0].term)}, 200,
                          lambda r, p=p: r["correct"] is False and r["notes"] == [f"missing_path:{paths[p][1]}"]))
    kinds.append(({"parameter": "p12", "answer": "s2*f(p12*z1 + p22*z2)*z1"}, 200,
                  lambda r: r["notes"] == ["wrong_factor:f_for_f'"]))
    for answer, phrase in PLAIN:
        if len(answer) < 2_000:
            kinds.append(({"parameter": "w11", "answer": answer}, 400, lambda r, phrase=phrase: phrase in r["error"]))
    kinds.append(({"parameter": "w11", "answer": "x1+" * 1_500 + "x1"}, 400, lambda r: "too long" in r["error"]))
    for size in (20_000, 200_000):
        kinds.append(({"parameter": "w11", "answer": "x" * size}, 413, lambda r: "larger than" in r["error"]))
    return [(json.dumps(body).encode(), status, check) for body, status, check in
            (kinds[i % len(kinds)] for i in range(count))]


def test_500_mixed_requests_from_20_clients():
    work = mixed_requests(500)
    with serving(LECTURE) as port:
        local = threading.local()

        def send(item):
            body, status, check = item
            if not hasattr(local, "connection"):
                local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                got, reply, elapsed = request(local.connection, "/api/verify", body)
            except (ConnectionError, http.client.HTTPException):   # the server may close after a 413
                local.connection.close()
                local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                got, reply, elapsed = request(local.connection, "/api/verify", body)
            return got == status and check(reply), elapsed, reply

        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as clients:
            results = list(clients.map(send, work))
        wall = time.perf_counter() - start
    wrong = [(json.loads(body)["answer"][:60], reply) for (ok, _, reply), (body, _, _) in zip(results, work) if not ok]
    assert not wrong, wrong[:3]
    latencies = sorted(elapsed for _, elapsed, _ in results)
    p50, p99 = latencies[len(latencies) // 2], latencies[int(0.99 * len(latencies))]
    print(f"500 requests, 20 clients: {500 / wall:.0f} requests/s, p50 {1000 * p50:.0f} ms, p99 {1000 * p99:.0f} ms")
    assert p99 < 5.0 and latencies[-1] < 15.0       # generous: a shared 2-core machine


DEEP = "\n".join(["inputs: x", "functions: f"]
                 + [f"h{l}_{j} = f(a{l}_{j}1*{'x' if l == 1 else f'h{l - 1}_1'} + a{l}_{j}2*{'x' if l == 1 else f'h{l - 1}_2'})"
                    for l in range(1, 15) for j in (1, 2)]
                 + ["y = h14_1 + h14_2"])


def test_a_slow_answer_blocks_no_one(tmp_path):
    """A wrong answer about a parameter with 8,192 paths takes its whole diagnosis budget;
    answers about another parameter, sent meanwhile, come back at once."""
    model = tmp_path / "deep.sbp"
    model.write_text(DEEP, encoding="utf-8")
    with serving(model) as port:
        quick = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        fast_body = json.dumps({"parameter": "a14_11", "answer": "h13_1*f'(a14_11*h13_1 + a14_12*h13_2)"}).encode()
        assert request(quick, "/api/verify", fast_body)[1]["correct"]          # warmed up
        slow = {}

        def slow_request():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            body = json.dumps({"parameter": "a1_11", "answer": "x*f'(a1_11*x + a1_12*x)"}).encode()
            status, reply, slow["elapsed"] = request(connection, "/api/verify", body)
            slow["done"] = time.perf_counter()
            assert status == 200 and reply["correct"] is False

        thread = threading.Thread(target=slow_request)
        thread.start()
        time.sleep(0.1)
        fast = []
        while thread.is_alive() and len(fast) < 20:
            status, reply, elapsed = request(quick, "/api/verify", fast_body)
            assert status == 200 and reply["correct"]
            fast.append((elapsed, time.perf_counter()))
        thread.join()
    print(f"slow answer {slow['elapsed']:.2f} s; {len(fast)} quick ones meanwhile, the slowest {max(e for e, _ in fast):.3f} s")
    assert slow["elapsed"] > 0.5, f"the slow answer took only {slow['elapsed']:.2f} s: choose a slower one"
    during = [elapsed for elapsed, finished in fast if finished < slow["done"]]
    assert during and max(during) < slow["elapsed"] / 2, (during, slow["elapsed"])


def test_slow_clients_hold_no_thread():
    """Thirty connections that send half a request and stall: waitress buffers requests before a
    thread sees them, so the server's two threads stay free."""
    with serving(LECTURE, "--threads", "2") as port:
        stalled = []
        for _ in range(30):
            connection = socket.create_connection(("127.0.0.1", port))
            connection.sendall(b"POST /api/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 200\r\n\r\n{\"parameter\": ")
            stalled.append(connection)
        status, reply, elapsed = request(http.client.HTTPConnection("127.0.0.1", port, timeout=30), "/api/verify",
                                         json.dumps({"parameter": "s1", "answer": "m1"}).encode())
        for connection in stalled:
            connection.close()
    assert status == 200 and reply["correct"] and elapsed < 2.0


def test_the_command_refuses_bad_options_and_names_the_missing_extra(capsys, monkeypatch):
    assert main(["serve", str(LECTURE), "--port", "70000"]) == 1
    assert "--port must be 0 … 65535" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "waitress", None)          # as if the serve extra were not installed
    monkeypatch.delitem(sys.modules, "symbackprop.serve.server", raising=False)
    assert main(["serve", str(LECTURE)]) == 1
    assert "pip install 'symbackprop[serve]'" in capsys.readouterr().err
