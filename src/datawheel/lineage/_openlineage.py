"""OpenLineage run events (START, COMPLETE, FAIL), written to a file for Marquez or DataHub."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from datawheel._version import __version__
from datawheel.errors import LineageError

RunStateName = Literal["START", "COMPLETE", "FAIL"]
_PRODUCER = f"urn:datawheel:{__version__}"


class OpenLineageEmitter:
    """Writes one OpenLineage ``RunEvent`` a line to ``path`` (the client's file transport).

    Datasets are named as datawheel names them (``sms@2``, or a file's URI) in the namespace
    of the workspace, so one run's inputs and outputs join up with the next run's.
    """

    def __init__(self, path: Path, *, namespace: str) -> None:
        try:
            from openlineage.client import OpenLineageClient
            from openlineage.client.transport.file import FileConfig, FileTransport
        except ImportError as exc:
            raise LineageError(
                "OpenLineage events are switched on, but openlineage-python is not installed",
                hint="pip install 'datawheel[openlineage]', "
                "or remove [lineage] openlineage_file from datawheel.toml",
            ) from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        transport = FileTransport(FileConfig(log_file_path=str(path), append=True))
        self._client = OpenLineageClient(transport=transport)
        self.path = path
        self.namespace = namespace

    def run_id(self, execution_id: int) -> str:
        """A stable UUID for an execution of this workspace."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.namespace}/execution/{execution_id}"))

    def emit(
        self,
        state: RunStateName,
        *,
        execution_id: int,
        step: str,
        at: datetime,
        inputs: Sequence[str] = (),
        outputs: Sequence[str] = (),
        facets: dict[str, Any] | None = None,
    ) -> None:
        """Write one run event."""
        from openlineage.client.event_v2 import (
            InputDataset,
            Job,
            OutputDataset,
            Run,
            RunEvent,
            RunState,
        )

        event = RunEvent(
            eventType=RunState[state],
            eventTime=at.isoformat(),
            producer=_PRODUCER,
            run=Run(runId=self.run_id(execution_id), facets=facets or {}),
            job=Job(namespace=self.namespace, name=step),
            inputs=[InputDataset(namespace=self.namespace, name=n) for n in inputs],
            outputs=[OutputDataset(namespace=self.namespace, name=n) for n in outputs],
        )
        self._client.emit(event)
