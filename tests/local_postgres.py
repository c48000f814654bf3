"""A throwaway PostgreSQL server on 127.0.0.1 for tests: where its binaries are, and running them as `postgres`."""

import os
import shutil
import socket
import subprocess
from pathlib import Path


def server_tool(name: str) -> str | None:
    """On PATH, or where Debian's postgresql package keeps the server binaries (not on PATH there)."""
    return shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )


def as_postgres(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root; drop to the `postgres` user when we are root."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
