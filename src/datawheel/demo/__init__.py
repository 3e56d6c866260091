"""``datawheel demo``: the flywheel on real data, in a fresh workspace, in one command."""

from datawheel.demo._demo import DEMO_DATA, DemoResult, run_demo
from datawheel.demo._flywheel import ANNOTATORS, Stage

__all__ = ["ANNOTATORS", "DEMO_DATA", "DemoResult", "Stage", "run_demo"]
