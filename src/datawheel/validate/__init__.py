"""Profiles, contracts, drift and monitoring checks over tables."""

__all__: list[str] = []
