"""Activations and losses as SymPy functions, and derivatives of undefined functions as ``f'``.

Each function's derivative sits next to its definition (``fdiff``), so SymPy's own ``diff``
agrees with the package's derivation. An undefined activation ``f`` differentiates to a new
undefined function named ``f'`` (then ``f''``, …) instead of SymPy's
``Subs(Derivative(f(_xi_1), _xi_1), _xi_1, u)``, which no reader should ever see.

>>> import sympy as sp
>>> u = sp.Symbol("u")
>>> prime(sp.Function("f"))(u)
f'(u)
>>> sigmoid(u).diff(u)
(1 - sigmoid(u))*sigmoid(u)
"""

from __future__ import annotations

import functools
from typing import Callable, Mapping

import sympy as sp
from sympy.core.function import AppliedUndef, UndefinedFunction

from .errors import SymbackpropError, did_you_mean

__all__ = [
    "sigmoid", "tanh", "relu", "softplus", "identity", "logsumexp", "exp", "log", "activation",
    "prime", "prime_base", "prime_order", "is_undefined", "ACTIVATIONS",
    "derivative_from_output", "primes_from_derivatives", "substitute_functions",
]

exp, log, tanh = sp.exp, sp.log, sp.tanh


class sigmoid(sp.Function):
    """The logistic function σ(u) = 1 / (1 + e^(−u)); σ' = σ(1 − σ)."""

    nargs = 1

    @classmethod
    def eval(cls, u):
        if u.is_zero:
            return sp.S.Half

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return 1 / (1 + sp.exp(-u))

    def _eval_is_real(self):
        return self.args[0].is_real


class relu(sp.Function):
    """ReLU(u) = max(u, 0); its derivative is the step H(u) with H(0) = 0, as in PyTorch."""

    nargs = 1

    @classmethod
    def eval(cls, u):
        if u.is_number and u.is_real:
            return sp.Max(u, 0)

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, u, **kwargs):
        return sp.Max(u, 0)

    def _eval_rewrite_as_Piecewise(self, u, **kwargs):
        return sp.Piecewise((u, u > 0), (0, True))


class softplus(sp.Function):
    """softplus(u) = log(1 + e^u); its derivative is σ(u)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, u, **kwargs):
        return sp.log(1 + sp.exp(u))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_log(*self.args)._eval_evalf(prec)


class logsumexp(sp.Function):
    """LSE(u_1, …, u_n) = log Σ e^(u_k); ∂LSE/∂u_k = softmax_k = e^(u_k − LSE)."""

    @classmethod
    def eval(cls, *args):
        if not args:
            raise TypeError("logsumexp needs at least one argument")
        if len(args) == 1:
            return args[0]

    def fdiff(self, argindex=1):
        return sp.exp(self.args[argindex - 1] - self)

    def _eval_rewrite_as_log(self, *args, **kwargs):
        return sp.log(sp.Add(*[sp.exp(a) for a in args]))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_log(*self.args)._eval_evalf(prec)


def identity(u: sp.Expr) -> sp.Expr:
    """The identity activation (a linear unit)."""
    return u


ACTIVATIONS: Mapping[str, Callable] = {
    "sigmoid": sigmoid, "σ": sigmoid, "tanh": tanh, "relu": relu, "ReLU": relu,
    "softplus": softplus, "identity": identity, "linear": identity,
}

def activation(chosen, name: str = "f") -> Callable:
    """The concrete function bound to the undefined function ``name``: ``chosen`` itself when it
    is callable, else the activation of that name in ``ACTIVATIONS`` (``"tanh"``).

    >>> activation("tanh") is tanh
    True
    """
    if callable(chosen):
        return chosen
    if isinstance(chosen, str) and chosen in ACTIVATIONS:
        return ACTIVATIONS[chosen]
    raise SymbackpropError(f"cannot bind {name} to {chosen!r}: not a known activation"
                           f"{did_you_mean(chosen, ACTIVATIONS)}; known: {', '.join(ACTIVATIONS)}")


# Where a node is v = F(u), F'(u) can be written with v itself, the form a textbook uses and the
# one that reuses the forward value instead of recomputing F.
_DERIVATIVE_FROM_OUTPUT: dict = {
    sigmoid: lambda v: v * (1 - v),
    sp.tanh: lambda v: 1 - v**2,
    sp.exp: lambda v: v,
}


def derivative_from_output(func) -> Callable[[sp.Expr], sp.Expr] | None:
    """``F'`` written in terms of ``F``'s value, for the functions where that is the usual form."""
    return _DERIVATIVE_FROM_OUTPUT.get(func)


def is_undefined(func) -> bool:
    """True for an undefined function such as ``f`` or ``f'`` (no formula, only a name)."""
    return isinstance(func, UndefinedFunction)


def prime_base(func) -> UndefinedFunction:
    """The undefined function that ``func`` is a derivative of (``f`` for ``f''``)."""
    return getattr(func, "prime_base", None) or func


def prime_order(func) -> int:
    """How many times ``func`` has been differentiated (2 for ``f''``)."""
    return getattr(func, "prime_order", 0)


@functools.lru_cache(maxsize=1024)  # an answer may write f' hundreds of times
def prime(func: UndefinedFunction, order: int = 1) -> UndefinedFunction:
    """The derivative of an undefined one-argument function: ``f`` → ``f'`` → ``f''``."""
    if not is_undefined(func):
        raise TypeError(f"prime() takes an undefined function, not {func}")
    base, n = prime_base(func), prime_order(func) + order
    if n == 0:
        return base
    return UndefinedFunction(base.__name__ + "'" * n, prime_base=base, prime_order=n)


def primes_from_derivatives(expr: sp.Expr) -> sp.Expr:
    """Rewrite SymPy's derivatives of undefined functions as ``f'``-style functions.

    ``Subs(Derivative(f(ξ), ξ), ξ, u)`` and ``Derivative(f(u), u)`` both become ``f'(u)``, so a
    reference computed with ``sympy.diff`` can be compared with the package's results.
    """

    def as_prime(d):
        inner = d.expr
        if not (isinstance(inner, AppliedUndef) and len(inner.args) == 1):
            return d
        var = inner.args[0]
        if d.variables != (var,) * len(d.variables):
            return d
        return prime(inner.func, len(d.variables))(var)

    def rewrite(e):
        # replace() works bottom-up: by the time a Subs is reached, its derivative is a prime.
        if isinstance(e, sp.Subs):
            return e if e.expr.has(sp.Derivative) else e.expr.xreplace(dict(zip(e.variables, e.point)))
        return as_prime(e)

    return expr.replace(lambda e: isinstance(e, (sp.Subs, sp.Derivative)), rewrite)


def substitute_functions(expr: sp.Expr, functions: Mapping) -> sp.Expr:
    """Replace undefined functions and their primes by concrete ones.

    ``functions`` maps an undefined function (or its name) to a callable such as ``tanh``;
    ``f'(u)`` becomes the derivative of ``tanh`` at ``u``, ``f''(u)`` the second derivative.
    """
    by_name = {getattr(k, "__name__", str(k)): v for k, v in functions.items()}

    def concrete(app):
        base = prime_base(app.func)
        chosen = by_name.get(base.__name__)
        if chosen is None:
            return app
        dummy = sp.Dummy("u")
        body = chosen(dummy)
        for _ in range(prime_order(app.func)):
            body = body.diff(dummy)
        return body.xreplace({dummy: app.args[0]})

    return expr.replace(lambda e: isinstance(e, AppliedUndef), concrete)
