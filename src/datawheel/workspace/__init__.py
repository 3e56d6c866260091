"""Workspaces: a folder of versioned datasets, blobs and metadata, found like a git repository."""

from datawheel.workspace._config import (
    CONFIG_FILE,
    DATABASE_URL_ENV,
    OPENLINEAGE_ENV,
    STATE_DIR,
    WorkspaceConfig,
    find_root,
    load_config,
)
from datawheel.workspace._workspace import Workspace, current_user

__all__ = [
    "CONFIG_FILE",
    "DATABASE_URL_ENV",
    "OPENLINEAGE_ENV",
    "STATE_DIR",
    "Workspace",
    "WorkspaceConfig",
    "current_user",
    "find_root",
    "load_config",
]
