"""The Dawid-Skene model fitted by expectation-maximisation, over any votes coded as integers.

Sources (annotators, or labelling functions) each have a confusion matrix
``P(outcome | true class)``; items have a posterior over classes. The outcomes may outnumber the
classes (labelling functions add "abstain" as an outcome of its own). Every round is a few
``bincount`` calls over all votes: a loop over classes, never over items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datawheel.label._annotations import FloatArray, IntArray


@dataclass(frozen=True)
class Votes:
    """Votes as codes: ``item[v]`` got ``outcome[v]`` from ``source[v]``, and the sizes of each axis."""

    item: IntArray
    source: IntArray
    outcome: IntArray
    n_items: int
    n_sources: int
    n_classes: int
    n_outcomes: int


@dataclass(frozen=True)
class EMFit:
    """A fitted Dawid-Skene model.

    ``confusion[s, t, o]`` is ``P(source s gives outcome o | true class t)``; ``soft`` holds the
    expected counts behind it (before smoothing); ``posteriors[i, t]`` is ``P(item i is class t)``.
    """

    posteriors: FloatArray
    confusion: FloatArray
    priors: FloatArray
    soft: FloatArray
    iterations: int
    converged: bool
    log_likelihood: float


def dawid_skene_em(
    votes: Votes,
    init: FloatArray,
    *,
    smoothing: float,
    tol: float,
    max_iter: int,
    priors: FloatArray | None = None,
) -> EMFit:
    """Fit Dawid-Skene by EM from the initial posteriors ``init`` (items x classes).

    The M-step adds ``smoothing`` to every confusion cell and prior count; the E-step computes
    the posteriors in log space. Stops when the log-likelihood gains less than ``tol``
    (relative to it) or after ``max_iter`` rounds. Fixed ``priors`` (a class balance) are kept
    as given instead of re-estimated.
    """
    posteriors, previous, iterations, converged, likelihood = init, -np.inf, 0, False, -np.inf
    cell = votes.source * votes.n_outcomes + votes.outcome
    confusion, fitted = _m_step(posteriors, votes, cell, smoothing)
    for iterations in range(1, max_iter + 1):  # noqa: B007  (the count is reported)
        confusion, fitted = _m_step(posteriors, votes, cell, smoothing)
        use = fitted if priors is None else priors
        posteriors, likelihood = _e_step(np.log(use), np.log(confusion), votes)
        if abs(likelihood - previous) <= tol * abs(likelihood):
            converged = True
            break
        previous = likelihood
    final_priors = fitted if priors is None else priors
    return EMFit(
        posteriors,
        confusion,
        final_priors,
        _soft_counts(posteriors, votes, cell),
        iterations,
        converged,
        likelihood,
    )


def _m_step(
    posteriors: FloatArray, votes: Votes, cell: IntArray, smoothing: float
) -> tuple[FloatArray, FloatArray]:
    soft = _soft_counts(posteriors, votes, cell) + smoothing
    confusion = soft / soft.sum(axis=2, keepdims=True)
    priors = (posteriors.sum(axis=0) + smoothing) / (posteriors.sum() + smoothing * votes.n_classes)
    return confusion, priors


def _e_step(log_priors: FloatArray, log_confusion: FloatArray, votes: Votes) -> tuple[FloatArray, float]:
    log_post = np.empty((votes.n_items, votes.n_classes), dtype=np.float64)
    for t in range(votes.n_classes):  # a loop over classes, not items
        per_vote = log_confusion[votes.source, t, votes.outcome]
        log_post[:, t] = np.bincount(votes.item, weights=per_vote, minlength=votes.n_items)
    log_post += log_priors[None, :]
    shift = log_post.max(axis=1, keepdims=True)
    unnorm = np.exp(log_post - shift)
    total = unnorm.sum(axis=1, keepdims=True)
    likelihood = float((np.log(total[:, 0]) + shift[:, 0]).sum())
    return unnorm / total, likelihood


def _soft_counts(posteriors: FloatArray, votes: Votes, cell: IntArray) -> FloatArray:
    """``soft[s, t, o]``: the sum of ``P(item is t)`` over the items source s gave outcome o."""
    size = votes.n_sources * votes.n_outcomes
    soft = np.empty((votes.n_sources, votes.n_classes, votes.n_outcomes), dtype=np.float64)
    for t in range(votes.n_classes):
        weights = posteriors[votes.item, t]
        soft[:, t, :] = np.bincount(cell, weights=weights, minlength=size).reshape(
            votes.n_sources, votes.n_outcomes
        )
    return soft
