"""A ``Verdict`` in words, for a student: English or Russian.

The first line is the verdict (``✓ correct …``, ``✗ incomplete: 1 of 2 paths …``); each
further line is one finding (a missing path with its term, a wrong factor, an extra term, a
point where the answer and the derivative differ).

>>> from symbackprop import lecture_network, verify
>>> print(verify(lecture_network(), "s1", "m1", lang="ru").message)
✓ верно: учтены все пути (1): s1→a  (проверено символьно)
"""

from __future__ import annotations

from .printing import TextPrinter, _path_term, text

__all__ = ["message", "mistakes", "PHRASES"]

_TEXT = TextPrinter()

PHRASES = {
    "en": {
        "correct": "✓ correct: all paths ({n}): {paths}  ({how})",
        "correct_zero": "✓ correct: {d} = 0  ({how})",
        "symbolic": "checked symbolically",
        "numeric": "checked numerically at {points} points",
        "incomplete": "✗ incomplete: {k} of {n} paths.  present: {present}   missing: {missing}",
        "wrong": "✗ incorrect: {k} of {n} paths right",
        "wrong_zero": "✗ incorrect: {d} = 0 (no path leads from {wrt} to {of})",
        "present": "  present: {paths}",
        "missing": "  missing: {path}  ({term})",
        "derivative": "  path {path}: {found} where {expected} belongs ({what})",
        "lower": "the function instead of its derivative",
        "higher": "a derivative instead of the function",
        "other_order": "the wrong derivative",
        "index": "  path {path}: {found} where {expected} belongs{inside} (wrong index)",
        "symbol": "  path {path}: {found} where {expected} belongs{inside}",
        "factor": "  path {path}: {found} where {expected} belongs{inside}",
        "inside": ", in {context}",
        "missing_factor": "  path {path}: the factor {expected} is missing",
        "extra_factor": "  path {path}: an extra factor {found}",
        "sign": "  path {path}: sign error",
        "coefficient": "  path {path}: the term is multiplied by {found}",
        "extra": "  extra term: {term} (matches no path from {wrt} to {of})",
        "unmatched": "  the answer does not split into the paths' terms",
        "counterexample": "  counterexample: {functions}{values}: answer = {answer:.6g}, {d} = {expected:.6g}",
        # short forms, for counting common mistakes in a class
        "m_missing": "missing path {path}",
        "m_derivative": "{found} instead of {expected}",
        "m_index": "{found} instead of {expected}",
        "m_missing_factor": "missing factor {expected}",
        "m_extra_factor": "extra factor {found}",
        "m_sign": "sign error on path {path}",
        "m_coefficient": "a factor {found} on path {path}",
        "m_extra": "extra term {term}",
        "m_other": "not a sum of the paths",
    },
    "ru": {
        "correct": "✓ верно: учтены все пути ({n}): {paths}  ({how})",
        "correct_zero": "✓ верно: {d} = 0  ({how})",
        "symbolic": "проверено символьно",
        "numeric": "проверено численно в {points} точках",
        "incomplete": "✗ неполно: {k} из {n} путей.  есть: {present}   нет: {missing}",
        "wrong": "✗ неверно: правильных путей {k} из {n}",
        "wrong_zero": "✗ неверно: {d} = 0 (от {wrt} к {of} не ведёт ни один путь)",
        "present": "  есть: {paths}",
        "missing": "  нет пути: {path}  ({term})",
        "derivative": "  путь {path}: {found} вместо {expected} ({what})",
        "lower": "функция вместо её производной",
        "higher": "производная вместо функции",
        "other_order": "не та производная",
        "index": "  путь {path}: {found} вместо {expected}{inside} (не тот индекс)",
        "symbol": "  путь {path}: {found} вместо {expected}{inside}",
        "factor": "  путь {path}: {found} вместо {expected}{inside}",
        "inside": " в {context}",
        "missing_factor": "  путь {path}: не хватает множителя {expected}",
        "extra_factor": "  путь {path}: лишний множитель {found}",
        "sign": "  путь {path}: ошибка в знаке",
        "coefficient": "  путь {path}: слагаемое умножено на {found}",
        "extra": "  лишнее слагаемое: {term} (не соответствует ни одному пути от {wrt} к {of})",
        "unmatched": "  ответ не раскладывается на слагаемые путей",
        "counterexample": "  контрпример: {functions}{values}: ответ = {answer:.6g}, {d} = {expected:.6g}",
        "m_missing": "нет пути {path}",
        "m_derivative": "{found} вместо {expected}",
        "m_index": "{found} вместо {expected}",
        "m_missing_factor": "не хватает множителя {expected}",
        "m_extra_factor": "лишний множитель {found}",
        "m_sign": "ошибка в знаке на пути {path}",
        "m_coefficient": "множитель {found} на пути {path}",
        "m_extra": "лишнее слагаемое {term}",
        "m_other": "не сумма путей",
    },
}


def _term(path) -> str:
    return _path_term(path.factors, _TEXT, "·")


def _show(expr) -> str:
    return "" if expr is None else text(expr)


def _derivative_symbol(verdict) -> str:
    return f"∂{verdict.of}/∂{verdict.wrt}"


def message(verdict, lang: str = "en") -> str:
    """The whole feedback: the verdict line, then one line per finding."""
    say = PHRASES[lang]
    paths, d = verdict.paths, _derivative_symbol(verdict)
    if verdict.correct:
        how = say[verdict.method].format(points=_points(verdict))
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


def _points(verdict) -> int:
    from .verify import _truth

    return len(_truth(verdict.derivation.graph, verdict.wrt, verdict.of).samples)


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
        lines.append(say[wrong.kind].format(
            path=wrong.path, found=_show(wrong.found), expected=_show(wrong.expected), inside=inside,
            what=say[_order_change(wrong)] if wrong.kind == "derivative" else ""))
    lines += [say["extra"].format(term=text(t), wrt=verdict.wrt, of=verdict.of) for t in verdict.extra]
    if not (verdict.missing or verdict.wrong_factors or verdict.extra):
        lines.append(say["unmatched"])
    return lines


def _order_change(wrong) -> str:
    from .functions import prime_order

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
        key = {"symbol": "m_index", "factor": "m_index"}.get(wrong.kind, f"m_{wrong.kind}")
        found.append(say[key].format(path=wrong.path, found=_show(wrong.found), expected=_show(wrong.expected)))
    found += [say["m_extra"].format(term=text(t)) for t in verdict.extra]
    return tuple(found) or (say["m_other"],)
