"""The EvalPlus problem sets shipped in the package, and EvalPlus's fields read from any file.

They read the files in ``pytest_humaneval/data`` (no ``../shared`` needed). The built-in
names are known to ``load_problems(..., evalplus=True)``, the plugin's way (it judges
EvalPlus's problems by inputs), so the command line takes them.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from support.problems import DEMO_PROBLEMS, DEMO_SAMPLES
from support.results import text_of
from support.sessions import SUBPROCESS_TIMEOUT

from pytest_humaneval.errors import InputError
from pytest_humaneval.evalplus_inputs import PLUS_FIELDS
from pytest_humaneval.loading import EVALPLUS_PROBLEMS, load_problems, shipped_problems_path
from pytest_humaneval.model import PlusTests, Problem

DATA = Path(shipped_problems_path("mbpp+")).parent


@pytest.fixture(scope="module")
def mbpp() -> dict[str, Problem]:
    return load_problems("mbpp+", evalplus=True).problems


@pytest.mark.parametrize(
    ("name", "count", "first", "has_test"),
    [
        ("humaneval+", 164, "HumanEval/0", True),
        ("humaneval+mini", 164, "HumanEval/0", False),
        ("mbpp+", 378, "Mbpp/2", False),
    ],
)
def test_builtin_names_load(name: str, count: int, first: str, has_test: bool) -> None:
    problem_set = load_problems(name, evalplus=True)
    problems = list(problem_set.problems.values())
    assert problem_set.source == name and not problem_set.evalplus_inputs
    assert len(problems) == count and problems[0].task_id == first
    assert all(problem.plus is not None for problem in problems)
    assert all(bool(problem.test) == has_test for problem in problems)
    kind = "mbpp" if name == "mbpp+" else "humaneval"
    assert {problem.plus.kind for problem in problems if problem.plus} == {kind}


def test_humaneval_plus_fields() -> None:
    problems = load_problems("humaneval+", evalplus=True).problems
    first = problems["HumanEval/0"]
    assert first.entry_point == "has_close_elements" and "def check(candidate)" in first.test
    assert first.plus is not None
    assert first.plus.base_inputs[:2] == [
        [[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3],
        [[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05],
    ]
    assert len(first.plus.base_inputs) == 7 and len(first.plus.plus_inputs) == 999
    tolerances = {
        task: problem.plus.atol for task, problem in problems.items() if problem.plus and problem.plus.atol
    }
    assert tolerances == {"HumanEval/2": 1e-06, "HumanEval/4": 1e-06, "HumanEval/32": 1e-04}


def _types(value: Any) -> Any:
    """The value's shape: its containers' types, down to the leaves' types."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_types(item) for item in value])
    if isinstance(value, dict):
        return ("dict", {key: _types(item) for key, item in value.items()})
    return type(value).__name__


# Checked by hand against EvalPlus 0.3.1's mbpp_deserialize_inputs (evalplus/data/mbpp.py).
MBPP_FIRST_INPUTS = {
    "Mbpp/2": [(3, 4, 5, 6), (5, 7, 4, 10)],
    "Mbpp/63": [[(3, 5), (1, 7), (10, 3), (1, 2)]],
    "Mbpp/75": [[(6, 24, 12), (7, 9, 6), (12, 18, 21)], 6],
    "Mbpp/106": [[5, 6, 7], (9, 10)],
    "Mbpp/124": [0.0, 1j],
    "Mbpp/252": [1 + 0j],
    "Mbpp/259": [((1, 3), (4, 5), (2, 9), (1, 10)), ((6, 7), (3, 9), (1, 1), (7, 3))],
    "Mbpp/278": [(1, 5, 7, (4, 6), 10)],
    "Mbpp/580": [(4, 5, (7, 6, (2, 4)), 6, 8)],
    "Mbpp/722": [
        {
            "Cierra Vega": (6.2, 70),
            "Alden Cantrell": (5.9, 65),
            "Kierra Gentry": (6.0, 68),
            "Pierre Cox": (5.8, 66),
        },
        6.0,
        70,
    ],
    "Mbpp/3": [1],  # not converted
}


@pytest.mark.parametrize("task_id", sorted(MBPP_FIRST_INPUTS))
def test_mbpp_inputs_are_converted_as_evalplus_does(mbpp: dict[str, Problem], task_id: str) -> None:
    plus = mbpp[task_id].plus
    assert plus is not None and plus.kind == "mbpp"
    expected = MBPP_FIRST_INPUTS[task_id]
    assert plus.base_inputs[0] == expected
    assert _types(plus.base_inputs[0]) == _types(expected)  # a tuple is not a list here
    assert all(_types(inputs)[0] == "list" for inputs in plus.base_inputs + plus.plus_inputs)


def test_mbpp_plus_inputs_converted_too(mbpp: dict[str, Problem]) -> None:
    plus = mbpp["Mbpp/124"].plus
    assert plus is not None and plus.plus_inputs
    assert all(_types(inputs) == ("list", ["float", "complex"]) for inputs in plus.plus_inputs)


def test_mbpp_empty_object_is_no_inputs(mbpp: dict[str, Problem]) -> None:
    """MBPP+ v0.2.0 writes ``Mbpp/793``'s ``plus_input`` as ``{}``: EvalPlus runs no input."""
    plus = mbpp["Mbpp/793"].plus
    assert plus is not None and plus.plus_inputs == [] and len(plus.base_inputs) == 3


def test_mbpp_sets(tmp_path: Path) -> None:
    """``Mbpp/115`` (not in v0.2.0) takes a list of sets; an empty list, or anything but a
    list, becomes an empty dict, as EvalPlus makes it."""
    changes = {"task_id": "Mbpp/115", "base_input": [[[[1, 2], []]]], "plus_input": [[[[3], "x"]]]}
    plus = load_problems(str(_evalplus_file(tmp_path, changes)), evalplus=True).problems["Mbpp/115"].plus
    assert plus is not None and plus.base_inputs == [[[{1, 2}, {}]]] and plus.plus_inputs == [[[{3}, {}]]]
    assert type(plus.base_inputs[0][0][1]) is dict


def test_problems_are_plain_data(mbpp: dict[str, Problem]) -> None:
    """They cross to xdist workers: pickled, or as plain dicts rebuilt field by field."""
    problem = mbpp["Mbpp/722"]
    assert pickle.loads(pickle.dumps(problem)) == problem
    assert problem.plus is not None
    assert PlusTests(**asdict(problem)["plus"]) == problem.plus


def test_humaneval_format_files_are_unchanged_by_evalplus() -> None:
    assert load_problems(str(DEMO_PROBLEMS), evalplus=True) == load_problems(str(DEMO_PROBLEMS))
    assert all(problem.plus is None for problem in load_problems(str(DEMO_PROBLEMS)).problems.values())


def test_without_evalplus_the_inputs_are_not_read() -> None:
    problem_set = load_problems(str(shipped_problems_path("humaneval+")))
    assert problem_set.evalplus_inputs
    assert all(problem.plus is None for problem in problem_set.problems.values())
    with pytest.raises(
        InputError, match=r"MbppPlus-v0\.2\.0\.jsonl\.gz:1: an EvalPlus problem without a 'test'"
    ):
        load_problems(str(shipped_problems_path("mbpp+")))


@pytest.mark.parametrize("name", sorted(EVALPLUS_PROBLEMS))
def test_builtin_names_need_evalplus(name: str) -> None:
    with pytest.raises(InputError, match=f"^{re.escape(name)}: cannot read"):
        load_problems(name)


def test_shipped_files_are_the_releases_the_readme_names() -> None:
    readme = (DATA / "README.md").read_text()
    for name, file_name in EVALPLUS_PROBLEMS.items():
        digest = hashlib.sha256((DATA / file_name).read_bytes()).hexdigest()
        assert f"| `{file_name}` | `{name}` |" in readme and digest in readme
    assert "Apache License" in (DATA / "LICENSE-EvalPlus").read_text()


# -- bad EvalPlus fields ------------------------------------------------------------------------


def _evalplus_file(tmp_path: Path, changes: dict[str, Any], drop: tuple[str, ...] = ()) -> Path:
    """A problem file of two EvalPlus problems, the second one changed by ``changes`` and
    without the fields ``drop``."""
    good = {
        "task_id": "Demo/0",
        "prompt": "def add(a, b):\n",
        "entry_point": "add",
        "canonical_solution": "    return a + b\n",
        "base_input": [[1, 2]],
        "plus_input": [[3, 4], [5, 6]],
        "atol": 0,
    }
    changed = {
        name: value for name, value in {**good, "task_id": "Demo/1", **changes}.items() if name not in drop
    }
    path = tmp_path / "plus.jsonl"
    path.write_text(f"{json.dumps(good)}\n{json.dumps(changed)}\n")
    return path


def test_atol_may_be_a_string(tmp_path: Path) -> None:
    path = _evalplus_file(tmp_path, {"atol": "1e-6"})
    plus = load_problems(str(path), evalplus=True).problems["Demo/1"].plus
    assert plus is not None and plus.atol == 1e-6 and plus.kind == "humaneval"


@pytest.mark.parametrize(
    ("changes", "drop", "message"),
    [
        ({}, ("atol",), "an EvalPlus problem needs 'base_input', 'plus_input', 'atol': missing 'atol'"),
        ({}, ("base_input",), "missing 'base_input'"),
        ({"base_input": "[[1, 2]]"}, (), "field 'base_input' must be a list of argument lists, found str"),
        (
            {"plus_input": {"a": [1, 2]}},
            (),
            "field 'plus_input' must be a list of argument lists, found dict",
        ),
        (
            {"plus_input": [[1, 2], 3]},
            (),
            "field 'plus_input': input 2 must be a list of arguments, found int",
        ),
        ({"atol": "close"}, (), "field 'atol' must be a number, found 'close'"),
        ({"atol": True}, (), "field 'atol' must be a number, found bool"),
        ({"atol": None}, (), "field 'atol' must be a number, found NoneType"),
        ({"atol": -1}, (), "field 'atol' must be a finite number >= 0, found -1.0"),
        ({"atol": "nan"}, (), "field 'atol' must be a finite number >= 0, found nan"),
        ({"task_id": "Mbpp/124", "plus_input": [["x", "1j"]]}, (), "field 'plus_input': an input is not of"),
        ({"task_id": "Mbpp/2", "base_input": [[1, 2]]}, (), "field 'base_input': an input is not of"),
        ({"entry_point": "add numbers"}, (), "entry_point 'add numbers' is not an identifier"),
        ({"test": "def chek(candidate):\n    pass\n"}, (), "the test code defines no 'check'"),
        ({}, ("prompt",), "missing field 'prompt'"),
    ],
)
def test_bad_evalplus_fields(
    tmp_path: Path, changes: dict[str, Any], drop: tuple[str, ...], message: str
) -> None:
    path = _evalplus_file(tmp_path, changes, drop)
    with pytest.raises(InputError) as raised:
        load_problems(str(path), evalplus=True)
    assert str(raised.value).startswith(f"{path}:2: ") and message in str(raised.value)


def test_plain_problem_without_test_in_an_evalplus_load(tmp_path: Path) -> None:
    """A problem without EvalPlus's fields still needs its test code."""
    path = _evalplus_file(tmp_path, {}, drop=PLUS_FIELDS)
    with pytest.raises(InputError, match=r":2: missing field 'test'$"):
        load_problems(str(path), evalplus=True)


# -- on the command line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first"), [("humaneval+", "HumanEval/0"), ("humaneval+mini", "HumanEval/0"), ("mbpp+", "Mbpp/2")]
)
def test_builtin_names_are_accepted_on_the_command_line(
    pytester: pytest.Pytester, name: str, first: str
) -> None:
    result = pytester.runpytest_subprocess(
        "--humaneval-samples=canonical",
        f"--humaneval-problems={name}",
        "--collect-only",
        "-q",
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines([f"{first}::{first}[[]0[]]"])
    assert "HumanEvalWarning" not in text_of(result)


def test_help_lists_the_builtin_names(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help", timeout=SUBPROCESS_TIMEOUT)
    assert result.ret == 0, text_of(result)
    text = " ".join(result.stdout.str().split())
    assert all(f"'{name}'" in text for name in EVALPLUS_PROBLEMS), text


def test_a_file_named_like_a_builtin_is_reached_by_its_path(pytester: pytest.Pytester) -> None:
    """The bare name is the built-in set; ``./mbpp+`` is the file."""
    (pytester.path / "mbpp+").write_bytes(DEMO_PROBLEMS.read_bytes())
    result = pytester.runpytest_subprocess(
        f"--humaneval-samples={DEMO_SAMPLES}",
        "--humaneval-problems=./mbpp+",
        "--collect-only",
        "-q",
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(["*Demo/0*"])
