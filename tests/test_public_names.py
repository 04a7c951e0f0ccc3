"""`__all__` says what a module offers, and the tests derive what it must hold from the code itself:
every public class or function a module defines is listed, every listed name exists, and a package
re-exports only what its modules list as public."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import symposia


def _modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.walk_packages(symposia.__path__, "symposia.")
             if not m.name.endswith("__main__")]  # running __main__ would start the CLI
    return [symposia, *(importlib.import_module(n) for n in names)]


MODULES = [m for m in _modules() if hasattr(m, "__all__")]


def _defined_here(module: ModuleType) -> set[str]:
    return {name for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isclass(obj) or inspect.isfunction(obj))
            and obj.__module__ == module.__name__}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_all_lists_exactly_what_exists_and_every_public_definition(module: ModuleType) -> None:
    listed = list(module.__all__)
    assert len(listed) == len(set(listed)), "a name is listed twice"
    assert [n for n in listed if not hasattr(module, n)] == []
    assert sorted(_defined_here(module) - set(listed)) == [], "public but not in __all__ (or make it _private)"


@pytest.mark.parametrize("module", [m for m in MODULES if hasattr(m, "__path__")], ids=lambda m: m.__name__)
def test_a_package_reexports_only_what_its_modules_offer(module: ModuleType) -> None:
    for name in module.__all__:
        obj = getattr(module, name)
        home = getattr(obj, "__module__", None)
        if home is None or home == module.__name__ or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # constants and the package's own definitions
        assert name in getattr(importlib.import_module(home), "__all__", [name]), f"{home}.{name} is private"
