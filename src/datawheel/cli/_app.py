"""The ``datawheel`` command: global options, error handling, and the entry point."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from datawheel.cli._output import errors
from datawheel.errors import DatawheelError
from datawheel.workspace import Workspace

app = typer.Typer(
    name="datawheel",
    help="The data side of machine learning, end to end: versioned datasets with lineage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class _State:
    verbose: bool = False
    directory: Path | None = None


state = _State()


@app.callback()
def _options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks of errors.")] = False,
    directory: Annotated[
        Path | None, typer.Option("-C", "--directory", help="Run as if started in this folder.")
    ] = None,
) -> None:
    """The data side of machine learning, end to end: versioned datasets with lineage."""
    state.verbose = verbose
    state.directory = directory


def workspace() -> Workspace:
    """Open the workspace at or above the current folder (or ``-C DIR``)."""
    return Workspace.open(state.directory)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return its exit code instead of exiting."""
    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else argv
    try:
        command.main(args=args, prog_name="datawheel", standalone_mode=True)
    except SystemExit as exc:  # click's own ending: success, --help, or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except DatawheelError as exc:
        return _fail(exc, f"error: {exc}", exc.exit_code)
    except KeyboardInterrupt:
        errors.print("interrupted")
        return 130
    return 0


def _fail(exc: BaseException, message: str, code: int) -> int:
    if state.verbose or "--verbose" in sys.argv or "-v" in sys.argv:
        import traceback

        errors.print("".join(traceback.format_exception(exc)), markup=False)
    errors.print(message, markup=False)
    return code


def run() -> None:
    """The console script's entry point."""
    sys.exit(main())
