"""The lecture's optimizers as small pure update rules, each with its own formula.

An optimizer is a frozen dataclass of hyperparameters. ``init(params)`` gives its state (an
immutable named tuple: the step count and whatever history the rule keeps);
``step(params, grad, state)`` returns ``(new_params, new_state)`` without touching its
arguments, or with ``inplace=True`` overwrites ``params`` and the state's arrays instead of
allocating new ones (for a caller that no longer needs them). Numbers keep the parameters'
dtype: float32 parameters are updated in float32. The rules are written once for any array
module: given ``jax.numpy`` arrays (traced under ``jax.jit``, say) they compute with
``jax.numpy``, which is how a model compiled with ``backend="jax"`` runs its whole training step
as one XLA program. ``latex()`` is the update rule as an
``align*`` block, so a handout can show the rule that the training actually ran.
Hyperparameters use the lecture's and PyTorch's names.

>>> import numpy as np
>>> opt = Momentum(lr=0.1, alpha=0.9)
>>> w, state = np.array([1.0, -2.0]), opt.init(np.zeros(2))
>>> w, state = opt.step(w, np.array([0.5, 0.5]), state)
>>> w, state.h
(array([ 0.95, -2.05]), array([0.05, 0.05]))
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..core.errors import SymbackpropError, did_you_mean

__all__ = ["OptimizerError", "GD", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam",
           "Steps", "MomentumState", "AdaGradState", "RMSPropState", "AdamState", "NAMES", "by_name",
           "as_optimizer"]


class OptimizerError(SymbackpropError):
    """A hyperparameter outside its range, or a gradient that does not match the parameters."""


def _number(value: float) -> str:
    """A hyperparameter for LaTeX: ``0.05``, ``10^{-8}``, ``2 \\cdot 10^{-4}``."""
    text = f"{value:g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else f"{mantissa} \\cdot {power}"


def _align(*rows: str, where: dict[str, float]) -> str:
    """The rows of an ``align*`` block, then the hyperparameters in parentheses: formulas only,
    no words, so the same block serves a handout in any language."""
    settings = ",\\ ".join(f"{symbol} = {_number(value)}" for symbol, value in where.items())
    rows = list(rows) + [f"&\\bigl({settings}\\bigr)"]
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def _real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not (_real(value) and np.isfinite(value) and value > 0):
            raise OptimizerError(f"{name} must be a positive number, not {value!r}")


def _nonnegative(**values: float) -> None:
    for name, value in values.items():
        if not (_real(value) and np.isfinite(value) and value >= 0):
            raise OptimizerError(f"{name} must be a number ≥ 0, not {value!r}")


def _fraction(**values: float) -> None:
    for name, value in values.items():
        if not (_real(value) and 0 <= value < 1):
            raise OptimizerError(f"{name} must be in [0, 1), not {value!r}")


def _module(array):
    """The array module the rules compute with: NumPy for NumPy arrays (and lists), else the
    array's own (``jax.numpy`` for JAX arrays, also while ``jax.jit`` traces them)."""
    namespace = getattr(array, "__array_namespace__", None)
    return np if namespace is None or isinstance(array, np.ndarray) else namespace()


def _checked(params, grad) -> tuple[np.ndarray, np.ndarray]:
    """Both as arrays of the parameters' floating dtype (integers become float64)."""
    if _module(params) is not np:
        if params.shape != grad.shape:
            raise OptimizerError(f"the gradient has shape {grad.shape} but the parameters {params.shape}")
        return params, grad.astype(params.dtype)
    params = np.asarray(params)
    if not np.issubdtype(params.dtype, np.floating):
        params = params.astype(np.float64)
    grad = np.asarray(grad)
    if params.shape != grad.shape:
        raise OptimizerError(f"the gradient has shape {grad.shape} but the parameters {params.shape}")
    return params, grad.astype(params.dtype, copy=False)


def _zeros(params) -> np.ndarray:
    """A fresh state array shaped and typed like the parameters."""
    params = _checked(params, params)[0]
    return _module(params).zeros_like(params)


def _scaled(array: np.ndarray, factor: float, inplace: bool) -> np.ndarray:
    """``factor · array``: a new array, or ``array`` itself overwritten (``inplace``). Later
    ``+=`` on the result then never touches the caller's array unless it allowed it."""
    return np.multiply(array, factor, out=array) if inplace else array * factor


def _descend(params: np.ndarray, step: np.ndarray, inplace: bool) -> np.ndarray:
    """``params − step``, into ``params`` itself when the caller allows it."""
    return np.subtract(params, step, out=params) if inplace else params - step


def _root(number):
    """``√number`` for a bias correction: ``math.sqrt`` of a Python float, as PyTorch takes it
    (bit for bit), or the array module's while ``jax.jit`` traces the step count."""
    return math.sqrt(number) if isinstance(number, float) else number ** 0.5


class Steps(NamedTuple):
    """The state of a rule that remembers nothing but how many steps it took."""

    t: int = 0


class MomentumState(NamedTuple):
    h: np.ndarray  # the running step (Momentum) or velocity (Nesterov)
    t: int = 0


class AdaGradState(NamedTuple):
    G: np.ndarray  # Σ of squared gradients, per coordinate
    t: int = 0


class RMSPropState(NamedTuple):
    v: np.ndarray  # running mean of squared gradients
    t: int = 0


class AdamState(NamedTuple):
    m: np.ndarray
    v: np.ndarray
    v_max: np.ndarray | None  # AMSGrad's running maximum (of v̂ in the lecture's form, of v in PyTorch's)
    t: int = 0


@dataclass(frozen=True)
class GD:
    """Gradient descent: ``w_t = w_{t−1} − η ∇Q(w_{t−1})``."""

    lr: float = 0.1

    def __post_init__(self):
        _positive(lr=self.lr)

    @property
    def name(self) -> str:
        return "gradient descent"

    def init(self, params) -> Steps:
        return Steps()

    def step(self, params, grad, state: Steps, inplace: bool = False) -> tuple[np.ndarray, Steps]:
        params, grad = _checked(params, grad)
        return _descend(params, self.lr * grad, inplace), Steps(state.t + 1)

    def latex(self) -> str:
        return _align(r"w_t &= w_{t-1} - \eta\,\nabla Q(w_{t-1})", where={r"\eta": self.lr})


@dataclass(frozen=True)
class SGD(GD):
    """Minibatch stochastic gradient descent: GD's rule on each batch's mean gradient (the
    training loop decides the batches)."""

    @property
    def name(self) -> str:
        return "stochastic gradient descent"

    def latex(self) -> str:
        return _align(r"w_t &= w_{t-1} - \eta\,\nabla Q_{\mathcal{B}}(w_{t-1})", where={r"\eta": self.lr})


@dataclass(frozen=True)
class Momentum:
    """The lecture's heavy ball: ``h_k = α h_{k−1} + η ∇Q(w_{k−1})``, ``w_k = w_{k−1} − h_k``.

    The notes print ``η ∇Q²``; a squared gradient cannot cancel sign flips, so that is an
    erratum and the rule here has no square. With constant η this is PyTorch's
    ``SGD(momentum=α)`` (its velocity ``v`` is ``h/η``).
    """

    lr: float = 0.01
    alpha: float = 0.9

    def __post_init__(self):
        _positive(lr=self.lr)
        _fraction(alpha=self.alpha)

    @property
    def name(self) -> str:
        return "momentum"

    def init(self, params) -> MomentumState:
        return MomentumState(_zeros(params))

    def step(self, params, grad, state: MomentumState, inplace: bool = False) -> tuple[np.ndarray, MomentumState]:
        params, grad = _checked(params, grad)
        h = _scaled(state.h, self.alpha, inplace)
        h += self.lr * grad
        return _descend(params, h, inplace), MomentumState(h, state.t + 1)

    def latex(self) -> str:
        return _align(r"h_k &= \alpha\,h_{k-1} + \eta\,\nabla Q(w_{k-1}),\quad h_0 = 0",
                      r"w_k &= w_{k-1} - h_k",
                      where={r"\eta": self.lr, r"\alpha": self.alpha})


@dataclass(frozen=True)
class Nesterov(Momentum):
    """Nesterov momentum in PyTorch's form (``SGD(momentum=α, nesterov=True)``): the gradient is
    taken at the current point and the step looks ahead along the velocity,
    ``v_k = α v_{k−1} + ∇Q(w_{k−1})``, ``w_k = w_{k−1} − η (∇Q(w_{k−1}) + α v_k)``."""

    @property
    def name(self) -> str:
        return "Nesterov momentum"

    def step(self, params, grad, state: MomentumState, inplace: bool = False) -> tuple[np.ndarray, MomentumState]:
        params, grad = _checked(params, grad)
        v = _scaled(state.h, self.alpha, inplace)
        v += grad
        return _descend(params, self.lr * (grad + self.alpha * v), inplace), MomentumState(v, state.t + 1)

    def latex(self) -> str:
        return _align(r"v_k &= \alpha\,v_{k-1} + \nabla Q(w_{k-1}),\quad v_0 = 0",
                      r"w_k &= w_{k-1} - \eta\,\bigl(\nabla Q(w_{k-1}) + \alpha\,v_k\bigr)",
                      where={r"\eta": self.lr, r"\alpha": self.alpha})


@dataclass(frozen=True)
class AdaGrad:
    """Per-coordinate steps that shrink with the coordinate's gradient history:
    ``G_k = G_{k−1} + g²``, ``w_k = w_{k−1} − η g / √(G_k + ε)``.

    ``eps_inside_root=True`` is the lecture's placement; ``False`` is PyTorch's
    ``η g / (√G_k + ε)`` (``torch.optim.Adagrad``, whose default ε is 1e-10).
    """

    lr: float = 0.01
    eps: float = 1e-10
    eps_inside_root: bool = True

    def __post_init__(self):
        _positive(lr=self.lr, eps=self.eps)

    @property
    def name(self) -> str:
        return "AdaGrad" + ("" if self.eps_inside_root else " (PyTorch's ε placement)")

    def init(self, params) -> AdaGradState:
        return AdaGradState(_zeros(params))

    def step(self, params, grad, state: AdaGradState, inplace: bool = False) -> tuple[np.ndarray, AdaGradState]:
        params, grad = _checked(params, grad)
        xp = _module(params)
        G = np.add(state.G, grad * grad, out=state.G) if inplace else state.G + grad * grad
        denominator = xp.sqrt(G + self.eps) if self.eps_inside_root else xp.sqrt(G) + self.eps
        return _descend(params, self.lr * grad / denominator, inplace), AdaGradState(G, state.t + 1)

    def latex(self) -> str:
        root = r"\sqrt{G_{k,i} + \varepsilon}" if self.eps_inside_root else r"\bigl(\sqrt{G_{k,i}} + \varepsilon\bigr)"
        return _align(r"G_{k,i} &= G_{k-1,i} + \bigl(\nabla Q(w_{k-1})\bigr)_i^2",
                      rf"w_{{k,i}} &= w_{{k-1,i}} - \frac{{\eta}}{{{root}}}\,\bigl(\nabla Q(w_{{k-1}})\bigr)_i",
                      where={r"\eta": self.lr, r"\varepsilon": self.eps})


@dataclass(frozen=True)
class RMSProp:
    """AdaGrad with a forgetting history (PyTorch's ``RMSprop`` without momentum or centring):
    ``v_k = α v_{k−1} + (1 − α) g²``, ``w_k = w_{k−1} − η g / (√v_k + ε)``."""

    lr: float = 0.01
    alpha: float = 0.99
    eps: float = 1e-8

    def __post_init__(self):
        _positive(lr=self.lr, eps=self.eps)
        _fraction(alpha=self.alpha)

    @property
    def name(self) -> str:
        return "RMSProp"

    def init(self, params) -> RMSPropState:
        return RMSPropState(_zeros(params))

    def step(self, params, grad, state: RMSPropState, inplace: bool = False) -> tuple[np.ndarray, RMSPropState]:
        params, grad = _checked(params, grad)
        v = _scaled(state.v, self.alpha, inplace)
        v += (1 - self.alpha) * grad * grad
        root = _module(params).sqrt(v)
        return _descend(params, self.lr * grad / (root + self.eps), inplace), RMSPropState(v, state.t + 1)

    def latex(self) -> str:
        return _align(r"v_k &= \alpha\,v_{k-1} + (1 - \alpha)\,\bigl(\nabla Q(w_{k-1})\bigr)^2",
                      r"w_k &= w_{k-1} - \frac{\eta}{\sqrt{v_k} + \varepsilon}\,\nabla Q(w_{k-1})",
                      where={r"\eta": self.lr, r"\alpha": self.alpha, r"\varepsilon": self.eps})


@dataclass(frozen=True)
class Adam:
    """Adam exactly as the lecture's pseudocode (PyTorch's documented algorithm).

    With ``amsgrad=True`` the lecture keeps the running maximum of the bias-corrected ``v̂``
    (``amsgrad_variant="lecture"``); PyTorch's code takes the maximum of the raw ``v`` and
    bias-corrects afterwards (``amsgrad_variant="pytorch"``), a different trajectory.
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False
    maximize: bool = False
    amsgrad_variant: str = "lecture"

    def __post_init__(self):
        _positive(lr=self.lr)
        _nonnegative(eps=self.eps, weight_decay=self.weight_decay)
        if len(tuple(self.betas)) != 2:
            raise OptimizerError(f"betas must be two numbers (β1, β2), not {self.betas!r}")
        object.__setattr__(self, "betas", tuple(self.betas))
        _fraction(beta1=self.betas[0], beta2=self.betas[1])
        if self.amsgrad_variant not in ("lecture", "pytorch"):
            raise OptimizerError(f"amsgrad_variant must be 'lecture' or 'pytorch', not {self.amsgrad_variant!r}")

    @property
    def name(self) -> str:
        if not self.amsgrad:
            return "Adam"
        return "Adam (AMSGrad" + (", PyTorch's form)" if self.amsgrad_variant == "pytorch" else ")")

    def init(self, params) -> AdamState:
        return AdamState(_zeros(params), _zeros(params), _zeros(params) if self.amsgrad else None)

    def step(self, params, grad, state: AdamState, inplace: bool = False) -> tuple[np.ndarray, AdamState]:
        params, grad = _checked(params, grad)
        beta1, beta2 = self.betas
        t = state.t + 1
        g = -grad if self.maximize else grad
        if self.weight_decay:
            g = g + self.weight_decay * params
        m = _scaled(state.m, beta1, inplace)
        m += (1 - beta1) * g
        v = _scaled(state.v, beta2, inplace)
        v += (1 - beta2) * g * g
        # Python floats, never NumPy float64 scalars, so float32 arrays stay float32.
        correction1, correction2 = 1 - beta1**t, 1 - beta2**t
        root2 = _root(correction2)
        xp, v_max = _module(params), state.v_max
        maximum = functools.partial(np.maximum, out=v_max) if inplace else xp.maximum
        if not self.amsgrad:
            denominator = xp.sqrt(v) / root2 + self.eps
        elif self.amsgrad_variant == "lecture":
            v_max = maximum(v_max, v / correction2)
            denominator = xp.sqrt(v_max) + self.eps
        else:
            v_max = maximum(v_max, v)
            denominator = xp.sqrt(v_max) / root2 + self.eps
        return _descend(params, (self.lr / correction1) * m / denominator, inplace), AdamState(m, v, v_max, t)

    def latex(self) -> str:
        rows = [r"g_t &= " + (r"-\nabla f_t(\theta_{t-1})" if self.maximize else r"\nabla f_t(\theta_{t-1})")
                + (r" + \lambda\,\theta_{t-1}" if self.weight_decay else ""),
                r"m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\,g_t",
                r"v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\,g_t^2",
                r"\hat m_t &= m_t / (1 - \beta_1^t),\quad \hat v_t = v_t / (1 - \beta_2^t)"]
        if not self.amsgrad:
            rows.append(r"\theta_t &= \theta_{t-1} - \gamma\,\hat m_t / \bigl(\sqrt{\hat v_t} + \varepsilon\bigr)")
        elif self.amsgrad_variant == "lecture":
            rows += [r"\hat v_t^{\max} &= \max\bigl(\hat v_{t-1}^{\max}, \hat v_t\bigr)",
                     r"\theta_t &= \theta_{t-1} - \gamma\,\hat m_t / \bigl(\sqrt{\hat v_t^{\max}} + \varepsilon\bigr)"]
        else:
            rows += [r"v_t^{\max} &= \max\bigl(v_{t-1}^{\max}, v_t\bigr)",
                     r"\theta_t &= \theta_{t-1} - \gamma\,\hat m_t / \bigl(\sqrt{v_t^{\max} / (1 - \beta_2^t)} + \varepsilon\bigr)"]
        where = {r"\gamma": self.lr, r"\beta_1": self.betas[0], r"\beta_2": self.betas[1], r"\varepsilon": self.eps}
        if self.weight_decay:
            where[r"\lambda"] = self.weight_decay
        return _align(*rows, where=where)


# Lower-case names, as the command line and ``train(optimizer="adam")`` take them.
NAMES = {"gd": GD, "sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adagrad": AdaGrad,
         "rmsprop": RMSProp, "adam": Adam, "amsgrad": functools.partial(Adam, amsgrad=True)}


def by_name(name: str, **hyperparameters):
    """The optimizer called ``name`` (``"adam"``, ``"momentum"``, …) with ``hyperparameters``.

    >>> by_name("amsgrad", lr=0.05)
    Adam(lr=0.05, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, amsgrad=True, maximize=False, amsgrad_variant='lecture')
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in NAMES:
        raise OptimizerError(f"unknown optimizer {name!r}{did_you_mean(key, NAMES)}; known: {', '.join(NAMES)}")
    return NAMES[key](**hyperparameters)


def as_optimizer(optimizer, caller: str):
    """An optimizer object: the one given, GD by default, or the one of that name (``"adam"``);
    ``caller`` names who asked, in the error for anything else."""
    if optimizer is None:
        return by_name("gd")
    if isinstance(optimizer, str):
        return by_name(optimizer)
    if not (callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "step", None))):
        raise SymbackpropError(f"{caller}: optimizer must be an optimizer such as sbp.optim.Adam(lr=0.01), or "
                               f"a name such as 'adam', not {type(optimizer).__name__}")
    return optimizer
