"""The dbt projects as one reproducible .tar.gz: same files, same bytes, same digest, so the S3 key (and with it the
task definition) changes only when a project does."""

import gzip
import hashlib
import io
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Build output, installed packages and local files that must never be shipped.
EXCLUDED_DIRS = {"target", "dbt_packages", "logs", "__pycache__", ".venv"}
EXCLUDED_FILES = {".user.yml", ".DS_Store"}


@dataclass(frozen=True)
class ProjectArchive:
    content: bytes
    sha256: str
    files: tuple[str, ...]

    @property
    def digest(self) -> str:
        return self.sha256[:16]


def project_files(root: Path) -> list[Path]:
    """The project's files, sorted, skipping build output, installed packages and hidden files."""
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in EXCLUDED_DIRS or part.startswith(".") for part in relative.parts[:-1]):
            continue
        if path.is_file() and relative.name not in EXCLUDED_FILES and not relative.name.startswith("."):
            files.append(path)
    return files


def build_archive(projects: Mapping[str, Path]) -> ProjectArchive:
    """Each project's files under its folder name (`{"dbt": path}` -> `dbt/...`) in a gzip tarball with fixed
    owners, modes and times."""
    buffer = io.BytesIO()
    names = []
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for top, root in sorted(projects.items()):
            if not (root / "dbt_project.yml").is_file():
                raise FileNotFoundError(f"{root} has no dbt_project.yml: the modeling task needs the dbt project there")
            for path in project_files(root):
                name = f"{top}/{path.relative_to(root).as_posix()}"
                data = path.read_bytes()
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime, info.uid, info.gid = len(data), 0o644, 0, 0, 0
                tar.addfile(info, io.BytesIO(data))
                names.append(name)
    content = gzip.compress(buffer.getvalue(), mtime=0)
    return ProjectArchive(content, hashlib.sha256(content).hexdigest(), tuple(names))
