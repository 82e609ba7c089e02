"""A linear classifier on a profile's own feedback: the direction that separates what it liked.

Once a profile has liked (or saved) enough papers, a weighted, L2-regularized logistic regression of
its liked papers against a sample of the window (mostly not relevant) and its disliked papers gives
a direction in embedding space; the ranker scores every paper along it. Dimensions are few (<= 400),
so Newton steps with conjugate gradients are exact and cheap.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def feedback_direction(liked: np.ndarray, background: np.ndarray, disliked: np.ndarray,
                       dislike_share: float = 0.5, dismissed: np.ndarray | None = None,
                       dismiss_share: float = 0.0) -> np.ndarray:
    """The classifier's weights (no bias) from centred unit vectors of liked, background, disliked
    and dismissed papers. The liked papers weigh as much as the whole background; the disliked ones
    ``dislike_share`` of it, the dismissed ones ``dismiss_share``."""
    x_parts = [liked, background]
    y_parts = [np.ones(len(liked)), np.zeros(len(background))]
    w_parts = [np.full(len(liked), len(background) / len(liked)), np.ones(len(background))]
    for negatives, share in ((disliked, dislike_share), (dismissed, dismiss_share)):
        if negatives is not None and len(negatives) and share > 0:
            x_parts.append(negatives)
            y_parts.append(np.zeros(len(negatives)))
            w_parts.append(np.full(len(negatives), share * len(background) / len(negatives)))
    fitted = fit_logistic(np.vstack(x_parts), np.concatenate(y_parts), np.concatenate(w_parts), l2=2.0)
    return fitted[:-1].astype(np.float32)


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1.0, steps: int = 3) -> np.ndarray:
    """L2-regularized weighted logistic regression by Newton steps, each solved by conjugate gradients
    on Hessian-vector products (the Hessian is never formed: building it costs far more than its
    products). Returns weights with the bias last."""
    xb = np.hstack([x, np.ones((len(x), 1), dtype=x.dtype)]).astype(np.float64)
    beta = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 1e-6
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-xb @ beta))
        grad = xb.T @ (w * (p - y)) + reg * beta
        curvature = w * p * (1 - p)
        beta -= _cg(lambda v, c=curvature: xb.T @ (c * (xb @ v)) + reg * v, grad)
    return beta


def _cg(apply: Callable[[np.ndarray], np.ndarray], b: np.ndarray, iters: int = 60,
        tol: float = 1e-8) -> np.ndarray:
    """Conjugate gradients for a small SPD system given by its matrix-vector product (no LAPACK: its
    threaded solve stalls on a busy machine)."""
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = float(r @ r)
    for _ in range(iters):
        if rr < tol:
            break
        ap = apply(p)
        alpha = rr / float(p @ ap)
        x += alpha * p
        r -= alpha * ap
        new = float(r @ r)
        p = r + (new / rr) * p
        rr = new
    return x


def calibrate(liked: np.ndarray, disliked: np.ndarray, unrated: np.ndarray) -> tuple[float, float]:
    """``a, b`` such that ``a * score + b >= 0`` predicts a like, from the ranker's scores of the papers the
    profile liked, disliked and has not rated (a 1-D logistic regression, classes balanced).

    Unrated papers are mostly not for the user, so they stand in for the missing dislikes of a
    profile that only likes; beside dislikes they count for a tenth of the negatives (the threshold
    then falls between what was liked and disliked, near the top of the list, not far below it).
    Scores are measured in the unrated papers' spread, and the slope is regularized: two likes do
    not make a cliff. Without any like the threshold is the top percentile of the unrated papers."""
    if not len(liked):
        return 1.0, -float(np.quantile(unrated, 0.99)) if len(unrated) else 0.0
    scale = float(np.std(unrated)) if len(unrated) > 1 else 1.0
    scale = scale if scale > 1e-9 else 1.0
    x = np.concatenate([liked, disliked, unrated]) / scale
    y = np.concatenate([np.ones(len(liked)), np.zeros(len(disliked) + len(unrated))])
    bg_share = 0.1 if len(disliked) else 1.0
    # Each class weighs as much as there are likes: the evidence, against which the slope's prior weighs.
    w = len(liked) * np.concatenate([np.full(len(liked), 1.0 / len(liked)),
                                     np.full(len(disliked), (1 - bg_share) / max(len(disliked), 1)),
                                     np.full(len(unrated), bg_share / max(len(unrated), 1))])
    fitted = fit_logistic(x[:, None], y, w, l2=1.0, steps=12)
    return float(fitted[0] / scale), float(fitted[1])
