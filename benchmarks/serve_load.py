"""The checking page under load: requests per second and latency of ``symbackprop serve``.

A mix of requests for the lecture's network (right answers, wrong ones of three kinds, hostile
ones, oversized bodies) is sent over loopback by ``--clients`` concurrent clients (keep-alive
connections) to a server started as a teacher starts it. In the same run, in interleaved rounds,
the same answers are checked in-process with ``verify`` one after another (no HTTP, one thread):
the reference. Printed per round and as the median of the rounds: requests/s served, the 50th and
99th percentile latency, and served throughput / in-process throughput.

    python3 benchmarks/serve_load.py [--requests 500] [--clients 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import symbackprop as sbp

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "lecture.sbp"


def mix(graph: sbp.Graph, count: int) -> list[dict]:
    kinds = []
    for p in graph.parameters:
        d = sbp.derive(graph, p)
        right = sbp.text(d.closed_form)
        kinds += [{"parameter": p.name, "answer": right}, {"parameter": p.name, "answer": f"2*({right})"},
                  {"parameter": p.name, "answer": right.replace("f'", "f", 1)}]
        if len(d.paths) > 1:
            kinds.append({"parameter": p.name, "answer": sbp.text(d.paths[0].term)})
    kinds += [{"parameter": "w11", "answer": "__import__('os').system('ls')"},
              {"parameter": "w11", "answer": "9**9**9**9"}, {"parameter": "w11", "answer": "(" * 150 + "x1" + ")" * 150},
              {"parameter": "w11", "answer": "x1+" * 1_500 + "x1"}, {"parameter": "w11", "answer": "x" * 40_000}]
    return [kinds[i % len(kinds)] for i in range(count)]


def in_process(graph: sbp.Graph, work: list[dict]) -> float:
    """Seconds to check every request's answer with ``verify``, one after another."""
    start = time.perf_counter()
    for item in work:
        try:
            sbp.verify(graph, item["parameter"], item["answer"])
        except sbp.SymbackpropError:
            pass
    return time.perf_counter() - start


def served(port: int, work: list[dict], clients: int) -> tuple[float, list[float]]:
    """(wall seconds, latencies) for the requests sent by ``clients`` concurrent clients."""
    local = threading.local()

    def send(item: dict) -> float:
        body = json.dumps(item).encode()
        for _ in range(2):     # the server may close a connection after refusing a body
            if not hasattr(local, "connection"):
                local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            start = time.perf_counter()
            try:
                local.connection.request("POST", "/api/verify", body=body,
                                         headers={"Content-Type": "application/json"})
                response = local.connection.getresponse()
                response.read()
                return time.perf_counter() - start
            except (ConnectionError, http.client.HTTPException):
                local.connection.close()
                del local.connection
        raise RuntimeError("the server did not answer")

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        latencies = list(pool.map(send, work))
    return time.perf_counter() - start, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    graph = sbp.load(MODEL)
    work = mix(graph, args.requests)
    process = subprocess.Popen([sys.executable, "-m", "symbackprop", "serve", str(MODEL), "--port", "0"],
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        port = int(re.search(r"127\.0\.0\.1:(\d+)", process.stderr.readline()).group(1))
        threading.Thread(target=process.stderr.read, daemon=True).start()
        served(port, work, args.clients)      # both sides warm their caches once
        in_process(graph, work)
        print(f"{args.requests} requests ({len({json.dumps(w) for w in work})} different), "
              f"{args.clients} clients, lecture network, loopback")
        rates, p50s, p99s, ratios = [], [], [], []
        for round_ in range(1, args.rounds + 1):
            reference = in_process(graph, work)
            wall, latencies = served(port, work, args.clients)
            latencies.sort()
            rates.append(len(work) / wall)
            p50s.append(latencies[len(latencies) // 2])
            p99s.append(latencies[int(0.99 * len(latencies))])
            ratios.append(reference / wall)
            print(f"round {round_}: served {rates[-1]:7.1f} requests/s, p50 {1000 * p50s[-1]:6.1f} ms, "
                  f"p99 {1000 * p99s[-1]:6.1f} ms; in-process {len(work) / reference:7.1f} answers/s; "
                  f"served / in-process {ratios[-1]:.2f}")
        print(f"median: served {statistics.median(rates):.1f} requests/s, p50 {1000 * statistics.median(p50s):.1f} ms, "
              f"p99 {1000 * statistics.median(p99s):.1f} ms, served / in-process throughput "
              f"{statistics.median(ratios):.2f}")
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
