"""A linear classifier on a profile's own feedback: the direction that separates what it liked.

Once a profile has liked (or saved) enough papers, a weighted, L2-regularized logistic regression of
its liked papers against a sample of the window (mostly not relevant) and its disliked papers gives
a direction in embedding space; the ranker scores every paper along it. Dimensions are few (<= 400),
so Newton steps with conjugate gradients are exact and cheap.
"""

from __future__ import annotations

import numpy as np


def feedback_direction(liked: np.ndarray, background: np.ndarray, disliked: np.ndarray,
                       dislike_share: float = 0.5) -> np.ndarray:
    """The classifier's weights (no bias) from centred unit vectors of liked, background and disliked
    papers. The liked papers weigh as much as the whole background; the disliked ones
    ``dislike_share`` of it."""
    x_parts = [liked, background]
    y_parts = [np.ones(len(liked)), np.zeros(len(background))]
    w_parts = [np.full(len(liked), len(background) / len(liked)), np.ones(len(background))]
    if len(disliked):
        x_parts.append(disliked)
        y_parts.append(np.zeros(len(disliked)))
        w_parts.append(np.full(len(disliked), dislike_share * len(background) / len(disliked)))
    fitted = fit_logistic(np.vstack(x_parts), np.concatenate(y_parts), np.concatenate(w_parts), l2=2.0)
    return fitted[:-1].astype(np.float32)


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1.0, steps: int = 3) -> np.ndarray:
    """L2-regularized weighted logistic regression by Newton steps (d <= 400, so exact solves are
    cheap). Returns weights with the bias last."""
    xb = np.hstack([x, np.ones((len(x), 1), dtype=x.dtype)]).astype(np.float64)
    beta = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 1e-6
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-xb @ beta))
        grad = xb.T @ (w * (p - y)) + reg * beta
        hess = (xb * (w * p * (1 - p))[:, None]).T @ xb + np.diag(reg)
        beta -= _cg(hess, grad)
    return beta


def _cg(a: np.ndarray, b: np.ndarray, iters: int = 60, tol: float = 1e-8) -> np.ndarray:
    """Conjugate gradients for a small SPD system. Matrix-vector products only: LAPACK's threaded
    solve stalls for ~0.1 s per call on a busy two-core machine, which this avoids."""
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = float(r @ r)
    for _ in range(iters):
        if rr < tol:
            break
        ap = a @ p
        alpha = rr / float(p @ ap)
        x += alpha * p
        r -= alpha * ap
        new = float(r @ r)
        p = r + (new / rr) * p
        rr = new
    return x
