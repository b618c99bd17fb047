"""Every option: listed by ``pytest --help``, and a bad value of each, from the command line
or the ini file, is one usage error that names it and where it came from. The ini keys set
what the options set, relative to the ini file, and the command line wins."""

from __future__ import annotations

import pytest
from support.problems import DEMO_COUNTS, DEMO_FAILING, copy_demo_files
from support.results import error_lines, read_json, read_results, table_counts, text_of
from support.sessions import RunHumaneval, demo_args

from pytest_humaneval.options import OPTIONS


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_every_option_and_ini_key(run_humaneval: RunHumaneval, flag: str) -> None:
    result = run_humaneval(flag)
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
    "shard": ("0/2", "I must be from 1 to N (2)"),
    "servers": ("two", "must be a number of servers from 1 to 256, or auto"),
    "merge": ("missing.jsonl", "cannot read: No such file or directory"),
    "rank": ("1x", "must be the name of a numeric field of the samples"),
    "rank_missing": ("ignore", "must be one of: error, exclude"),
    "temperature": ("hot", "must be a comma-separated list of temperatures"),
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
def test_bad_command_line_value_is_one_usage_error(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, name: str
) -> None:
    copy_demo_files(pytester.path)
    value, detail = BAD_VALUES[name]
    option = next(option for option in OPTIONS if option.name == name)
    args = [f"--humaneval-{key.replace('_', '-')}={v}" for key, v in base_settings(name).items()]
    result = run_humaneval(*args, f"{option.cli}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert len(errors) == 1, text_of(result)
    assert detail in errors[0]
    assert "Traceback" not in text_of(result)
    assert f"{option.cli}={value} (from command line)" in errors[0]


@pytest.mark.parametrize("name", sorted(BAD_VALUES) + FLAGS)
def test_bad_ini_value_is_one_usage_error_naming_the_ini_file(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, name: str
) -> None:
    copy_demo_files(pytester.path)
    value, detail = BAD_VALUES.get(name, ("maybe", "invalid truth value 'maybe'"))
    option = next(option for option in OPTIONS if option.name == name)
    lines = [f"humaneval_{key} = {v}" for key, v in base_settings(name).items()]
    ini = pytester.makeini("[pytest]\n" + "\n".join([*lines, f"{option.ini} = {value}"]) + "\n")
    result = run_humaneval()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert len(errors) == 1, text_of(result)
    assert detail in errors[0]
    assert "Traceback" not in text_of(result)
    assert option.ini in errors[0] and f"(from {ini.name})" in errors[0]


PATH_OPTIONS = ["samples", "problems", "results", "json", "plot"]


@pytest.mark.parametrize("name", PATH_OPTIONS)
def test_an_empty_path_is_a_usage_error_before_anything_runs(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, name: str
) -> None:
    copy_demo_files(pytester.path)
    option = next(option for option in OPTIONS if option.name == name)
    args = [f"--humaneval-{key}={v}" for key, v in base_settings(name).items()]
    result = run_humaneval(*args, f"{option.cli}=")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert errors == [f"ERROR: {option.cli}= (from command line): must be a path"], text_of(result)


@pytest.mark.parametrize("command", ["--help", "--markers", "--fixtures"])
def test_a_bad_setting_does_not_hide_the_help(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, command: str
) -> None:
    pytester.makeini("[pytest]\nhumaneval_k = 0\nhumaneval_timeout = abc\n")
    result = run_humaneval(command, "--humaneval-memory=lots")
    assert result.ret == 0, text_of(result)


def test_huge_ini_values_get_short_errors_at_once(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    """A 1 MB line: the error quotes 200 characters (a line of shell-like words would have
    been split in time quadratic in its length: minutes, past the session's timeout)."""
    copy_demo_files(pytester.path)
    huge = "x" * 1_000_000
    for key in ("humaneval_fail_under", "humaneval_strict", "humaneval_samples"):
        settings = {"humaneval_problems": "demo.jsonl", "humaneval_samples": "demo-samples.jsonl", key: huge}
        pytester.makeini("[pytest]\n" + "".join(f"{name} = {value}\n" for name, value in settings.items()))
        result = run_humaneval()
        assert result.ret == pytest.ExitCode.USAGE_ERROR, key
        errors = error_lines(result)
        assert len(errors) == 1 and len(errors[0]) < 1000, (key, errors[0][:300])
        assert "more characters" in errors[0], (key, errors[0][:300])


# -- values checked one by one -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("pass@1", "must look like pass@K=FRACTION"),
        ("p1=0.5", "must look like pass@K=FRACTION"),
        ("pass@0=0.5", "with K >= 1"),
        ("pass@1=1.5", "a fraction from 0 to 1"),
        ("pass@x=0.5", "must look like pass@K=FRACTION"),
        ("pass@1=half", "must look like pass@K=FRACTION"),
    ],
)
def test_bad_fail_under_is_a_usage_error(run_humaneval: RunHumaneval, value: str, detail: str) -> None:
    result = run_humaneval(*demo_args(f"--humaneval-fail-under={value}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert len(errors) == 1, text_of(result)
    assert f"--humaneval-fail-under={value} (from command line)" in errors[0]
    assert detail in errors[0]
    assert "Traceback" not in text_of(result)


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "", "86401", "1e9"])
def test_bad_timeout_is_a_usage_error(run_humaneval: RunHumaneval, value: str) -> None:
    args = [a for a in demo_args() if not a.startswith("--humaneval-timeout")]
    result = run_humaneval(*args, f"--humaneval-timeout={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert len(errors) == 1, text_of(result)
    assert f"--humaneval-timeout={value} (from command line)" in errors[0]


@pytest.mark.parametrize("value", ["0", "1,x", ","])
def test_bad_k_is_a_usage_error(run_humaneval: RunHumaneval, value: str) -> None:
    result = run_humaneval(*demo_args(f"--humaneval-k={value}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert len(errors) == 1 and f"--humaneval-k={value} (from command line)" in errors[0], text_of(result)


@pytest.mark.parametrize(
    ("key", "value"), [("humaneval_timeout", "soon"), ("humaneval_fail_under", "pass@1=2")]
)
def test_bad_ini_value_names_the_ini_file(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, key: str, value: str
) -> None:
    ini = pytester.makeini(f"[pytest]\n{key} = {value}\n")
    args = [a for a in demo_args() if not a.startswith("--humaneval-timeout")]
    result = run_humaneval(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert len(errors) == 1, text_of(result)
    assert f"(from {ini.name})" in errors[0]
    assert f"{key}={value}" in errors[0]


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("0/2", "I must be from 1 to N (2): shards are numbered 1/2 to 2/2"),
        ("3/2", "I must be from 1 to N (2): shards are numbered 1/2 to 2/2"),
        ("a", "must be I/N, shard I of N (whole numbers, 1 <= I <= N), e.g. 1/4"),
        ("1/0", "N, the number of shards, must be at least 1"),
        ("1/", "must be I/N"),
        ("-1/2", "must be I/N"),
        ("1.5/2", "must be I/N"),
    ],
)
@pytest.mark.parametrize("where", ["command line", "ini file"])
def test_bad_shard_is_one_usage_error_before_anything_runs(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, value: str, detail: str, where: str
) -> None:
    copy_demo_files(pytester.path)
    settings = [*base_settings("shard").items(), ("results", "results.jsonl")]
    if where == "command line":
        result = run_humaneval(
            *(f"--humaneval-{key}={v}" for key, v in settings), f"--humaneval-shard={value}"
        )
        given = f"--humaneval-shard={value} (from command line): {detail}"
    else:
        lines = [f"humaneval_{key} = {v}" for key, v in settings] + [f"humaneval_shard = {value}"]
        ini = pytester.makeini("[pytest]\n" + "\n".join(lines) + "\n")
        result = run_humaneval()
        given = f"humaneval_shard={value} (from {ini.name}): {detail}"
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert len(errors) == 1 and given in errors[0], text_of(result)
    assert not (pytester.path / "results.jsonl").exists()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--humaneval-shard=1/2"],
            "ERROR: --humaneval-shard (from command line) needs --humaneval-results (or humaneval_results): "
            "--humaneval-merge builds the whole run from each shard's results file",
        ),
        (
            ["--humaneval-shard=1/2", "--humaneval-results=r.jsonl", "--humaneval-merge=demo.jsonl"],
            "ERROR: --humaneval-shard (from command line) cannot go with --humaneval-merge (from command "
            "line): a session runs a shard or merges them",
        ),
        (
            ["--humaneval-merge=demo.jsonl"],
            "ERROR: --humaneval-samples (from command line) cannot go with --humaneval-merge (from command "
            "line): the merge runs no sample, and the shards' results files name their samples files",
        ),
    ],
    ids=["shard-without-results", "shard-and-merge", "samples-and-merge"],
)
def test_shard_and_merge_settings_that_cannot_go_together(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, args: list[str], error: str
) -> None:
    copy_demo_files(pytester.path)
    result = run_humaneval(*(f"--humaneval-{key}={v}" for key, v in base_settings("").items()), *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    assert error_lines(result) == [error], text_of(result)


def test_merge_patterns_are_checked_before_anything_runs(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    """A pattern must match a file (an ini file's patterns are relative to it), and no output
    may overwrite a file the merge reads."""
    (pytester.path / "shard-1.jsonl").write_text("{}\n")
    result = run_humaneval("--humaneval-merge=none-*.jsonl")
    assert error_lines(result) == [
        "ERROR: --humaneval-merge=none-*.jsonl (from command line): no file matches"
    ]
    ini = pytester.makeini("[pytest]\nhumaneval_merge = none-*.jsonl\n")
    result = run_humaneval()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    assert error_lines(result) == [
        f"ERROR: humaneval_merge={pytester.path / 'none-*.jsonl'} (from {ini.name}): no file matches"
    ]
    result = run_humaneval("--humaneval-merge", "shard-*.jsonl", "--humaneval-results=shard-1.jsonl")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    assert error_lines(result) == [
        "ERROR: --humaneval-results=shard-1.jsonl (from command line): would overwrite the shard's "
        "results file shard-1.jsonl"
    ]
    assert (pytester.path / "shard-1.jsonl").read_text() == "{}\n"


# -- ini keys ------------------------------------------------------------------------------------------------


DEMO_INI = """
[pytest]
humaneval_problems = demo.jsonl
humaneval_samples = demo-samples.jsonl
humaneval_timeout = 1
humaneval_k = 1, 2
humaneval_fail_under = pass@1=0.4 pass@2=0.9
humaneval_json = summary.json
humaneval_results = results.jsonl
humaneval_memory = 2048
humaneval_stop = \\nclass,\\ndef
"""


def test_ini_keys(pytester: pytest.Pytester, run_humaneval: RunHumaneval) -> None:
    copy_demo_files(pytester.path)
    pytester.makeini(DEMO_INI)
    result = run_humaneval()
    # pass@2 = (1 + 1 + 2/3 + 2/3) / 4 = 0.8333 < 0.9
    assert result.ret == 1, text_of(result)
    result.stdout.fnmatch_lines(
        [
            "pass@k    pass@1 0.5000  pass@2 0.8333",
            "pass@1 = 0.5000 meets humaneval_fail_under 0.4",
            "FAIL: pass@2 = 0.8333 is below humaneval_fail_under 0.9",
        ]
    )
    summary = read_json(pytester.path / "summary.json")
    assert summary["settings"] == {
        "samples": str(pytester.path / "demo-samples.jsonl"),
        "problems": str(pytester.path / "demo.jsonl"),
        "timeout": 1.0,
        "k": [1, 2],
        "memory_mb": 2048,
        "strict": False,
        "fail_under": {"pass@1": 0.4, "pass@2": 0.9},
        "allow_partial": False,
        "stop": ["\nclass", "\ndef"],
        "extract": "none",
    }
    assert summary["pass_at_k"] == pytest.approx({"pass@1": 0.5, "pass@2": 5 / 6}, abs=1e-12)
    assert len(read_results(pytester.path / "results.jsonl")) == 12


def test_ini_strict_flag_and_command_line_wins(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    copy_demo_files(pytester.path)
    pytester.makeini(
        DEMO_INI.replace("humaneval_fail_under = pass@1=0.4 pass@2=0.9\n", "") + "humaneval_strict = true\n"
    )
    result = run_humaneval("--humaneval-k=1,3")
    assert result.ret == 1, text_of(result)
    failed = sorted(line.split()[1] for line in result.outlines if line.startswith("FAILED "))
    assert failed == sorted(DEMO_FAILING)
    summary = read_json(pytester.path / "summary.json")
    assert summary["settings"]["k"] == [1, 3]
    assert summary["settings"]["strict"] is True
    assert list(summary["pass_at_k"]) == ["pass@1", "pass@3"]


def test_ini_paths_are_relative_to_the_ini_file(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_demo_files(pytester.path)
    pytester.makeini(DEMO_INI)
    subdirectory = pytester.mkdir("sub")
    monkeypatch.chdir(subdirectory)
    result = run_humaneval()
    assert not error_lines(result), text_of(result)
    assert table_counts(result) == DEMO_COUNTS
