"""Every option: listed by ``pytest --help``, and a bad value of each, from the command line
or the ini file, is one usage error that names it and where it came from."""

from __future__ import annotations

import pytest
from sessions import copy_demo_files, run, text_of

from pytest_humaneval.settings import OPTIONS


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_every_option_and_ini_key(pytester: pytest.Pytester, flag: str) -> None:
    result = run(pytester, flag)
    assert result.ret == 0, text_of(result)
    text = text_of(result)
    for option in OPTIONS:
        assert option.cli in text, option.cli
        assert f"{option.ini} (" in text, option.ini
    assert "95% intervals" in text


BAD_VALUES = {
    "samples": ("missing.jsonl", "cannot read: No such file or directory"),
    "problems": ("missing.jsonl", "cannot read: No such file or directory"),
    "timeout": ("soon", "must be a positive number of seconds"),
    "k": ("0", "comma-separated list of positive integers"),
    "results": (".", "is a directory"),
    "json": (".", "is a directory"),
    "fail_under": ("pass@1=2", "must look like pass@K=FRACTION"),
    "memory": ("lots", "must be a positive integer"),
    "extract": ("sometimes", "must be 'auto' or 'none'"),
    "plot": ("plot.txt", ".png"),
    "report": ("everything", "must be one of: problems"),
    "stop": (",", "comma-separated stop sequences"),
}
FLAGS = [option.name for option in OPTIONS if option.flag]


def test_every_option_with_a_value_has_a_bad_value_here() -> None:
    assert set(BAD_VALUES) | set(FLAGS) == {option.name for option in OPTIONS}


def base_settings(name: str) -> dict[str, str]:
    """A runnable demo evaluation, without the setting under test."""
    settings = {"samples": "demo-samples.jsonl", "problems": "demo.jsonl", "timeout": "1"}
    settings.pop(name, None)
    return settings


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_bad_command_line_value_is_one_usage_error(pytester: pytest.Pytester, name: str) -> None:
    copy_demo_files(pytester.path)
    value, detail = BAD_VALUES[name]
    option = next(option for option in OPTIONS if option.name == name)
    args = [f"--humaneval-{key.replace('_', '-')}={v}" for key, v in base_settings(name).items()]
    result = run(pytester, *args, f"{option.cli}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1, text_of(result)
    assert detail in errors[0]
    assert "Traceback" not in text_of(result)
    assert f"{option.cli}={value} (from command line)" in errors[0]


@pytest.mark.parametrize("name", sorted(BAD_VALUES) + FLAGS)
def test_bad_ini_value_is_one_usage_error_naming_the_ini_file(pytester: pytest.Pytester, name: str) -> None:
    copy_demo_files(pytester.path)
    value, detail = BAD_VALUES.get(name, ("maybe", "invalid truth value 'maybe'"))
    option = next(option for option in OPTIONS if option.name == name)
    lines = [f"humaneval_{key} = {v}" for key, v in base_settings(name).items()]
    ini = pytester.makeini("[pytest]\n" + "\n".join([*lines, f"{option.ini} = {value}"]) + "\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1, text_of(result)
    assert detail in errors[0]
    assert "Traceback" not in text_of(result)
    assert option.ini in errors[0] and f"(from {ini.name})" in errors[0]


PATH_OPTIONS = ["samples", "problems", "results", "json", "plot"]


@pytest.mark.parametrize("name", PATH_OPTIONS)
def test_an_empty_path_is_a_usage_error_before_anything_runs(pytester: pytest.Pytester, name: str) -> None:
    copy_demo_files(pytester.path)
    option = next(option for option in OPTIONS if option.name == name)
    args = [f"--humaneval-{key}={v}" for key, v in base_settings(name).items()]
    result = run(pytester, *args, f"{option.cli}=")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR:")]
    assert errors == [f"ERROR: {option.cli}= (from command line): must be a path"], text_of(result)


@pytest.mark.parametrize("command", ["--help", "--markers", "--fixtures"])
def test_a_bad_setting_does_not_hide_the_help(pytester: pytest.Pytester, command: str) -> None:
    pytester.makeini("[pytest]\nhumaneval_k = 0\nhumaneval_timeout = abc\n")
    result = run(pytester, command, "--humaneval-memory=lots")
    assert result.ret == 0, text_of(result)


def test_huge_ini_values_get_short_errors_at_once(pytester: pytest.Pytester) -> None:
    """A 1 MB line: the error quotes 200 characters (a line of shell-like words would have
    been split in time quadratic in its length: minutes, past the session's timeout)."""
    copy_demo_files(pytester.path)
    huge = "x" * 1_000_000
    for key in ("humaneval_fail_under", "humaneval_strict", "humaneval_samples"):
        settings = {"humaneval_problems": "demo.jsonl", "humaneval_samples": "demo-samples.jsonl", key: huge}
        pytester.makeini("[pytest]\n" + "".join(f"{name} = {value}\n" for name, value in settings.items()))
        result = run(pytester)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, key
        errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR:")]
        assert len(errors) == 1 and len(errors[0]) < 1000, (key, errors[0][:300])
        assert "more characters" in errors[0], (key, errors[0][:300])
