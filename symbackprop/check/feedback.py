"""A ``Verdict`` in words, for a student: English or Russian.

The first line is the verdict (``✓ correct …``, ``✗ incomplete: 1 of 2 paths …``, ``✗ correct
for f = tanh, the bound activation …``, ``? could not be checked …``); each further line is one
finding (a missing path with its term, a wrong factor, an extra term, a point where the answer
and the derivative differ, a diagnosis that was skipped).

>>> from symbackprop import lecture_network, verify
>>> print(verify(lecture_network(), "s1", "m1", lang="ru").message)
✓ верно: учтены все пути (1): s1→a  (проверено символьно)
"""

from __future__ import annotations

from ..core.functions import prime_order
from .dag import MAX_TREE, tree_size
from ..numeric.sampling import MIN_POINTS
from ..render.printing import path_term_text, text

__all__ = ["message", "mistakes", "too_many_paths", "PHRASES", "LANGUAGES", "by_language"]


# Each phrase in English and Russian; the m_ phrases are short forms, for counting common
# mistakes in a class.
_PHRASES = {
    "correct": ("✓ correct: all paths ({n}): {paths}  ({how})",
                "✓ верно: учтены все пути ({n}): {paths}  ({how})"),
    "correct_many": ("✓ correct: all {n} paths  ({how})", "✓ верно: учтены все пути ({n})  ({how})"),
    "correct_zero": ("✓ correct: {d} = 0  ({how})", "✓ верно: {d} = 0  ({how})"),
    "unchecked": ("? could not be checked: {d} is defined at only {k} of the {tried} points tried "
                  "(at least {need} are needed), so nothing was compared",
                  "? не удалось проверить: {d} определена лишь в {k} из {tried} опробованных точек "
                  "(нужно не меньше {need}), сравнивать не в чем"),
    "bound": ("✗ correct for {binding}, the bound activation; the question is for a general {f}: "
              "write {primes}",
              "✗ верно только для {binding} — активации, заданной в модели (bind); вопрос — для "
              "произвольной {f}: запишите {primes}"),
    "bound_many": ("✗ correct for {binding}, the bound activations; the question is for general "
                   "{f}: write {primes}",
                   "✗ верно только для {binding} — активаций, заданных в модели (bind); вопрос — для "
                   "произвольных {f}: запишите {primes}"),
    "skipped_budget": ("  (the detailed diagnosis was skipped: it did not fit in the time budget of {budget:g} s)",
                       "  (подробный разбор пропущен: он не уложился в отведённые {budget:g} с)"),
    "skipped_paths": ("  (the detailed diagnosis was skipped: {n} paths are too many to compare one by one)",
                      "  (подробный разбор пропущен: путей слишком много ({n}), чтобы сравнивать их по одному)"),
    "more": ("  … and {n} more", "  … и ещё {n}"),
    "too_many_paths": ("{d}: a sum over {n} paths (too many to write out)",
                       "{d}: сумма по {n} путям (их слишком много, чтобы выписать)"),
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
    "m_bound": ("right only for {binding}", "верно только для {binding}"),
    "m_instead": ("{found} instead of {expected}", "{found} вместо {expected}"),
}
LANGUAGES = ("en", "ru")


def by_language(phrases: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    """``{key: (english, russian)}`` → ``{"en": {key: english}, "ru": {key: russian}}``."""
    return {lang: {key: pair[i] for key, pair in phrases.items()} for i, lang in enumerate(LANGUAGES)}


PHRASES = by_language(_PHRASES)
_LINE_OF_KIND = {"symbol": "factor"}         # a wrong symbol reads like any other wrong factor
_INSTEAD = ("derivative", "index", "symbol", "factor")
MAX_LISTED = 6          # paths named in one line; more are counted
MAX_LINES = 12          # findings shown one per line; more are counted
MAX_VALUES = 16         # leaf values shown in a counterexample (all of them are in as_dict())


def _term(path) -> str:
    return path_term_text(path.factors)


def _show(expr) -> str:
    if expr is None:
        return ""
    return text(expr) if tree_size(expr) <= MAX_TREE else "(…)"


def _derivative_symbol(verdict) -> str:
    return f"∂{verdict.of}/∂{verdict.wrt}"


def _count(n: int, lang: str) -> str:
    """``16,384`` in English, ``16 384`` (a narrow no-break space) in Russian."""
    return f"{n:,}".replace(",", "\u202f" if lang == "ru" else ",")


def too_many_paths(verdict, lang: str = "en") -> str:
    """``∂a/∂w1: a sum over 1,048,576 paths (too many to write out)``."""
    return PHRASES[lang]["too_many_paths"].format(d=_derivative_symbol(verdict), n=_count(verdict.path_count, lang))


def message(verdict, lang: str = "en") -> str:
    """The whole feedback: the verdict line, then one line per finding."""
    say = PHRASES[lang]
    d = _derivative_symbol(verdict)
    if verdict.status == "unchecked":
        return say["unchecked"].format(d=d, k=verdict.points, tried=_count(verdict.tried, lang), need=MIN_POINTS)
    if verdict.correct:
        how = say[verdict.method].format(points=verdict.points)
        n = verdict.path_count
        if not n:
            return say["correct_zero"].format(d=d, how=how)
        if n > MAX_LISTED:
            return say["correct_many"].format(n=_count(n, lang), how=how)
        return say["correct"].format(n=n, paths=", ".join(map(str, verdict.paths)), how=how)
    bound = verdict.status == "correct_for_bound"
    lines = [_bound_headline(verdict, say) if bound else _headline(verdict, say, d, lang)]
    only_missing = verdict.present and verdict.missing and not (verdict.extra or verdict.wrong_factors)
    if bound or not only_missing:
        lines += _findings(verdict, say, lang)
    if verdict.counterexample is not None:
        lines.append(_counterexample(verdict.counterexample, say, d))
    return "\n".join(lines)


def _bound_headline(verdict, say: dict) -> str:
    bound = verdict.bound
    return say["bound" if len(bound) == 1 else "bound_many"].format(
        binding=", ".join(f"{name} = {chosen}" for name, chosen in bound.items()), f=", ".join(bound),
        primes=", ".join(f"{name}′(…)" for name in bound))


def _headline(verdict, say: dict, d: str, lang: str) -> str:
    n = verdict.path_count
    if not n:
        return say["wrong_zero"].format(d=d, wrt=verdict.wrt, of=verdict.of)
    if verdict.present and verdict.missing and not (verdict.extra or verdict.wrong_factors):
        if len(verdict.missing) <= MAX_LISTED:
            missing = "   ".join(f"{p}  ({_term(p)})" for p in verdict.missing)
            return say["incomplete"].format(k=len(verdict.present), n=n,
                                            present=_listed(verdict.present, say, lang), missing=missing)
    return say["wrong"].format(k=len(verdict.present), n=_count(n, lang))


def _listed(paths, say: dict, lang: str) -> str:
    shown = ", ".join(map(str, paths[:MAX_LISTED]))
    return shown if len(paths) <= MAX_LISTED else shown + say["more"].format(n=_count(len(paths) - MAX_LISTED, lang))


def _findings(verdict, say: dict, lang: str) -> list[str]:
    lines = []
    if verdict.present:
        lines.append(say["present"].format(paths=_listed(verdict.present, say, lang)))
    lines += [say["missing"].format(path=p, term=_term(p)) for p in verdict.missing]
    for wrong in verdict.wrong_factors:
        inside = say["inside"].format(context=_show(wrong.context)) if wrong.context is not None else ""
        lines.append(say[_LINE_OF_KIND.get(wrong.kind, wrong.kind)].format(
            path=wrong.path, found=_show(wrong.found), expected=_show(wrong.expected), inside=inside,
            what=say[_order_change(wrong)] if wrong.kind == "derivative" else ""))
    lines += [say["extra"].format(term=_show(t), wrt=verdict.wrt, of=verdict.of) for t in verdict.extra]
    if len(lines) > MAX_LINES + 1:
        lines = lines[:MAX_LINES] + [say["more"].format(n=_count(len(lines) - MAX_LINES, lang))]
    if verdict.skipped == "budget":
        lines.append(say["skipped_budget"].format(budget=verdict.budget))
    elif verdict.skipped == "paths":
        lines.append(say["skipped_paths"].format(n=_count(verdict.path_count, lang)))
    elif not (verdict.missing or verdict.wrong_factors or verdict.extra or verdict.bound):
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
    shown = [f"{leaf} = {float(v):g}" for leaf, v in example.values.items()]
    values = ", ".join(shown[:MAX_VALUES]) + (", …" if len(shown) > MAX_VALUES else "")
    # + 0.0 turns -0.0 into 0.0: a zero has no sign worth showing
    return say["counterexample"].format(functions=functions, values=values, answer=example.answer + 0.0,
                                        expected=example.expected + 0.0, d=d)


def mistakes(verdict, lang: str = "en") -> tuple[str, ...]:
    """Short descriptions of each mistake, comparable across students."""
    if verdict.correct or verdict.status == "unchecked":
        return ()
    say = PHRASES[lang]
    if verdict.status == "correct_for_bound":
        return (say["m_bound"].format(binding=", ".join(f"{n} = {a}" for n, a in verdict.bound.items())),)
    found = [say["m_missing"].format(path=p) for p in verdict.missing]
    for wrong in verdict.wrong_factors:
        key = "m_instead" if wrong.kind in _INSTEAD else f"m_{wrong.kind}"
        found.append(say[key].format(path=wrong.path, found=_show(wrong.found), expected=_show(wrong.expected)))
    found += [say["m_extra"].format(term=_show(t)) for t in verdict.extra]
    return tuple(found) or (say["m_other"],)
