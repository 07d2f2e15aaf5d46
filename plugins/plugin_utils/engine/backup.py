# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup records of everything a module overwrote, deleted or created, kept on the controller.

One JSON document per host and apply batch, ``<backup_dir>/<host directory>/<created>_<module>.json``. A document
is written (and fsynced) in state ``planned`` before its batch is sent, holding the record of every planned change
as the probe saw it; it becomes ``applied`` with the records of what the agent reports it changed, or is removed
when the batch changed nothing. A document still ``planned`` belongs to a batch whose answer never came back; the
next run settles it (``interrupted``). Documents written before the journal have no ``state``: they are ``applied``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import typing as t
from datetime import datetime, timezone

BACKUP_FORMAT = 1
PLANNED = "planned"
APPLIED = "applied"
INTERRUPTED = "interrupted"
STATES = (PLANNED, APPLIED, INTERRUPTED)

# Characters a host directory keeps as they are; every other byte of the name's UTF-8 is written %XX.
_SAFE = re.compile(r"[A-Za-z0-9_.-]")


def host_directory(backup_dir: str, host: str) -> str:
    """The directory of ``host``'s records under ``backup_dir``: the one function writer and reader use.

    Reversible and confined: letters, digits, ``_``, ``-`` and ``.`` stay, every other character becomes the %XX of
    its UTF-8 bytes (``%`` and separators too), and a leading dot is written ``%2E``, so ``..`` or ``.x`` never name
    a directory above or hidden in ``backup_dir``. Case is kept, as Ansible keeps it in inventory names."""
    encoded = "".join(char if _SAFE.fullmatch(char) else "".join(f"%{byte:02X}" for byte in char.encode("utf-8")) for char in host)
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    return os.path.join(os.path.expanduser(backup_dir), encoded or "%00")


def backup_document(host: str, module: str, records: list[dict[str, t.Any]], now: datetime | None = None,
                    run_id: str | None = None, state: str = APPLIED) -> dict[str, t.Any]:
    created = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    document = {"format": BACKUP_FORMAT, "host": host, "module": module, "created": created, "records": records, "state": state}
    return {**document, "run_id": run_id} if run_id else document


def check_backup_dir(directory: str) -> None:
    """Make sure records can be written under ``directory`` (created when missing); raise OSError when not."""
    target = os.path.expanduser(directory)
    os.makedirs(target, mode=0o700, exist_ok=True)
    if not os.path.isdir(target):
        raise NotADirectoryError(f"{target} is not a directory")
    with tempfile.TemporaryFile(dir=target, prefix=".writable-"):
        pass


def document_path(directory: str, document: dict[str, t.Any]) -> str:
    """Where ``document`` lives: the host's directory, its creation time and module in the name."""
    safe_module = re.sub(r"[^A-Za-z0-9._-]", "_", document["module"])
    stamp = document["created"].replace(":", "").replace("-", "")
    return os.path.join(host_directory(directory, document["host"]), f"{stamp}_{safe_module}.json")


def write_document(path: str, document: dict[str, t.Any]) -> str:
    """Write ``document`` to ``path`` atomically and durably: a temporary file, fsynced, renamed, the directory fsynced.
    A full disk or a power loss leaves the previous file (or none), never half of one."""
    target_dir = os.path.dirname(path)
    os.makedirs(target_dir, mode=0o700, exist_ok=True)
    handle, temp_path = tempfile.mkstemp(dir=target_dir, prefix=".backup-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=2, sort_keys=True)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
        raise
    directory = os.open(target_dir, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path


def write_backup(directory: str, document: dict[str, t.Any]) -> str:
    """Write one JSON file per host and batch: ``<dir>/<host directory>/<created>_<module>.json``. Returns its path."""
    return write_document(document_path(directory, document), document)


def host_documents(directory: str, host: str) -> list[tuple[str, dict[str, t.Any]]]:
    """Every readable backup document of ``host`` under ``directory``, oldest first (unreadable ones are restore's to
    report: this is the journal's look for planned documents)."""
    found = []
    base = host_directory(directory, host)
    if not os.path.isdir(base):
        return []
    for name in sorted(os.listdir(base)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(base, name)
        try:
            with open(path, encoding="utf-8") as stream:
                document = json.load(stream)
        except (OSError, ValueError):
            continue
        if isinstance(document, dict) and document.get("host") == host and isinstance(document.get("records"), list):
            found.append((path, document))
    return sorted(found, key=lambda item: str(item[1].get("created", "")))
