"""``symbackprop serve MODEL [--host 127.0.0.1] [--port 8000]``: the checking page for a model.

Students open the page, pick a parameter, type a derivative (plain or LaTeX), see how it was
read and get the verdict with the network's diagram highlighting the missing or wrong paths.
The server listens on this computer only unless ``--host`` says otherwise. Needs the ``serve``
extra (Flask and waitress).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.errors import SymbackpropError
from ..handout.strings import LANGUAGES
from ._common import add_command, add_model_argument, load_model

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers,
        "serve", help="a web page where students check their derivatives themselves",
        description="Serve the checking page for a model: pick a parameter, type an answer, see how it\n"
                    "was read and the verdict, with the paths highlighted on the network's diagram.\n"
                    "JSON API: POST /api/verify {\"parameter\": \"w11\", \"answer\": \"…\", \"format\": \"plain\"}.",
        examples=[
            "symbackprop serve examples/lecture.sbp",
            "symbackprop serve examples/lecture.sbp --port 8080 --lang ru",
            "symbackprop serve examples/lecture.sbp --host 0.0.0.0    # reachable from other computers",
        ])
    add_model_argument(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default 127.0.0.1: this computer only)")
    parser.add_argument("--port", type=int, default=8000, help="the port (default 8000; 0: any free port)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="requests answered at once (default 8)")
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="the page's language (default en)")
    parser.set_defaults(run=run, unwind_on_sigterm=False)  # a server stops at once (nothing to clean up)


def run(args: argparse.Namespace) -> int:
    try:
        from ..serve.app import create_app
        from ..serve.server import DEFAULT_THREADS, run as serve
    except ImportError as error:
        raise SymbackpropError(f"symbackprop serve needs Flask and waitress ({error.name} is missing): "
                               "pip install 'symbackprop[serve]'") from None
    if not 0 <= args.port <= 65535:
        raise SymbackpropError(f"--port must be 0 … 65535, not {args.port}")
    threads = args.threads or DEFAULT_THREADS
    if not 1 <= threads <= 64:
        raise SymbackpropError(f"--threads must be 1 … 64, not {threads}")
    graph = load_model(args)
    app = create_app(graph, lang=args.lang, source=Path(args.model).name)
    if args.host not in LOCAL_HOSTS:
        print(f"symbackprop: note: listening on {args.host}: other computers can reach the page", file=sys.stderr)

    def ready(host: str, port: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        print(f"symbackprop: serving {args.model} on http://{shown}:{port}/ (Ctrl-C stops)", file=sys.stderr,
              flush=True)

    try:
        serve(app, host=args.host, port=args.port, threads=threads, ready=ready)
    except KeyboardInterrupt:
        print("symbackprop: stopped", file=sys.stderr)
    return 0
