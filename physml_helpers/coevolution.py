r"""Contacts from coevolution: a Potts model of a protein family and its inverse problem (chapter 12).

A family of aligned sequences :math:`s = (s_1, \dots, s_L)`, :math:`s_i \in \{0, \dots, q-1\}`, is modelled by
the Potts distribution

.. math:: P(s) \propto \exp\Big(\sum_i h_i(s_i) + \sum_{i<j} J_{ij}(s_i, s_j)\Big),

with couplings ``couplings[i, j, a, b]`` :math:`= J_{ij}(a, b) = J_{ji}(b, a)` and a zero diagonal.

* :func:`sample_potts`: independent Gibbs chains (heat-bath sweeps), one sequence per chain.
* :func:`frequencies`: one- and two-site frequencies of an alignment (optionally weighted, with pseudocount).
* :func:`mean_field_dca`: :math:`J = -C^{-1}` from the connected correlations {Morcos et al. 2011}.
* :func:`pseudo_likelihood_dca`: maximize the pseudo-likelihood with optax Adam {Ekeberg et al. 2013}.
* :func:`mutual_information`, :func:`coupling_scores` (Frobenius norm in the zero-sum gauge), :func:`apc`
  (average-product correction) and :func:`top_k_precision`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v

__all__ = ["sample_potts", "frequencies", "mean_field_dca", "pseudo_likelihood_dca", "zero_sum_gauge",
           "coupling_scores", "apc", "mutual_information", "top_k_precision"]


def _check_model(fields, couplings):
    fields = _v.float_array("fields", fields, ndim=2, finite=True, nonempty=True)
    couplings = _v.float_array("couplings", couplings, ndim=4, finite=True)
    L, q = fields.shape
    if couplings.shape != (L, L, q, q):
        raise ValueError(f"couplings must have shape ({L}, {L}, {q}, {q}) to match fields {fields.shape}, "
                         f"got {couplings.shape}")
    if not bool(jnp.allclose(couplings, jnp.transpose(couplings, (1, 0, 3, 2)))):
        raise ValueError("couplings must satisfy J[i, j, a, b] = J[j, i, b, a]")
    return fields, couplings


@functools.partial(jax.jit, static_argnames=("n_chains", "n_sweeps"))
def _gibbs(key, fields, couplings, n_chains, n_sweeps):
    L, q = fields.shape
    k0, k1 = jax.random.split(key)
    s0 = jax.random.randint(k0, (n_chains, L), 0, q)

    def site(carry, i):
        s, k = carry
        k, sub = jax.random.split(k)
        onehot = jax.nn.one_hot(s, q, dtype=fields.dtype)                  # [M, L, q]
        local = fields[i] + jnp.einsum("jab,mjb->ma", couplings[i], onehot)
        s = s.at[:, i].set(jax.random.categorical(sub, local, axis=-1))
        return (s, k), None

    def sweep(carry, _):
        return jax.lax.scan(site, carry, jnp.arange(L))[0], None

    (s, _), _ = jax.lax.scan(sweep, (s0, k1), None, length=n_sweeps)
    return s


def sample_potts(key, fields, couplings, *, n_chains: int, n_sweeps: int):
    """Independent heat-bath (Gibbs) chains from uniform random starts; the last state of each chain is one
    sequence of the alignment.

    Args:
      key: a JAX key.
      fields: float[L, q]; couplings: float[L, L, q, q] (symmetric, zero diagonal blocks).
      n_chains: number of sequences, >= 1; n_sweeps: sweeps per chain, >= 1.

    Returns:
      int32[n_chains, L] the alignment.

    Raises:
      TypeError: bad key or arrays; ValueError: inconsistent shapes, asymmetric couplings, counts < 1.
    """
    _v.key(key)
    fields, couplings = _check_model(fields, couplings)
    n_chains = _v.count("n_chains", n_chains, minimum=1)
    n_sweeps = _v.count("n_sweeps", n_sweeps, minimum=1)
    return _gibbs(key, fields, couplings, n_chains, n_sweeps)


def _check_msa(msa, q):
    q = _v.count("q", q, minimum=2)
    arr = np.asarray(msa)
    if arr.ndim != 2 or arr.size == 0 or arr.dtype.kind not in "iu":
        raise ValueError(f"msa must be a non-empty 2-D integer array [sequences, sites], got shape {arr.shape}, "
                         f"dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= q:
        raise ValueError(f"msa entries must lie in 0..{q - 1}, got {arr.min()}..{arr.max()}")
    return jnp.asarray(arr), q


def _check_weights(weights, m):
    if weights is None:
        return jnp.full((m,), 1.0 / m)
    w = _v.float_array("weights", weights, ndim=1, finite=True)
    if w.shape[0] != m or bool(jnp.any(w < 0)) or float(w.sum()) <= 0:
        raise ValueError(f"weights must be {m} non-negative numbers with a positive sum")
    return w / w.sum()


@functools.partial(jax.jit, static_argnames=("q",))
def _freq(msa, w, q, lam):
    x = jax.nn.one_hot(msa, q, dtype=w.dtype)
    fi = jnp.einsum("m,mia->ia", w, x)
    fij = jnp.einsum("m,mia,mjb->ijab", w, x, x)
    L = fi.shape[0]
    fi = (1 - lam) * fi + lam / q
    fij = (1 - lam) * fij + lam / q**2
    eye = jnp.eye(L, dtype=w.dtype)[:, :, None, None]
    diag = jnp.einsum("ia,ab->iab", fi, jnp.eye(q, dtype=w.dtype))[:, None]     # [L, 1, q, q]
    return fi, fij * (1 - eye) + eye * diag


def frequencies(msa, q: int, *, pseudocount: float = 0.0, weights=None):
    r"""One- and two-site frequencies, mixed with the uniform distribution:
    :math:`f = (1 - \lambda) f^{\rm data} + \lambda / q` (and :math:`\lambda/q^2` for pairs, with the exact
    one-site values on the diagonal blocks).

    Args:
      msa: int[M, L] alignment; q: number of states, >= 2; pseudocount: :math:`\lambda` in [0, 1);
      weights: optional float[M] sequence weights (normalized here).

    Returns:
      ``(fi, fij)``: float[L, q] and float[L, L, q, q].

    Raises:
      ValueError: bad alignment, pseudocount or weights.
    """
    msa, q = _check_msa(msa, q)
    lam = _v.positive_float("pseudocount", pseudocount, allow_zero=True)
    if lam >= 1:
        raise ValueError(f"pseudocount must be < 1, got {lam}")
    w = _check_weights(weights, msa.shape[0])
    return _freq(msa, w, q, w.dtype.type(lam))


def mean_field_dca(msa, q: int, *, pseudocount: float = 0.5, weights=None):
    r"""Mean-field couplings :math:`J_{ij}(a, b) = -(C^{-1})_{ia, jb}` for :math:`a, b < q-1`, with
    :math:`C_{ia,jb} = f_{ij}(a,b) - f_i(a)f_j(b)` and the last state as the reference (its couplings 0).

    Args:
      msa: int[M, L]; q: >= 2; pseudocount: in [0, 1) (a large one, about 0.5, regularizes the inverse);
      weights: optional float[M].

    Returns:
      float[L, L, q, q] the couplings (diagonal blocks zero).

    Raises:
      ValueError: bad alignment, pseudocount or weights.
    """
    fi, fij = frequencies(msa, q, pseudocount=pseudocount, weights=weights)
    return _mf(fi, fij)


@jax.jit
def _mf(fi, fij):
    L, q = fi.shape
    c = fij[:, :, :-1, :-1] - fi[:, None, :-1, None] * fi[None, :, None, :-1]
    cm = jnp.transpose(c, (0, 2, 1, 3)).reshape(L * (q - 1), L * (q - 1))
    jm = -jnp.linalg.inv(cm).reshape(L, q - 1, L, q - 1).transpose(0, 2, 1, 3)
    j = jnp.zeros((L, L, q, q), fi.dtype).at[:, :, :-1, :-1].set(jm)
    return j * (1 - jnp.eye(L, dtype=fi.dtype))[:, :, None, None]


@functools.partial(jax.jit, static_argnames=("q", "n_steps"))
def _plm(x, w, q, l2_fields, l2_couplings, lr, n_steps):
    import optax

    M, L, _ = x.shape
    mask = (1 - jnp.eye(L, dtype=x.dtype))[:, :, None, None]

    def neg_log_pl(params):
        h, j = params
        j = 0.5 * (j + jnp.transpose(j, (1, 0, 3, 2))) * mask
        local = h[None] + jnp.einsum("ijab,mjb->mia", j, x)                # [M, L, q]
        logp = jnp.sum(local * x, axis=-1) - jax.scipy.special.logsumexp(local, axis=-1)
        return (-jnp.sum(w[:, None] * logp) + l2_fields * jnp.sum(h**2) + l2_couplings * jnp.sum(j**2) / 2)

    opt = optax.adam(optax.cosine_decay_schedule(lr, n_steps))
    params = (jnp.zeros((L, q), x.dtype), jnp.zeros((L, L, q, q), x.dtype))

    def step(carry, _):
        p, s = carry
        loss, g = jax.value_and_grad(neg_log_pl)(p)
        with jax.numpy_dtype_promotion("standard"):
            u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), loss

    (p, _), losses = jax.lax.scan(step, (params, opt.init(params)), None, length=n_steps)
    h, j = p
    return h, 0.5 * (j + jnp.transpose(j, (1, 0, 3, 2))) * mask, losses


def pseudo_likelihood_dca(msa, q: int, *, l2_fields: float = 0.01, l2_couplings: float = 0.01, lr: float = 0.05,
                          n_steps: int = 300, weights=None):
    r"""Maximize the pseudo-likelihood :math:`\sum_m w_m \sum_i \ln P(s^m_i \mid s^m_{\setminus i})` minus L2
    penalties, by full-batch Adam (optax, cosine schedule).

    Args:
      msa: int[M, L]; q: >= 2; l2_fields, l2_couplings: penalties >= 0 (per unit weight);
      lr: peak step > 0; n_steps: >= 1; weights: optional float[M] (normalized here).

    Returns:
      ``(fields, couplings, losses)``: float[L, q], float[L, L, q, q] symmetric with zero diagonal blocks,
      float[n_steps] the objective.

    Raises:
      ValueError: bad alignment, weights or settings.
    """
    msa, q = _check_msa(msa, q)
    w = _check_weights(weights, msa.shape[0])
    l2f = _v.positive_float("l2_fields", l2_fields, allow_zero=True)
    l2c = _v.positive_float("l2_couplings", l2_couplings, allow_zero=True)
    lr = _v.positive_float("lr", lr)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    x = jax.nn.one_hot(msa, q, dtype=w.dtype)
    dt = w.dtype.type
    return _plm(x, w, q, dt(l2f), dt(l2c), dt(lr), n_steps)


def zero_sum_gauge(couplings):
    """Couplings shifted to the zero-sum gauge (every row and column of each block sums to 0); the
    distribution is unchanged up to fields.

    Args:
      couplings: float[L, L, q, q].

    Returns:
      float[L, L, q, q].

    Raises:
      ValueError: not 4-D.
    """
    return _gauge(_v.float_array("couplings", couplings, ndim=4))


@jax.jit
def _gauge(j):
    return (j - j.mean(axis=2, keepdims=True) - j.mean(axis=3, keepdims=True)
            + j.mean(axis=(2, 3), keepdims=True))


@jax.jit
def _frobenius_scores(couplings):
    s = jnp.sqrt(jnp.sum(_gauge(couplings) ** 2, axis=(2, 3)))
    return s * (1 - jnp.eye(s.shape[0], dtype=s.dtype))


def coupling_scores(couplings):
    """Frobenius norm of each coupling block in the zero-sum gauge.

    Args:
      couplings: float[L, L, q, q].

    Returns:
      float[L, L] symmetric, zero diagonal.

    Raises:
      ValueError: not 4-D.
    """
    return _frobenius_scores(_v.float_array("couplings", couplings, ndim=4))


def apc(scores):
    r"""Average-product correction :math:`S_{ij} - S_{i\cdot}S_{\cdot j}/S_{\cdot\cdot}` (means over the
    off-diagonal entries), which removes the part of a score explained by the sites' overall variability.

    Args:
      scores: float[L, L] symmetric.

    Returns:
      float[L, L] with a zero diagonal.

    Raises:
      ValueError: not square.
    """
    return _apc(_v.square_matrix("scores", scores))


@jax.jit
def _apc(s):
    L = s.shape[0]
    off = 1 - jnp.eye(L, dtype=s.dtype)
    row = jnp.sum(s * off, axis=1) / (L - 1)
    total = jnp.sum(s * off) / (L * (L - 1))
    return (s - row[:, None] * row[None, :] / total) * off


def mutual_information(msa, q: int, *, pseudocount: float = 0.0):
    r"""Mutual information :math:`\sum_{ab} f_{ij}(a,b)\ln\frac{f_{ij}(a,b)}{f_i(a)f_j(b)}` of every pair of columns.

    Args:
      msa: int[M, L]; q: >= 2; pseudocount: in [0, 1).

    Returns:
      float[L, L] with a zero diagonal.

    Raises:
      ValueError: bad alignment or pseudocount.
    """
    fi, fij = frequencies(msa, q, pseudocount=pseudocount)
    return _mi(fi, fij)


@jax.jit
def _mi(fi, fij):
    prod = fi[:, None, :, None] * fi[None, :, None, :]
    term = jnp.where(fij > 0, fij * jnp.log(jnp.where(fij > 0, fij, 1.0) / prod), 0.0)
    mi = jnp.sum(term, axis=(2, 3))
    return mi * (1 - jnp.eye(mi.shape[0], dtype=mi.dtype))


def top_k_precision(scores, contacts, k: int, *, min_separation: int = 1):
    """Fraction of true contacts among the ``k`` highest-scoring pairs (i < j, j - i >= min_separation).

    Args:
      scores: float[L, L]; contacts: bool[L, L] symmetric; k: >= 1; min_separation: >= 1.

    Returns:
      float the precision.

    Raises:
      ValueError: shapes differ, k too large.
    """
    s = np.asarray(_v.square_matrix("scores", scores))
    c = np.asarray(contacts).astype(bool)
    if c.shape != s.shape:
        raise ValueError(f"contacts must have the shape of scores {s.shape}, got {c.shape}")
    k = _v.count("k", k, minimum=1)
    min_separation = _v.count("min_separation", min_separation, minimum=1)
    i, j = np.triu_indices(s.shape[0], k=min_separation)
    if k > len(i):
        raise ValueError(f"k must be <= the number of pairs {len(i)}, got {k}")
    order = np.argsort(-s[i, j], kind="stable")[:k]
    return float(np.mean(c[i[order], j[order]]))
