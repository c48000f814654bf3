"""An app's rendered config files as one bundle: a content address for its S3 prefix and a checksum manifest.

The manifest (`sha256sum` format) is uploaded beside the files; the boot script checks the files against it,
and checks the manifest itself against the digest carried in user data, before starting the container.
"""

import hashlib
import re

MANIFEST_NAME = "manifest.sha256"
_SAFE_PATH = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")


def check_paths(paths: list[str]) -> None:
    """Config paths are relative, plain and unique names: nothing the manifest or a shell could misread."""
    for path in paths:
        if not _SAFE_PATH.fullmatch(path) or ".." in path.split("/"):
            raise ValueError(f"config file path {path!r} must be relative and use only letters, digits, '._-/'")
        if path == MANIFEST_NAME:
            raise ValueError(f"config file path {MANIFEST_NAME!r} is reserved for the checksum manifest")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def config_digest(files: dict[str, str]) -> str:
    """Content address of an app's config files: any change gives a new prefix and a new launch template."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path].encode() + b"\0")
    return digest.hexdigest()[:16]


def manifest_text(files: dict[str, str]) -> str:
    """`<sha256>  <path>` per file, sorted, as `sha256sum --check` reads it."""
    check_paths(list(files))
    return "".join(f"{sha256_hex(files[path])}  {path}\n" for path in sorted(files))
