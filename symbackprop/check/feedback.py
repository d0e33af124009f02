"""A ``Verdict`` in words, for a student: English or Russian.

The first line is the verdict (``✓ correct …``, ``✗ incomplete: 1 of 2 paths …``); each
further line is one finding (a missing path with its term, a wrong factor, an extra term, a
point where the answer and the derivative differ).

>>> from symbackprop import lecture_network, verify
>>> print(verify(lecture_network(), "s1", "m1", lang="ru").message)
✓ верно: учтены все пути (1): s1→a  (проверено символьно)
"""

from __future__ import annotations

from ..core.functions import prime_order
from ..render.printing import path_term_text, text

__all__ = ["message", "mistakes", "PHRASES", "LANGUAGES", "by_language"]


# Each phrase in English and Russian; the m_ phrases are short forms, for counting common
# mistakes in a class.
_PHRASES = {
    "correct": ("✓ correct: all paths ({n}): {paths}  ({how})",
                "✓ верно: учтены все пути ({n}): {paths}  ({how})"),
    "correct_zero": ("✓ correct: {d} = 0  ({how})", "✓ верно: {d} = 0  ({how})"),
    "symbolic": ("checked symbolically", "проверено символьно"),
    "numeric": ("checked numerically at {points} points", "проверено численно в {points} точках"),
    "incomplete": ("✗ incomplete: {k} of {n} paths.  present: {present}   missing: {missing}",
                   "✗ неполно: {k} из {n} путей.  есть: {present}   нет: {missing}"),
    "wrong": ("✗ incorrect: {k} of {n} paths right", "✗ неверно: правильных путей {k} из {n}"),
    "wrong_zero": ("✗ incorrect: {d} = 0 (no path leads from {wrt} to {of})",
                   "✗ неверно: {d} = 0 (от {wrt} к {of} не ведёт ни один путь)"),
    "present": ("  present: {paths}", "  есть: {paths}"),
    "missing": ("  missing: {path}  ({term})", "  нет пути: {path}  ({term})"),
    "derivative": ("  path {path}: {found} where {expected} belongs ({what})",
                   "  путь {path}: {found} вместо {expected} ({what})"),
    "lower": ("the function instead of its derivative", "функция вместо её производной"),
    "higher": ("a derivative instead of the function", "производная вместо функции"),
    "other_order": ("the wrong derivative", "не та производная"),
    "index": ("  path {path}: {found} where {expected} belongs{inside} (wrong index)",
              "  путь {path}: {found} вместо {expected}{inside} (не тот индекс)"),
    "factor": ("  path {path}: {found} where {expected} belongs{inside}",
               "  путь {path}: {found} вместо {expected}{inside}"),
    "inside": (", in {context}", " в {context}"),
    "missing_factor": ("  path {path}: the factor {expected} is missing",
                       "  путь {path}: не хватает множителя {expected}"),
    "extra_factor": ("  path {path}: an extra factor {found}", "  путь {path}: лишний множитель {found}"),
    "sign": ("  path {path}: sign error", "  путь {path}: ошибка в знаке"),
    "coefficient": ("  path {path}: the term is multiplied by {found}",
                    "  путь {path}: слагаемое умножено на {found}"),
    "extra": ("  extra term: {term} (matches no path from {wrt} to {of})",
              "  лишнее слагаемое: {term} (не соответствует ни одному пути от {wrt} к {of})"),
    "unmatched": ("  the answer does not split into the paths' terms",
                  "  ответ не раскладывается на слагаемые путей"),
    "counterexample": ("  counterexample: {functions}{values}: answer = {answer:.6g}, {d} = {expected:.6g}",
                       "  контрпример: {functions}{values}: ответ = {answer:.6g}, {d} = {expected:.6g}"),
    "m_missing": ("missing path {path}", "нет пути {path}"),
    "m_missing_factor": ("missing factor {expected}", "не хватает множителя {expected}"),
    "m_extra_factor": ("extra factor {found}", "лишний множитель {found}"),
    "m_sign": ("sign error on path {path}", "ошибка в знаке на пути {path}"),
    "m_coefficient": ("a factor {found} on path {path}", "множитель {found} на пути {path}"),
    "m_extra": ("extra term {term}", "лишнее слагаемое {term}"),
    "m_other": ("not a sum of the paths", "не сумма путей"),
    "m_instead": ("{found} instead of {expected}", "{found} вместо {expected}"),
}
LANGUAGES = ("en", "ru")


def by_language(phrases: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    """``{key: (english, russian)}`` → ``{"en": {key: english}, "ru": {key: russian}}``."""
    return {lang: {key: pair[i] for key, pair in phrases.items()} for i, lang in enumerate(LANGUAGES)}


PHRASES = by_language(_PHRASES)
_LINE_OF_KIND = {"symbol": "factor"}         # a wrong symbol reads like any other wrong factor
_INSTEAD = ("derivative", "index", "symbol", "factor")


def _term(path) -> str:
    return path_term_text(path.factors)


def _show(expr) -> str:
    return "" if expr is None else text(expr)


def _derivative_symbol(verdict) -> str:
    return f"∂{verdict.of}/∂{verdict.wrt}"


def message(verdict, lang: str = "en") -> str:
    """The whole feedback: the verdict line, then one line per finding."""
    say = PHRASES[lang]
    paths, d = verdict.paths, _derivative_symbol(verdict)
    if verdict.correct:
        how = say[verdict.method].format(points=verdict.points)
        if not paths:
            return say["correct_zero"].format(d=d, how=how)
        return say["correct"].format(n=len(paths), paths=", ".join(map(str, paths)), how=how)
    lines = [_headline(verdict, say, d)]
    only_missing = verdict.present and verdict.missing and not (verdict.extra or verdict.wrong_factors)
    if not only_missing:
        lines += _findings(verdict, say)
    if verdict.counterexample is not None:
        lines.append(_counterexample(verdict.counterexample, say, d))
    return "\n".join(lines)


def _headline(verdict, say: dict, d: str) -> str:
    paths = verdict.paths
    if not paths:
        return say["wrong_zero"].format(d=d, wrt=verdict.wrt, of=verdict.of)
    if verdict.present and verdict.missing and not (verdict.extra or verdict.wrong_factors):
        missing = "   ".join(f"{p}  ({_term(p)})" for p in verdict.missing)
        return say["incomplete"].format(k=len(verdict.present), n=len(paths),
                                        present=", ".join(map(str, verdict.present)), missing=missing)
    return say["wrong"].format(k=len(verdict.present), n=len(paths))


def _findings(verdict, say: dict) -> list[str]:
    lines = []
    if verdict.present:
        lines.append(say["present"].format(paths=", ".join(map(str, verdict.present))))
    lines += [say["missing"].format(path=p, term=_term(p)) for p in verdict.missing]
    for wrong in verdict.wrong_factors:
        inside = say["inside"].format(context=text(wrong.context)) if wrong.context is not None else ""
        lines.append(say[_LINE_OF_KIND.get(wrong.kind, wrong.kind)].format(
            path=wrong.path, found=_show(wrong.found), expected=_show(wrong.expected), inside=inside,
            what=say[_order_change(wrong)] if wrong.kind == "derivative" else ""))
    lines += [say["extra"].format(term=text(t), wrt=verdict.wrt, of=verdict.of) for t in verdict.extra]
    if not (verdict.missing or verdict.wrong_factors or verdict.extra):
        lines.append(say["unmatched"])
    return lines


def _order_change(wrong) -> str:
    """Which way a derivative mix-up went: ``f`` for ``f'`` is lower, ``f'`` for ``f`` higher."""
    found, expected = prime_order(wrong.found.func), prime_order(wrong.expected.func)
    if found == 0:
        return "lower"
    return "higher" if expected == 0 else "other_order"


def _counterexample(example, say: dict, d: str) -> str:
    functions = "".join(f"{name} = {chosen}; " for name, chosen in example.functions.items())
    values = ", ".join(f"{leaf} = {float(v):g}" for leaf, v in example.values.items())
    # + 0.0 turns -0.0 into 0.0: a zero has no sign worth showing
    return say["counterexample"].format(functions=functions, values=values, answer=example.answer + 0.0,
                                        expected=example.expected + 0.0, d=d)


def mistakes(verdict, lang: str = "en") -> tuple[str, ...]:
    """Short descriptions of each mistake, comparable across students."""
    if verdict.correct:
        return ()
    say = PHRASES[lang]
    found = [say["m_missing"].format(path=p) for p in verdict.missing]
    for wrong in verdict.wrong_factors:
        key = "m_instead" if wrong.kind in _INSTEAD else f"m_{wrong.kind}"
        found.append(say[key].format(path=wrong.path, found=_show(wrong.found), expected=_show(wrong.expected)))
    found += [say["m_extra"].format(term=text(t)) for t in verdict.extra]
    return tuple(found) or (say["m_other"],)
