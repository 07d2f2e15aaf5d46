"""What AWX does with this repository as a project, for the tests and the slicing benchmark: the checkout copied into a
job's directory, and the project sync's install of collections/requirements.yml. Only the project's own entry is
installed (the others come from a Galaxy server, which these machines do not reach), from the project's root and with
the collections path at the target, as AWX's project update runs it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# What a checkout holds that a project's copy has no use for.
LEFT_OUT = shutil.ignore_patterns(".venv", ".build", ".git", "tests", "demo-output", "__pycache__")


def copy_project(target: Path) -> Path:
    """The project as AWX checks it out, at ``target``."""
    shutil.copytree(ROOT, target, ignore=LEFT_OUT)
    return target


def sync_own_collection(project: Path, target: Path) -> subprocess.CompletedProcess:
    """ansible-galaxy's install of the project's own entry of collections/requirements.yml into ``target``."""
    own = [entry for entry in yaml.safe_load((project / "collections" / "requirements.yml").read_text(encoding="utf-8"))["collections"]
           if entry.get("type") == "dir"]
    target.mkdir(parents=True, exist_ok=True)
    requirements = target / "own-requirements.yml"
    requirements.write_text(yaml.safe_dump({"collections": own}), encoding="utf-8")
    return subprocess.run([str(Path(sys.executable).with_name("ansible-galaxy")), "collection", "install", "-r", str(requirements),
                           "--collections-path", str(target), "--offline", "--no-deps"], cwd=project, capture_output=True, text=True, check=False,
                          env={**os.environ, "ANSIBLE_FORCE_COLOR": "false", "ANSIBLE_COLLECTIONS_PATH": str(target)})
