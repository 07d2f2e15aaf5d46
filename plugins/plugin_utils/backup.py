# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup records of everything a module overwrote, deleted or created, kept on the controller."""

from __future__ import annotations

import json
import os
import re
import tempfile
import typing as t
from datetime import datetime, timezone

BACKUP_FORMAT = 1


def backup_document(host: str, module: str, records: list[dict[str, t.Any]], now: datetime | None = None) -> dict[str, t.Any]:
    created = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"format": BACKUP_FORMAT, "host": host, "module": module, "created": created, "records": records}


def check_backup_dir(directory: str) -> None:
    """Make sure records can be written under ``directory`` (created when missing); raise OSError when not."""
    target = os.path.expanduser(directory)
    os.makedirs(target, mode=0o700, exist_ok=True)
    if not os.path.isdir(target):
        raise NotADirectoryError(f"{target} is not a directory")
    with tempfile.TemporaryFile(dir=target, prefix=".writable-"):
        pass


def write_backup(directory: str, document: dict[str, t.Any]) -> str:
    """Write one JSON file per host and run: ``<dir>/<host>/<created>_<module>.json``. Returns its path."""
    safe_host = re.sub(r"[^A-Za-z0-9._-]", "_", document["host"])
    safe_module = re.sub(r"[^A-Za-z0-9._-]", "_", document["module"])
    stamp = document["created"].replace(":", "").replace("-", "")
    target_dir = os.path.join(os.path.expanduser(directory), safe_host)
    os.makedirs(target_dir, mode=0o700, exist_ok=True)
    path = os.path.join(target_dir, f"{stamp}_{safe_module}.json")
    handle, temp_path = tempfile.mkstemp(dir=target_dir, prefix=".backup-")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2, sort_keys=True)
        stream.write("\n")
    os.replace(temp_path, path)
    return path
