"""Pure functions in the style of public JAX libraries, for ``fuzzjax add`` (issue 16).

Written for fuzzjax after the idioms of optax (losses, schedules, optimizer updates on dict
params and NamedTuple states), flax/haiku (activations, layer norm, attention, an MLP over a
list of (w, b) tuples) and jax-md/diffrax (pair potentials, integrators with ``fori_loop``
and tuple carries). They use module constants, helper functions, ``functools.partial``,
``jax.jit`` decorators, static arguments, ``None`` arguments and Python scalars.

    python -m fuzzjax add tests/data/jax_style_functions.py --db /tmp/user.sqlite
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
BETA1, BETA2 = 0.9, 0.999
ADAM_EPS = 1e-8
LJ_CUTOFF = 2.5


class AdamState(NamedTuple):
    count: jax.Array
    mu: dict[str, jax.Array]
    nu: dict[str, jax.Array]


class ParticleState(NamedTuple):
    position: jax.Array
    velocity: jax.Array


# ---- losses (optax style) ----


def softmax_cross_entropy(logits, labels):
    return -jnp.sum(labels * jax.nn.log_softmax(logits, axis=-1), axis=-1)


def huber_loss(predictions, targets, delta=1.0):
    errors = jnp.abs(predictions - targets)
    quadratic = jnp.minimum(errors, delta)
    return 0.5 * quadratic**2 + delta * (errors - quadratic)


def sigmoid_binary_cross_entropy(logits, labels):
    log_p = jax.nn.log_sigmoid(logits)
    log_not_p = jax.nn.log_sigmoid(-logits)
    return -labels * log_p - (1.0 - labels) * log_not_p


def l2_loss(predictions, targets=None):
    errors = predictions if targets is None else predictions - targets
    return 0.5 * errors**2


# ---- activations (flax/haiku style) ----


def gelu_tanh(x):
    return 0.5 * x * (1.0 + jnp.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3)))


def swish(x, beta=1.0):
    return x * jax.nn.sigmoid(beta * x)


def layer_norm(x, scale, bias, eps=1e-5, axis=-1):
    mean = jnp.mean(x, axis=axis, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=axis, keepdims=True)
    return (x - mean) * lax.rsqrt(var + eps) * scale + bias


def attention(q, k, v, mask=None):
    logits = jnp.einsum("...qd,...kd->...qk", q, k) / jnp.sqrt(q.shape[-1]).astype(q.dtype)
    if mask is not None:
        logits = jnp.where(mask, logits, jnp.finfo(logits.dtype).min)
    return jnp.einsum("...qk,...kd->...qd", jax.nn.softmax(logits, axis=-1), v)


def mlp(layers, x):
    for w, b in layers[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = layers[-1]
    return x @ w + b


# ---- schedules (optax style) ----


def _cosine(fraction, alpha):
    return (1 - alpha) * 0.5 * (1 + jnp.cos(jnp.pi * fraction)) + alpha


def cosine_decay_schedule(count, init_value, decay_steps, alpha=0.0):
    fraction = jnp.minimum(count, decay_steps) / decay_steps
    return init_value * _cosine(fraction, alpha)


def polynomial_schedule(count, init_value, end_value, power, transition_steps):
    frac = 1 - jnp.clip(count, 0, transition_steps) / transition_steps
    return (init_value - end_value) * frac**power + end_value


linear_schedule = functools.partial(polynomial_schedule, power=1.0)


# ---- optimizer updates on pytrees ----


def adam_update(params, grads, state, learning_rate=1e-3):
    count = state.count + 1
    mu = jax.tree.map(lambda m, g: BETA1 * m + (1 - BETA1) * g, state.mu, grads)
    nu = jax.tree.map(lambda n, g: BETA2 * n + (1 - BETA2) * g * g, state.nu, grads)
    mu_hat = jax.tree.map(lambda m: m / (1 - BETA1**count), mu)
    nu_hat = jax.tree.map(lambda n: n / (1 - BETA2**count), nu)
    new_params = jax.tree.map(
        lambda p, m, n: p - learning_rate * m / (jnp.sqrt(n) + ADAM_EPS), params, mu_hat, nu_hat
    )
    return new_params, AdamState(count, mu, nu)


def sgd_momentum(params, grads, velocity, learning_rate=0.1, momentum=0.9):
    velocity = jax.tree.map(lambda v, g: momentum * v + g, velocity, grads)
    params = jax.tree.map(lambda p, v: p - learning_rate * v, params, velocity)
    return params, velocity


def _global_norm(tree):
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree)))


def clip_by_global_norm(grads, max_norm):
    norm = _global_norm(grads)
    scale = jnp.where(norm < max_norm, 1.0, max_norm / norm)
    return jax.tree.map(lambda g: g * scale, grads)


@jax.jit
def ema_update(average, new, decay):
    return jax.tree.map(lambda a, n: decay * a + (1 - decay) * n, average, new)


# ---- physics kernels (jax-md / diffrax style) ----


def _pairwise_displacement(position):
    return position[:, None, :] - position[None, :, :]


def lennard_jones_energy(position, sigma=1.0, epsilon=1.0):
    dr = jnp.linalg.norm(
        _pairwise_displacement(position) + jnp.eye(position.shape[0])[..., None], axis=-1
    )
    idr6 = (sigma / dr) ** 6
    energy = 4.0 * epsilon * (idr6**2 - idr6)
    mask = (1.0 - jnp.eye(position.shape[0])) * (dr < LJ_CUTOFF * sigma)
    return 0.5 * jnp.sum(energy * mask)


def _harmonic_force(position, k):
    return -k * position


@functools.partial(jax.jit, static_argnames=("n_steps",))
def velocity_verlet(state, dt, k, n_steps):
    def body(i, carry):
        pos, vel = carry
        acc = _harmonic_force(pos, k)
        pos = pos + dt * vel + 0.5 * dt * dt * acc
        vel = vel + 0.5 * dt * (acc + _harmonic_force(pos, k))
        return pos, vel

    pos, vel = lax.fori_loop(0, n_steps, body, (state.position, state.velocity))
    return ParticleState(pos, vel)


def heat_step(u, alpha, dx, dt):
    laplacian = (jnp.roll(u, 1, axis=0) + jnp.roll(u, -1, axis=0) - 2 * u) / dx**2
    return u + alpha * dt * laplacian


def rk4_step(y, t, dt, decay):
    def f(y, t):
        return -decay * y + jnp.sin(t)

    k1 = f(y, t)
    k2 = f(y + dt / 2 * k1, t + dt / 2)
    k3 = f(y + dt / 2 * k2, t + dt / 2)
    k4 = f(y + dt * k3, t + dt)
    return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def cumulative_returns(rewards, discount):
    def step(carry, r):
        carry = r + discount * carry
        return carry, carry

    _, out = lax.scan(step, jnp.zeros_like(rewards[-1]), rewards[::-1])
    return out[::-1]


f32 = jnp.float32
_params = {"w": jax.ShapeDtypeStruct((4, 3), f32), "b": jax.ShapeDtypeStruct((3,), f32)}
_vec = jax.ShapeDtypeStruct((8,), f32)
_particles = ParticleState(jax.ShapeDtypeStruct((5, 3), f32), jax.ShapeDtypeStruct((5, 3), f32))

FUZZJAX_EXAMPLES = {
    "softmax_cross_entropy": (jnp.zeros((4, 10), f32), jnp.zeros((4, 10), f32)),
    "huber_loss": {"args": (_vec, _vec), "kwargs": {"delta": 0.5}},
    "sigmoid_binary_cross_entropy": (_vec, _vec),
    "l2_loss": (_vec, None),
    "gelu_tanh": (jax.ShapeDtypeStruct((2, 16), jnp.bfloat16),),
    "swish": (jax.ShapeDtypeStruct((16,), jnp.float16), 1.702),
    "layer_norm": {
        "args": (jax.ShapeDtypeStruct((2, 8), f32), _vec, _vec),
        "kwargs": {"axis": -1},
        "static_argnames": ("axis",),
    },
    "attention": (
        jax.ShapeDtypeStruct((2, 4, 8), f32),
        jax.ShapeDtypeStruct((2, 6, 8), f32),
        jax.ShapeDtypeStruct((2, 6, 8), f32),
        jax.ShapeDtypeStruct((2, 4, 6), jnp.bool_),
    ),
    "mlp": (
        [
            (jax.ShapeDtypeStruct((8, 16), f32), jax.ShapeDtypeStruct((16,), f32)),
            (jax.ShapeDtypeStruct((16, 2), f32), jax.ShapeDtypeStruct((2,), f32)),
        ],
        jax.ShapeDtypeStruct((4, 8), f32),
    ),
    "cosine_decay_schedule": {
        "args": (jnp.int32(0), 0.1, 1000),
        "static_argnames": ("decay_steps",),
    },
    "linear_schedule": {
        "args": (jnp.int32(0), 1.0, 0.0),
        "kwargs": {"transition_steps": 100},
        "static_argnames": ("transition_steps",),
    },
    "adam_update": (
        _params,
        _params,
        AdamState(jax.ShapeDtypeStruct((), jnp.int32), _params, _params),
        1e-3,
    ),
    "sgd_momentum": ((_vec, _vec), (_vec, _vec), (_vec, _vec)),
    "clip_by_global_norm": (_params, 1.0),
    "ema_update": (_params, _params, 0.99),
    "lennard_jones_energy": (jax.ShapeDtypeStruct((6, 3), f32),),
    "velocity_verlet": {"args": (_particles, 0.01, 1.0, 10), "static_argnames": ("n_steps",)},
    "heat_step": (jax.ShapeDtypeStruct((32,), f32), 0.1, 0.5, 0.01),
    "rk4_step": (_vec, 0.0, 0.1, 2.0),
    "cumulative_returns": (jax.ShapeDtypeStruct((10, 4), f32), 0.99),
}
