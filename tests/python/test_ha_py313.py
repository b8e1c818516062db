"""The rewrites of the newer-HA lane change 3.14-only syntax to its 3.13 spelling, and nothing else."""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from typing import TYPE_CHECKING

import pytest
from ha_py313.__main__ import STAMP, main
from ha_py313.rewrite import (
    FUTURE_IMPORT,
    accept_stringized_final,
    add_future_annotations,
    annotations_for_annotate,
    drop_annotation_format,
    import_annotationlib_from_typing_extensions,
    parenthesize_except,
    rewrite_module,
)

if TYPE_CHECKING:
    from pathlib import Path


def dedent(source: str) -> str:
    return textwrap.dedent(source).lstrip("\n")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("try:\n    x()\nexcept A, B:\n    pass\n", "try:\n    x()\nexcept (A, B):\n    pass\n"),
        ("try:\n    x()\nexcept* A, b.C:\n    pass\n", "try:\n    x()\nexcept* (A, b.C):\n    pass\n"),
        (
            "try:\n    x()\nexcept OSError, f(1, 2)[0]:  # note\n    pass\n",
            "try:\n    x()\nexcept (OSError, f(1, 2)[0]):  # note\n    pass\n",
        ),
    ],
)
def test_bare_exception_tuples_get_parentheses(before: str, after: str) -> None:
    rewritten, count = parenthesize_except(before)
    assert (rewritten, count) == (after, 1)
    compile(rewritten, "<rewritten>", "exec", dont_inherit=True)


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    x()\nexcept (A, B):\n    pass\n",
        "try:\n    x()\nexcept (A, B) as err:\n    pass\n",
        "try:\n    x()\nexcept A as err:\n    pass\n",
        "try:\n    x()\nexcept:\n    pass\n",
        "text = 'except A, B:'  # except C, D:\n",
    ],
)
def test_other_except_clauses_and_look_alikes_are_left_alone(source: str) -> None:
    assert parenthesize_except(source) == (source, 0)


def test_every_clause_of_a_module_is_rewritten_and_the_meaning_kept() -> None:
    source = dedent("""
        def f(kind):
            try:
                raise kind("x")
            except KeyError, ValueError:
                return "lookup or value"
            except TypeError, OSError:
                return "other"
    """)
    rewritten, count = parenthesize_except(source)
    assert count == 2
    namespace: dict[str, object] = {}
    exec(compile(rewritten, "<rewritten>", "exec", dont_inherit=True), namespace)  # noqa: S102 - our own test source
    f = namespace["f"]
    assert callable(f)
    assert [f(KeyError), f(ValueError), f(OSError)] == ["lookup or value", "lookup or value", "other"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('"""Doc."""\nimport x\n', f'"""Doc."""\n{FUTURE_IMPORT}\nimport x\n'),
        ('"""A\nlong doc."""\n\nimport x\n', f'"""A\nlong doc."""\n{FUTURE_IMPORT}\n\nimport x\n'),
        ("# comment\nimport x\n", f"# comment\n{FUTURE_IMPORT}\nimport x\n"),
        ("@decorate\ndef f(): ...\n", f"{FUTURE_IMPORT}\n@decorate\ndef f(): ...\n"),
        ('"""Only a docstring."""', f'"""Only a docstring."""\n{FUTURE_IMPORT}\n'),
        ("", f"{FUTURE_IMPORT}\n"),
        (
            '"""Doc."""\nfrom __future__ import generator_stop\n',
            f'"""Doc."""\n{FUTURE_IMPORT}\nfrom __future__ import generator_stop\n',
        ),
    ],
)
def test_the_future_import_goes_first_after_the_docstring(before: str, after: str) -> None:
    assert add_future_annotations(before) == (after, True)
    compile(after, "<rewritten>", "exec", dont_inherit=True)


def test_a_module_with_the_future_import_is_left_alone() -> None:
    source = f'"""Doc."""\n{FUTURE_IMPORT}\n'
    assert add_future_annotations(source) == (source, False)


def test_annotations_naming_later_names_no_longer_fail_at_import() -> None:
    source = "constant: Later[int] = 1\nclass Later[T]: ...\n"
    with pytest.raises(NameError):
        exec(compile(source, "<original>", "exec", dont_inherit=True), {})  # noqa: S102 - our own test source
    rewritten, _ = add_future_annotations(source)
    namespace: dict[str, object] = {}
    exec(compile(rewritten, "<rewritten>", "exec", dont_inherit=True), namespace)  # noqa: S102 - our own test source
    assert namespace["constant"] == 1


def test_annotationlib_comes_from_typing_extensions() -> None:
    source = "from annotationlib import Format, get_annotations\n    from annotationlib import Format\n"
    rewritten, count = import_annotationlib_from_typing_extensions(source)
    assert count == 2
    assert rewritten == (
        "from typing_extensions import Format, get_annotations\n    from typing_extensions import Format\n"
    )


def test_signature_loses_only_its_annotation_format_keyword() -> None:
    source = "params = inspect.signature(func, annotation_format=Format.FORWARDREF).parameters\n"
    assert drop_annotation_format(source) == ("params = inspect.signature(func).parameters\n", 1)
    assert drop_annotation_format("x = signature(func)\n") == ("x = signature(func)\n", 0)


def test_the_final_check_reads_the_stringized_final_as_final() -> None:
    source = dedent("""
        from typing import Final, get_origin
        from typing_extensions import Format, get_annotations


        class Member:
            def __set_name__(self, owner, name):
                annotation = get_annotations(owner, format=Format.FORWARDREF).get(name)
                if isinstance(annotation, str):
                    raise TypeError(f"{name} must be annotated Final, remove the future import")
                if annotation is not Final and get_origin(annotation) is not Final:
                    raise TypeError(f"{name} must be annotated Final")
    """)
    rewritten, count = accept_stringized_final(source)
    assert count == 1
    namespace: dict[str, object] = {}
    exec(compile(rewritten, "<rewritten>", "exec", dont_inherit=True), namespace)  # noqa: S102 - our own test source
    owner = dedent("""
        from __future__ import annotations
        from typing import Final


        class Entity:
            member: Final = Member()
    """)
    exec(compile(owner, "<owner>", "exec", dont_inherit=True), dict(namespace))  # noqa: S102 - our own test source
    not_final = owner.replace("member: Final", "member: int")
    with pytest.raises(TypeError, match="must be annotated Final"):
        exec(compile(not_final, "<owner>", "exec", dont_inherit=True), dict(namespace))  # noqa: S102 - our own test source


def test_annotations_given_through_annotate_reach_a_313_dataclass() -> None:
    source = dedent("""
        import dataclasses
        from typing_extensions import Format, get_annotations


        class Parent:
            key: str


        class Child(Parent):
            pass


        annotations = dict(get_annotations(Parent, format=Format.FORWARDREF))


        def wrapped_annotate(format):
            return annotations


        Child.__annotate__ = wrapped_annotate
        made = dataclasses.dataclass(Child)
    """)
    original: dict[str, object] = {}
    exec(compile(source, "<original>", "exec", dont_inherit=True), original)  # noqa: S102 - our own test source
    assert [f.name for f in dataclasses.fields(original["made"])] == []  # type: ignore[arg-type]
    rewritten, count = annotations_for_annotate(source)
    assert count == 1
    assert "Child.__annotations__ = wrapped_annotate(Format.FORWARDREF)" in rewritten
    namespace: dict[str, object] = {}
    exec(compile(rewritten, "<rewritten>", "exec", dont_inherit=True), namespace)  # noqa: S102 - our own test source
    assert [f.name for f in dataclasses.fields(namespace["made"])] == ["key"]  # type: ignore[arg-type]


def test_rewrite_module_says_what_it_changed() -> None:
    source = '"""Doc."""\nfrom annotationlib import Format\ntry:\n    pass\nexcept A, B:\n    pass\n'
    result = rewrite_module(source, add_future=True)
    assert result.changes == [
        "parenthesized 1 except clause(s)",
        "annotationlib from typing_extensions",
        "added the annotations future import",
    ]
    ast.parse(result.source)
    assert rewrite_module(result.source, add_future=True).changes == []
    assert rewrite_module("x = 1\n", add_future=False).changes == []


def test_a_site_packages_tree_is_rewritten_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    core = tmp_path / "homeassistant"
    core.mkdir()
    (core / "core.py").write_text('"""Core."""\ntry:\n    pass\nexcept A, B:\n    pass\n', encoding="utf-8")
    (core / "const.py").write_text("X: Later = 1\n", encoding="utf-8")
    other = tmp_path / "dependency"
    other.mkdir()
    (other / "bare.py").write_text("try:\n    pass\nexcept A, B:\n    pass\nx: Later = 1\n", encoding="utf-8")
    (other / "fine.py").write_text("x: int = 1\n", encoding="utf-8")

    assert main([str(tmp_path)]) == 0
    assert "modules: 3" in capsys.readouterr().out
    assert "except (A, B):" in (core / "core.py").read_text(encoding="utf-8")
    assert (core / "const.py").read_text(encoding="utf-8").startswith(FUTURE_IMPORT)
    bare = (other / "bare.py").read_text(encoding="utf-8")
    assert "except (A, B):" in bare
    assert FUTURE_IMPORT not in bare, "only Home Assistant's own modules get the future import"
    assert (other / "fine.py").read_text(encoding="utf-8") == "x: int = 1\n"
    assert (tmp_path / STAMP).exists()

    assert main([str(tmp_path)]) == 0
    assert "rewritten already" in capsys.readouterr().out


def test_a_tree_without_home_assistant_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no homeassistant package"):
        main([str(tmp_path)])
    assert main([]) == 2
