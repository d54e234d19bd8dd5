"""One dependency set: the environment the suite runs in, `make install` and the image install the same pins."""

import re
import tomllib
from importlib import metadata

from deploy.cdk.container_image import DOCKERFILE, REPOSITORY_ROOT

CONSTRAINTS = REPOSITORY_ROOT / "constraints.txt"
# Installed by the venv itself or being the project under test, never pinned.
UNPINNED = {"pip", "setuptools", "wheel", "ecom-pipeline"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"constraints.txt: {line!r} is not an exact pin"
        pins[_canonical(name)] = version
    return pins


def test_the_tested_environment_is_exactly_the_pinned_one() -> None:
    pins = _pins()
    installed = {_canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differing = {
        name: (installed[name], pins[name])
        for name in pins
        if name in installed and installed[name] != pins[name]
    }
    assert not differing, f"installed vs constraints.txt: {differing}"
    unpinned = sorted(set(installed) - set(pins) - UNPINNED)
    assert not unpinned, f"installed but not in constraints.txt (run `make constraints`): {unpinned}"


def test_every_runtime_dependency_is_pinned() -> None:
    pyproject = tomllib.loads((REPOSITORY_ROOT / "pyproject.toml").read_text())
    pins = _pins()
    for requirement in pyproject["project"]["dependencies"]:
        name = _canonical(re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0])
        assert name in pins, f"{name} (a runtime dependency) has no pin in constraints.txt"


def test_the_image_installs_every_dependency_under_the_same_constraints() -> None:
    dockerfile = (REPOSITORY_ROOT / DOCKERFILE).read_text()
    installs = re.findall(r"pip install ([^\n\\]*)", dockerfile)
    assert installs
    for args in installs:
        assert "--no-deps" in args or "-c constraints.txt" in args, (
            f"unconstrained install in the image: {args}"
        )
    assert re.search(r"^COPY [^\n]*constraints\.txt", dockerfile, re.MULTILINE)
    ignore = (REPOSITORY_ROOT / f"{DOCKERFILE}.dockerignore").read_text().splitlines()
    assert "!constraints.txt" in ignore, "constraints.txt must be in the image's build context"
