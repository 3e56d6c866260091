"""Profiles, contracts, drift and monitoring checks over tables.

- :func:`profile` makes a mergeable :class:`Profile` in one pass over batches;
- :func:`infer_contract` drafts a :class:`Contract`, :func:`check_contract` checks data against
  it and returns :class:`Anomaly` records;
- :func:`compare_profiles` measures drift (PSI, Jensen-Shannon, Wasserstein, L∞), per slice with
  :func:`compare_slices`;
- :func:`monitor` checks new batches: contract, drift and data failures, in one report.
"""

from datawheel.validate._contract import (
    Anomaly,
    ColumnRule,
    Contract,
    ValidationResult,
    check_contract,
    infer_contract,
    load_contract,
    parse_contract,
)
from datawheel.validate._drift import (
    ColumnDrift,
    DriftReport,
    compare_profiles,
    compare_slices,
    correct,
    jensen_shannon,
    l_infinity,
    psi,
)
from datawheel.validate._html import drift_report, monitor_report, profile_report, validation_report
from datawheel.validate._monitor import BatchCheck, MonitorReport, drifted_rows, monitor
from datawheel.validate._profile import ColumnProfile, Profile, TextStats, load_profile, profile

__all__ = [
    "Anomaly",
    "BatchCheck",
    "ColumnDrift",
    "ColumnProfile",
    "ColumnRule",
    "Contract",
    "DriftReport",
    "MonitorReport",
    "Profile",
    "TextStats",
    "ValidationResult",
    "check_contract",
    "compare_profiles",
    "compare_slices",
    "correct",
    "drift_report",
    "drifted_rows",
    "infer_contract",
    "jensen_shannon",
    "l_infinity",
    "load_contract",
    "load_profile",
    "monitor",
    "monitor_report",
    "parse_contract",
    "profile",
    "profile_report",
    "psi",
    "validation_report",
]
