"""``python -m datawheel``: the same as the ``datawheel`` command."""

from datawheel.cli import run

run()
