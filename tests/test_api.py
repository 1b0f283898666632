"""The public API: one listing per package, every exported name real and documented, nothing private leaking.

These checks fail when someone adds a name to a package's namespace without exporting it, exports a
name that does not exist or has no docstring, lets the static (TYPE_CHECKING) mirror of a lazy package
drift from its run-time listing, or makes a private module part of the public surface.
"""

from __future__ import annotations

import __future__
import ast
import importlib
import inspect
import types
from pathlib import Path

import pytest

import footprint

PUBLIC_PACKAGES = [
    "footprint",
    "footprint.classify",
    "footprint.db",
    "footprint.exceptions",
    "footprint.ingest",
    "footprint.model",
    "footprint.report",
    "footprint.schema",
    "footprint.spectra",
    "footprint.store",
    "footprint.synth",
    "footprint.valuation",
]
LAZY_PACKAGES = ["footprint", "footprint.ingest", "footprint.model"]


def _source_tree(name: str) -> ast.Module:
    module = importlib.import_module(name)
    return ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))


def _literal(tree: ast.Module, target: str) -> object:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == target for t in node.targets):
            return ast.literal_eval(node.value)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == target:
            return ast.literal_eval(node.value)
    return None


def _type_checking_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom), ast.dump(stmt)
                for alias in stmt.names:
                    # "name as name": the explicit re-export form static tools honour.
                    assert alias.asname == alias.name, f"write `{alias.name} as {alias.name}`"
                    names.add(alias.name)
    return names


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_lazy_package_lists_its_api_once_and_the_static_mirror_agrees(name):
    package = importlib.import_module(name)
    tree = _source_tree(name)
    where = _literal(tree, "_WHERE")
    assert isinstance(where, dict) and where
    listed = set(where) | set(_literal(tree, "_SUBPACKAGES") or ()) | set(_literal(tree, "_EAGER") or ())
    assert sorted(package.__all__) == sorted(listed)
    assert sorted(package.__all__) == sorted(dir(package))
    lazy = set(where) | set(_literal(tree, "_SUBPACKAGES") or ())
    assert _type_checking_names(tree) == lazy, "the TYPE_CHECKING block must mirror _WHERE/_SUBPACKAGES"
    for public, module in where.items():
        if module:  # the name is defined where _WHERE says (or re-exported from that package)
            assert hasattr(importlib.import_module(module, name), public), (public, module)


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_every_exported_name_exists_is_public_and_documented(name):
    package = importlib.import_module(name)
    assert package.__doc__ and package.__doc__.strip(), f"{name} has no docstring"
    exported = list(package.__all__)
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    for public in exported:
        assert not public.startswith("_") or public == "__version__", f"{name} exports private {public}"
        value = getattr(package, public)
        if isinstance(value, types.ModuleType):
            assert not any(part.startswith("_") for part in value.__name__.split(".")), \
                f"{name}.{public} is the private module {value.__name__}"
        if inspect.isclass(value) or inspect.isfunction(value) or isinstance(value, types.ModuleType):
            assert inspect.getdoc(value), f"{name}.{public} is exported but not documented"


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_no_public_name_is_left_out_of_all(name):
    package = importlib.import_module(name)
    stray = []
    for attr, value in vars(package).items():
        if attr.startswith("_") or attr in package.__all__:
            continue
        if isinstance(value, __future__._Feature):  # `from __future__ import annotations`
            continue
        if isinstance(value, types.ModuleType) and (value.__name__.startswith(f"{package.__name__}.")
                                                    or not value.__name__.startswith("footprint")):
            continue  # a subpackage imported under its name, or a library module the code uses
        if name in LAZY_PACKAGES and attr in {"TYPE_CHECKING", "lazy_namespace"}:
            continue
        home = str(getattr(value, "__module__", ""))
        if hasattr(package, "__path__"):  # a package: what its own modules define, and its constants
            ours = home.startswith(f"{name}.") or (attr.isupper() and not callable(value))
        else:  # a module: what it defines itself (its imports are not exports)
            ours = home == name
        if ours:
            stray.append(attr)
    assert not stray, f"{name} has public names outside __all__: {stray}"


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError):
        footprint.not_a_public_name  # noqa: B018


def test_the_callable_classify_package_is_the_classify_function():
    import footprint.classify as package

    assert callable(footprint.classify) and footprint.classify is package
    assert inspect.signature(package.classify).parameters["render_report"].default is None
