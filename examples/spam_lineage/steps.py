"""The example's steps: an anti-spam model, de-spamming, cleaning, and a job-seeking model.

Both "models" are small tables, so they are datasets like any other: versioned, diffable, and
in the lineage graph. Neither needs a machine-learning library:

- the anti-spam model is Gaussian naive Bayes: for each behaviour feature (on a log scale), the
  mean and standard deviation among users on the spam list and among the others;
- the job-seeking model is the share of job seekers (users who applied to a job in the last
  90 days) per role and experience band, with Laplace smoothing: (seekers + 1) / (users + 2).

Every step keeps datawheel's ``_`` columns of the rows it passes on, so a user keeps its
``_row_id`` from ingestion to prediction and a diff matches rows across versions.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from datawheel.pipeline import step

FEATURES = ("messages_sent", "links_per_message", "account_age_days", "reply_rate")
MIN_STD = 0.01  # no feature is trusted to be more exact than this (on the log scale)
ANY = "(any)"  # the job model's row for roles and bands it has not seen
PROFILE_COLUMNS = ("role", "skills", "years_experience", "experience_band", "education", "applied_jobs_90d")


def _hidden(table: pl.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith("_")]


@step(outputs="profiles_tidy")
def tidy_profiles(profiles: pl.DataFrame) -> pl.DataFrame:
    """Normalise profiles: a lower-case ``role`` from the headline, and an experience band.

    Args:
        profiles: one row per user, with ``headline`` and ``years_experience``.

    Returns:
        The profiles with ``role`` instead of ``headline`` and an ``experience_band`` column
        (null where the years are unknown).

    Example:
        >>> tidy_profiles(pl.DataFrame({"headline": [" Data Analyst "], "years_experience": [4]})).row(0)
        (4, 'data analyst', '3-5')
    """
    years = pl.col("years_experience")
    band = (
        pl.when(years <= 2)
        .then(pl.lit("0-2"))
        .when(years <= 5)
        .then(pl.lit("3-5"))
        .when(years <= 10)
        .then(pl.lit("6-10"))
        .when(years.is_not_null())
        .then(pl.lit("11+"))
    )
    return profiles.with_columns(
        role=pl.col("headline").str.strip_chars().str.to_lowercase(), experience_band=band
    ).drop("headline")


@step(outputs="spam_model")
def train_spam_model(users: pl.DataFrame, spam_list: pl.DataFrame) -> pl.DataFrame:
    """Learn, per feature, how users on the spam list behave and how the others do.

    Args:
        users: one row per user, with the behaviour features.
        spam_list: the ``user_id`` of every listed spammer.

    Returns:
        One row per feature: ``listed_mean``, ``listed_std``, ``unlisted_mean``,
        ``unlisted_std`` of ``log(1 + value)``, and how many users each side had.

    Raises:
        ValueError: if the list names none of the users, or all of them.

    Example:
        >>> users = pl.DataFrame({"user_id": ["a", "b", "c", "d"], "messages_sent": [900, 800, 10, 20],
        ...     "links_per_message": [3.0, 2.5, 0.1, 0.0], "account_age_days": [2, 3, 400, 900],
        ...     "reply_rate": [0.0, 0.01, 0.5, 0.4]})
        >>> model = train_spam_model(users, pl.DataFrame({"user_id": ["a", "b"]}))
        >>> model.select("feature", "listed_users", "unlisted_users").row(0)
        ('messages_sent', 2, 2)
    """
    listed = users["user_id"].is_in(spam_list["user_id"].implode())
    logged = users.select(pl.col(FEATURES).cast(pl.Float64).log1p()).with_columns(listed=listed)
    stats = logged.group_by("listed").agg(
        *[pl.col(f).mean().alias(f"{f}:mean") for f in FEATURES],
        *[pl.col(f).std().fill_null(0.0).alias(f"{f}:std") for f in FEATURES],
        pl.len().alias("users"),
    )
    side = {row["listed"]: row for row in stats.iter_rows(named=True)}
    if len(side) < 2:
        raise ValueError("the spam list must name some of the users, and not all of them")
    listed_side, unlisted_side = side[True], side[False]
    return pl.DataFrame(
        {
            "feature": list(FEATURES),
            "listed_mean": [listed_side[f"{f}:mean"] for f in FEATURES],
            "listed_std": [max(listed_side[f"{f}:std"], MIN_STD) for f in FEATURES],
            "unlisted_mean": [unlisted_side[f"{f}:mean"] for f in FEATURES],
            "unlisted_std": [max(unlisted_side[f"{f}:std"], MIN_STD) for f in FEATURES],
            "listed_users": [listed_side["users"]] * len(FEATURES),
            "unlisted_users": [unlisted_side["users"]] * len(FEATURES),
        }
    )


def _log_density(x: pl.Expr, mean: float, std: float) -> pl.Expr:
    """The log of the normal density at ``x``, less the constant both sides share."""
    return ((x - mean) / std) ** 2 / -2 - math.log(std)


def _log_likelihood_ratio(row: dict[str, Any]) -> pl.Expr:
    """How much more likely a feature's value is among listed users than among the others."""
    x = pl.col(str(row["feature"])).cast(pl.Float64).log1p()
    listed = _log_density(x, float(row["listed_mean"]), float(row["listed_std"]))
    return listed - _log_density(x, float(row["unlisted_mean"]), float(row["unlisted_std"]))


@step(outputs="scored_users")
def score_spam(users: pl.DataFrame, spam_model: pl.DataFrame) -> pl.DataFrame:
    """Give every user a ``spam_score``: the model's probability that the user is a spammer.

    Args:
        users: one row per user, with the behaviour features.
        spam_model: the table :func:`train_spam_model` made.

    Returns:
        ``users`` with a ``spam_score`` column between 0 and 1.
    """
    rows = list(spam_model.iter_rows(named=True))
    prior = math.log(rows[0]["listed_users"] / rows[0]["unlisted_users"])
    log_odds = pl.sum_horizontal([_log_likelihood_ratio(r) for r in rows]) + prior
    score = (1 / (1 + (-log_odds.clip(-50, 50)).exp())).round(4)
    return users.with_columns(spam_score=score)


@step(outputs="despammed_users")
def despam(scored_users: pl.DataFrame, *, threshold: float = 0.5) -> pl.DataFrame:
    """Drop the users the model scores at or above ``threshold``.

    Example:
        >>> despam(pl.DataFrame({"user_id": ["a", "b"], "spam_score": [0.9, 0.1]}))["user_id"].to_list()
        ['b']
    """
    return scored_users.filter(pl.col("spam_score") < threshold)


@step(outputs="clean_users")
def clean_users(merged_users: pl.DataFrame) -> pl.DataFrame:
    """Keep the users with a complete profile, and the columns the job model needs.

    Args:
        merged_users: de-spammed users joined with their tidy profiles (null where missing).

    Returns:
        ``user_id``, ``handle``, ``signup_channel`` and the profile columns, for the users whose
        profile columns are all known.
    """
    complete = merged_users.drop_nulls(list(PROFILE_COLUMNS))
    return complete.select("user_id", "handle", "signup_channel", *PROFILE_COLUMNS, *_hidden(complete))


@step(outputs="job_model")
def train_job_model(clean_users: pl.DataFrame) -> pl.DataFrame:
    """Learn the share of job seekers per role and experience band.

    A job seeker applied to at least one job in the last 90 days. A group's rate is
    ``(seekers + 1) / (users + 2)``, so a small group does not swing to 0 or 1, and a row with
    role and band ``(any)`` holds the rate over everyone, for groups the model has not seen.

    Example:
        >>> users = pl.DataFrame({"role": ["nurse"] * 2, "experience_band": ["0-2"] * 2,
        ...     "applied_jobs_90d": [0, 3]})
        >>> train_job_model(users).select("role", "users", "seekers", "seeking_rate").rows()
        [('(any)', 2, 1, 0.5), ('nurse', 2, 1, 0.5)]
    """
    seeking = (pl.col("applied_jobs_90d") > 0).cast(pl.Int64)
    overall = clean_users.select(pl.len().alias("users"), seeking.sum().alias("seekers"))
    groups = clean_users.group_by("role", "experience_band").agg(
        pl.len().alias("users"), seeking.sum().alias("seekers")
    )
    everyone = overall.select(
        pl.lit(ANY).alias("role"), pl.lit(ANY).alias("experience_band"), "users", "seekers"
    )
    table = pl.concat(
        [everyone, groups.cast({"users": pl.Int64, "seekers": pl.Int64})], how="vertical_relaxed"
    )
    rate = (pl.col("seekers") + 1) / (pl.col("users") + 2)
    return table.with_columns(seeking_rate=rate.round(4)).sort("role", "experience_band")


@step(outputs="job_predictions")
def predict_jobs(clean_users: pl.DataFrame, job_model: pl.DataFrame) -> pl.DataFrame:
    """Predict, per user, how likely they are seeking a job, and whether to recommend jobs.

    Args:
        clean_users: the users to predict for, with ``role`` and ``experience_band``.
        job_model: the table :func:`train_job_model` made.

    Returns:
        ``user_id``, ``role``, ``experience_band``, ``seeking_probability`` and
        ``recommend_jobs`` (the probability is at least one half).
    """
    overall = job_model.filter(pl.col("role") == ANY)["seeking_rate"][0]
    rates = job_model.select("role", "experience_band", "seeking_rate")
    joined = clean_users.join(rates, on=["role", "experience_band"], how="left", maintain_order="left")
    probability = pl.col("seeking_rate").fill_null(overall).alias("seeking_probability")
    return joined.select(
        "user_id",
        "role",
        "experience_band",
        probability,
        (probability >= 0.5).alias("recommend_jobs"),
        *_hidden(joined),
    )
