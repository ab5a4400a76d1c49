"""``gcstream/__init__.py``: ``__all__``, the extension module and its stub agree."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import gcstream
import gcstream._core as core
import pytest

STUB = Path(gcstream.__file__).with_name("_core.pyi")


def public_classes_of_core() -> set[str]:
    return {name for name, obj in vars(core).items() if inspect.isclass(obj) and not name.startswith("_")}


def test_every_name_in_all_exists() -> None:
    missing = [name for name in gcstream.__all__ if not hasattr(gcstream, name)]
    assert missing == []
    assert len(set(gcstream.__all__)) == len(gcstream.__all__)


def test_every_public_class_of_the_core_is_re_exported() -> None:
    exported = set(gcstream.__all__)
    assert public_classes_of_core() - exported == set()
    for name in public_classes_of_core():
        assert getattr(gcstream, name) is getattr(core, name)


def test_the_stub_names_the_same_classes() -> None:
    if not STUB.exists():
        pytest.skip("python/gcstream/_core.pyi is not written yet")
    tree = ast.parse(STUB.read_text())
    stub_classes = {
        node.name for node in tree.body if isinstance(node, ast.ClassDef) and not node.name.startswith("_")
    }
    assert stub_classes == public_classes_of_core()


def test_build_profile_and_version() -> None:
    assert gcstream.build_profile in ("debug", "release")
    assert isinstance(gcstream.__version__, str)
