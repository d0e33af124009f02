"""The checking page: one self-contained HTML document (styles, script, the network's drawing
inline; nothing fetched from anywhere but its own server's API).

The drawing is the network without highlights; the page keeps, for every parameter, each of its
paths as the drawn arrows it follows (``routes``), and colours those arrows by the verdict: a
present path green, a wrong one orange, a missing one red (the worst colour wins on an arrow that
several paths share). Every text that came from the server lands in the page as ``textContent``,
except the "read as" preview, which is MathML the server printed from the parsed expression.

>>> from symbackprop import lecture_network
>>> g = lecture_network()
>>> routes(g, Drawing(g))["w11"]
{'w11→z1→m1→a': ['x1->z1', 'z1->m1', 'm1->a'], 'w11→z1→m2→a': ['x1->z1', 'z1->m2', 'm2->a']}
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass

from ..check.feedback import LANGUAGES, by_language
from ..check.reading import READ_AS
from ..core.derive import count_paths, paths
from ..core.graph import Graph
from ..handout.build import SUMMARY_THRESHOLD, SUMMARY_WIDTH
from ..render.diagram import Drawing, svg
from ..render.printing import text

__all__ = ["Page", "checking_page", "routes", "html_safe_json", "ROUTE_LIMIT"]

# Parameters with more paths than this get no highlighting (the page would grow too large).
ROUTE_LIMIT = 200

_PHRASES = {
    "title": ("Check your derivative", "Проверка производной"),
    "model": ("model", "модель"),
    "other_language": ("Русский", "English"),
    "parameter": ("The derivative of {of} with respect to", "Производная {of} по"),
    "plain": ("plain math", "обычная запись"),
    "latex": ("LaTeX", "LaTeX"),
    "answer": ("Your answer", "Ваш ответ"),
    "placeholder": ("e.g. s1*f'(p11*z1 + p21*z2)*z1", "например, s1*f'(p11*z1 + p21*z2)*z1"),
    "check": ("Check", "Проверить"),
    "checking": ("checking…", "проверяю…"),
    "present": ("present", "есть"),
    "missing": ("missing", "нет"),
    "wrong": ("wrong factor", "неверный множитель"),
    "unreachable": ("the server did not answer", "сервер не ответил"),
    "legend": ("green: a path you have; orange: a path with a wrong factor; red: a missing path",
               "зелёный: путь есть; оранжевый: в пути неверный множитель; красный: пути нет"),
}
_WORDS = {lang: {**words, **READ_AS[lang]} for lang, words in by_language(_PHRASES).items()}

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em 2em;max-width:62em;color:#222}
header p{color:#555;margin-top:-.5em}
#network svg{max-width:100%;height:auto}
form{display:grid;gap:.6em;margin:1em 0}
textarea{font:1.05em ui-monospace,monospace;width:100%;min-height:4.5em;box-sizing:border-box}
#preview{min-height:2.2em;padding:.3em .5em;background:#f6f6f6;border-radius:4px}#reading math{font-size:1.3em}
#preview .label,#paths .label{color:#555}
.error{color:#a60}.correct{color:#080}.incorrect{color:#b00}
#verdict{white-space:pre-wrap;font:1em ui-monospace,monospace;margin:0}
button{font-size:1em;padding:.35em 1.2em;justify-self:start}
#paths{list-style:none;padding:0}#paths li.present{color:#1b7f3b}#paths li.missing{color:#c62828}
#paths li.wrong{color:#d97706}
g.edge.route path{stroke:#0072b2;stroke-width:2.5}g.edge.route polygon{stroke:#0072b2;fill:#0072b2}
g.edge.present path{stroke:#1b7f3b;stroke-width:3.5}g.edge.present polygon{stroke:#1b7f3b;fill:#1b7f3b}
g.edge.wrong path{stroke:#d97706;stroke-width:3.5}g.edge.wrong polygon{stroke:#d97706;fill:#d97706}
g.edge.missing path{stroke:#c62828;stroke-width:3.5;stroke-dasharray:7 4}
g.edge.missing polygon{stroke:#c62828;fill:#c62828}
"""

_SCRIPT = """
"use strict";
const data = id => JSON.parse(document.getElementById(id).textContent);
const routes = data("routes"), words = data("words");
const $ = id => document.getElementById(id);
const arrows = new Map();
for (const g of document.querySelectorAll("#network g.edge")) arrows.set(g.querySelector("title").textContent, g);
const rank = {route: 0, present: 1, wrong: 2, missing: 3};

function question() {
  return {parameter: $("parameter").value, answer: $("answer").value, lang: words.lang,
          format: document.querySelector("input[name=format]:checked").value};
}

async function post(url, body) {
  const response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                     body: JSON.stringify(body)});
  return {ok: response.ok, body: await response.json()};
}

function highlight(verdict) {
  const parameterRoutes = routes[$("parameter").value] || {};
  const status = {};
  for (const path of Object.keys(parameterRoutes)) status[path] = verdict ? (verdict.correct ? "present" : "missing") : "route";
  if (verdict && !verdict.correct) {
    verdict.present.forEach(path => { status[path] = "present"; });
    verdict.wrong_factors.forEach(w => { status[w.path] = "wrong"; });
    verdict.missing.forEach(m => { status[m.path] = "missing"; });
  }
  const colour = new Map();
  for (const [path, kind] of Object.entries(status)) {
    for (const arrow of parameterRoutes[path] || []) {
      if (!colour.has(arrow) || rank[kind] > rank[colour.get(arrow)]) colour.set(arrow, kind);
    }
  }
  for (const [title, g] of arrows) {
    g.classList.remove("route", "present", "wrong", "missing");
    if (colour.has(title)) g.classList.add(colour.get(title));
  }
  const list = $("paths");
  list.replaceChildren();
  if (!verdict) return;
  for (const [path, kind] of Object.entries(status)) {
    const item = document.createElement("li");
    item.className = kind;
    item.dataset.path = path;
    item.textContent = (kind === "present" ? "✓ " : "✗ ") + path + " (" + words[kind] + ")";
    list.appendChild(item);
  }
}

let pending = null, latest = 0;
async function preview() {
  const asked = ++latest;
  const reading = $("reading");
  if (!$("answer").value.trim()) { reading.replaceChildren(); return; }
  try {
    const {ok, body} = await post("/api/read", question());
    if (asked !== latest) return;
    if (ok) { reading.className = ""; reading.innerHTML = body.mathml; }
    else { reading.className = "error"; reading.textContent = body.error; }
  } catch (e) { reading.className = "error"; reading.textContent = words.unreachable; }
}

async function check(event) {
  event.preventDefault();
  const verdict = $("verdict");
  verdict.className = ""; verdict.textContent = words.checking;
  try {
    const {ok, body} = await post("/api/verify", question());
    if (ok) {
      verdict.className = body.correct ? "correct" : "incorrect";
      verdict.textContent = body.message;
      highlight(body);
    } else {
      verdict.className = "error";
      verdict.textContent = body.detail || body.error;
      highlight(null);
    }
  } catch (e) { verdict.className = "error"; verdict.textContent = words.unreachable; }
}

$("answer").addEventListener("input", () => { clearTimeout(pending); pending = setTimeout(preview, 250); });
for (const input of document.querySelectorAll("input[name=format]")) input.addEventListener("change", preview);
$("parameter").addEventListener("change", () => { $("verdict").textContent = ""; highlight(null); });
$("answer").addEventListener("keydown", e => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) check(e); });
$("check").addEventListener("submit", check);
highlight(null);
"""


@dataclass(frozen=True)
class Page:
    """The page's HTML and the Content-Security-Policy that admits exactly its own style and script."""

    html: str
    policy: str


def _digest(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


def html_safe_json(value) -> str:
    """JSON that no browser reads as HTML and that cannot close a ``<script>`` element holding it."""
    return (json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))


def routes(graph: Graph, drawing: Drawing) -> dict[str, dict[str, list[str]]]:
    """``{parameter: {path: [drawn arrows]}}``, each arrow named as Graphviz titles it
    (``x1->z1``); parameters with more than ``ROUTE_LIMIT`` paths are left out."""
    found = {}
    for p in graph.parameters:
        if count_paths(graph, p) <= ROUTE_LIMIT:
            found[p.name] = {str(path): ["->".join(drawing.drawn_edge(u, v))
                                         for u, v in zip(path.nodes, path.nodes[1:])]
                             for path in paths(graph, p)}
    return found


def checking_page(graph: Graph, lang: str, source: str) -> Page:
    """The page for ``graph`` in ``lang`` (``source`` names the model in the header)."""
    say, e = _WORDS[lang], html.escape
    crowded = len(graph.nodes) + len(graph.inputs) > SUMMARY_THRESHOLD   # as a handout draws it
    drawing = Drawing(graph, summary=SUMMARY_WIDTH if crowded else None)
    other = LANGUAGES[1 - LANGUAGES.index(lang)]
    options = "".join(f'<option value="{e(p.name)}">{e(p.name)}</option>' for p in graph.parameters)
    words = {key: say[key] for key in ("present", "missing", "wrong", "checking", "unreachable")} | {"lang": lang}
    document = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>{e(say['title'])}: {e(source)}</title><style>{_STYLE}</style></head>
<body><header><h1>{e(say['title'])}</h1>
<p>{e(say['model'])}: {e(source)} · <a href="?lang={other}" lang="{other}">{e(say['other_language'])}</a></p></header>
<main><figure id="network">{svg(drawing.digraph())}<figcaption>{e(say['legend'])}</figcaption></figure>
<form id="check"><label>{e(say['parameter'].format(of=text(graph.output)))} <select id="parameter">{options}</select></label>
<div><label><input type="radio" name="format" value="plain" checked> {e(say['plain'])}</label>
<label><input type="radio" name="format" value="latex"> {e(say['latex'])}</label></div>
<label for="answer">{e(say['answer'])}</label>
<textarea id="answer" maxlength="3000" spellcheck="false" autocomplete="off" placeholder="{e(say['placeholder'])}"></textarea>
<div id="preview" aria-live="polite"><span class="label">{e(say['read_as'])}:</span> <span id="reading"></span></div>
<button type="submit">{e(say['check'])}</button></form>
<section aria-live="polite"><pre id="verdict"></pre><ul id="paths"></ul></section></main>
<script type="application/json" id="routes">{html_safe_json(routes(graph, drawing))}</script>
<script type="application/json" id="words">{html_safe_json(words)}</script>
<script>{_SCRIPT}</script></body></html>
"""
    policy = (f"default-src 'none'; script-src {_digest(_SCRIPT)}; style-src {_digest(_STYLE)}; "
              "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'")
    return Page(document, policy)
