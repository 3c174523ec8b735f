"""Lazy package namespaces (PEP 562): names imported from their modules on first use."""

from __future__ import annotations

import importlib


def lazy_namespace(package: str, modules: dict[str, list[str]], namespace: dict):
    """`(__getattr__, __dir__)` for `package`, whose `modules` map each module to the
    names it defines (a subpackage `package.NAME` to `NAME`: the subpackage itself); a
    name found once is kept in `namespace`."""
    exports = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(exports[name])
        value = module if module.__name__ == f"{package}.{name}" else getattr(module, name)
        namespace[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *exports])

    return __getattr__, __dir__
