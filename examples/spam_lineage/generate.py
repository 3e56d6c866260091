"""Write the example's generated data: users, their profiles, a wrong spam list and the fixed one.

Everything is made up from a fixed seed, so every run writes the same bytes:

- ``users.csv``: one row per user, with the behaviour an anti-spam model looks at.
- ``profiles.csv``: the job-seeking side of each user (some users have none).
- ``spam_list.csv``: the moderators' spam list, as first exported. It is WRONG: besides most of
  the real spammers it holds every account made at the spring careers fair, a block of
  legitimate job seekers who send many messages with links to their portfolios.
- ``spam_list_fixed.csv``: the same list with the careers-fair block taken out.

Usage: ``python generate.py [FOLDER]`` (default: the folder this script is in).
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import polars as pl

SEED = 20240611
USERS = 4000
SPAMMERS = 320
FAIR_FIRST, FAIR_LAST = 2401, 2640  # the careers-fair sign-ups: one block of consecutive ids
LISTED_SHARE = 0.9  # the moderators found 90% of the real spammers; the model finds the rest
ROLES = ("developer", "data analyst", "designer", "nurse", "teacher", "electrician", "sales")
FAIR_ROLES = ("developer", "data analyst", "designer")
SKILLS = {
    "developer": ("python", "sql", "git", "docker", "typescript"),
    "data analyst": ("sql", "excel", "python", "statistics", "dashboards"),
    "designer": ("figma", "illustration", "ux research", "typography"),
    "nurse": ("patient care", "triage", "pharmacology"),
    "teacher": ("curriculum", "classroom", "tutoring"),
    "electrician": ("wiring", "safety", "solar"),
    "sales": ("negotiation", "crm", "cold calling"),
}
EDUCATION = ("secondary", "vocational", "bachelor", "master")
SYLLABLES = ("ka", "mi", "ro", "zu", "le", "na", "to", "vi", "sa", "do", "re", "yu", "po", "an", "el")


def user_id(number: int) -> str:
    """The id of the ``number``-th user, e.g. ``u00042``.

    Example:
        >>> user_id(42)
        'u00042'
    """
    return f"u{number:05d}"


def _kinds(rng: random.Random) -> dict[int, str]:
    """Who each user really is: ``spammer``, ``fair`` (a careers-fair sign-up) or ``regular``."""
    fair = set(range(FAIR_FIRST, FAIR_LAST + 1))
    others = [n for n in range(1, USERS + 1) if n not in fair]
    spammers = set(rng.sample(others, SPAMMERS))
    return {
        n: "fair" if n in fair else "spammer" if n in spammers else "regular" for n in range(1, USERS + 1)
    }


def _behaviour(rng: random.Random, kind: str) -> dict[str, object]:
    if kind == "spammer":
        messages = int(rng.lognormvariate(math.log(700), 0.5))
        links, age, reply = rng.uniform(1.6, 4.0), rng.randint(1, 35), rng.uniform(0.0, 0.05)
        channel = rng.choice(("web", "web", "mobile"))
    elif kind == "fair":
        messages = int(rng.lognormvariate(math.log(140), 0.3))
        links, age, reply = rng.uniform(0.8, 1.6), rng.randint(40, 46), rng.uniform(0.25, 0.6)
        channel = "careers_fair"
    else:
        messages = int(rng.lognormvariate(math.log(25), 0.7))
        links, age, reply = rng.uniform(0.0, 0.3), rng.randint(30, 2500), rng.uniform(0.2, 0.8)
        channel = rng.choice(("web", "web", "mobile", "mobile", "referral"))
    return {
        "signup_channel": channel,
        "messages_sent": messages,
        "links_per_message": round(links, 2),
        "account_age_days": age,
        "reply_rate": round(reply, 3),
    }


def _handle(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) + str(rng.randint(10, 99))


def _profile(rng: random.Random, number: int, kind: str) -> dict[str, object] | None:
    missing = {"spammer": 0.85, "fair": 0.05, "regular": 0.12}[kind]
    if rng.random() < missing:
        return None
    role = rng.choice(FAIR_ROLES if kind == "fair" else ROLES)
    years = rng.randint(0, 2) if kind == "fair" else rng.randint(0, 25)
    seeking = {"fair": 0.85, "spammer": 0.1}.get(kind, 0.45 if years <= 2 else 0.3 if years <= 5 else 0.15)
    return {
        "user_id": user_id(number),
        "headline": f"  {role.title()} " if rng.random() < 0.2 else role.title(),  # tidied by a step
        "skills": ";".join(rng.sample(SKILLS[role], k=min(3, len(SKILLS[role])))),
        "years_experience": None if rng.random() < 0.04 else years,
        "education": None if rng.random() < 0.03 else rng.choice(EDUCATION),
        "applied_jobs_90d": rng.randint(1, 12) if rng.random() < seeking else 0,
    }


def generate(folder: Path) -> dict[str, int]:
    """Write the four CSV files into ``folder`` and return how many rows each has.

    Args:
        folder: where to write ``users.csv``, ``profiles.csv``, ``spam_list.csv`` and
            ``spam_list_fixed.csv``.

    Returns:
        The number of rows of each file, by file name.
    """
    rng = random.Random(SEED)
    kinds = _kinds(rng)
    users = [
        {"user_id": user_id(n), "handle": _handle(rng), **_behaviour(rng, kind)} for n, kind in kinds.items()
    ]
    profiles = [p for n, kind in kinds.items() if (p := _profile(rng, n, kind)) is not None]
    spammers = [n for n, kind in kinds.items() if kind == "spammer"]
    listed = sorted(rng.sample(spammers, round(LISTED_SHARE * len(spammers))))
    fair = [n for n, kind in kinds.items() if kind == "fair"]
    fixed = [{"user_id": user_id(n), "reason": "spam reports"} for n in listed]
    wrong = fixed + [{"user_id": user_id(n), "reason": "link flood"} for n in fair]
    tables = {
        "users.csv": pl.DataFrame(users),
        "profiles.csv": pl.DataFrame(profiles, schema_overrides={"years_experience": pl.Int64}),
        "spam_list.csv": pl.DataFrame(sorted(wrong, key=lambda r: r["user_id"])),
        "spam_list_fixed.csv": pl.DataFrame(fixed),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.write_csv(folder / name)
    return {name: table.height for name, table in tables.items()}


def main() -> None:
    """Generate into the folder given on the command line, or beside this script."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for name, rows in generate(folder).items():
        print(f"{folder / name}: {rows} rows")


if __name__ == "__main__":
    main()
