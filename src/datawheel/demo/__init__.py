"""``datawheel demo``: the flywheel on real data, in a fresh workspace, in one command."""

from datawheel.demo._demo import DEMO_DATA, DemoResult, run_demo

__all__ = ["DEMO_DATA", "DemoResult", "run_demo"]
