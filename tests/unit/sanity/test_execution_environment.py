"""The execution environment: the collection says what an image needs for it (meta/execution-environment.yml, read by
ansible-builder's introspection from the installed collection), and the repository's definition
(execution-environment.yml) gives ansible-builder a build context with this collection's tarball and its dependencies.
Building the image needs a container runtime; the context and the introspection do not, and are what is checked here."""
from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))
TARBALL = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The collection's tarball where the definition takes it from (.build/dist), as `make build` leaves it."""
    dist = ROOT / ".build" / "dist"
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    return dist / TARBALL


def test_introspection_finds_every_authentication_the_docs_describe(built: Path, tmp_path: Path) -> None:
    with tarfile.open(built) as archive:
        archive.extractall(tmp_path / "ansible_collections" / "m365ops" / "activation", filter="data")
    found = subprocess.run([str(BIN / "ansible-builder"), "introspect", "--sanitize", str(tmp_path)], capture_output=True, text=True, check=True)
    needs = yaml.safe_load(found.stdout)
    python = [line.split("#")[0].strip() for line in needs["python"]]
    system = [line.split("#")[0].strip() for line in needs["system"]]
    assert "pywinrm[kerberos,credssp]>=0.5,<0.6" in python and "pypsrp[kerberos,credssp]>=0.8,<1.0" in python
    # The controller's own minimum is part of the image too.
    controller = [line.strip() for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    assert all(any(line.split(">")[0].split("[")[0] == need.split(">")[0].split("[")[0] for line in python) for need in controller)
    assert {"krb5-libs [platform:rpm]", "krb5-workstation [platform:rpm]", "krb5-devel [platform:rpm compile]", "libkrb5-dev [platform:dpkg compile]",
            "krb5-user [platform:dpkg]"} <= set(system)


def test_the_definition_gives_a_build_context_with_this_collection_and_its_dependencies(built: Path, tmp_path: Path) -> None:
    definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text(encoding="utf-8"))
    # The image carries the tarball of this version, and the core range the collection claims.
    assert definition["additional_build_files"] == [{"src": f".build/dist/{TARBALL}", "dest": "collections"}]
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    low, high = (part.strip().lstrip("<>=") for part in runtime["requires_ansible"].split(","))
    assert definition["dependencies"]["ansible_core"]["package_pip"] == f"ansible-core>={'.'.join(low.split('.')[:2])},<{high.rsplit('.', 1)[0]}"
    context = tmp_path / "context"
    created = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", str(ROOT / "execution-environment.yml"), "-c", str(context),
                              "--output-filename", "Containerfile"],
                             cwd=ROOT, capture_output=True, text=True, check=False)
    assert created.returncode == 0, created.stdout + created.stderr
    assert (context / "_build" / "collections" / TARBALL).is_file()
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert requirements["collections"] == [{"name": f"collections/{TARBALL}", "type": "file"}, {"name": "ansible.windows", "version": ">=2.3.0"}]
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    # The galaxy stage installs the requirements; the builder stage introspects what was installed (the collection's meta).
    assert "ansible-galaxy collection install" in containerfile and "introspect" in containerfile
