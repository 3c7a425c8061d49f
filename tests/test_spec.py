"""Bad input is rejected at the boundary with a message naming the field."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gui.cli import parser
from workers.fields import SpecError, check_folder, parse_size
from workers.names import DEFAULT_JOBS, MAX_SIZE, default_workers, max_workers, queue_roles, takes
from workers.spec import parse_spec


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("8MB", 8_000_000),
        ("512KiB", 524_288),
        ("1.5 GB", 1_500_000_000),
        ("1000", 1000),
        (0, 0),
        ("0", 0),
    ],
)
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text", ["12XB", "-1", "", "MB", "1e3", "nan", "inf", "9" * 5000, "17GiB", True]
)
def test_bad_sizes_name_the_field(text: object) -> None:
    with pytest.raises(SpecError) as info:
        parse_size(text)
    assert info.value.field == "size"


GOOD = {"workload": "cpu-python", "backend": "threading"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("workers", 0), ("workers", -3), ("workers", 10_001), ("workers", "1.5"), ("workers", math.nan),
        ("tasks", 0), ("tasks", 10_001), ("tasks", "many"), ("tasks", math.inf),
        ("size", "12XB"), ("latency_ms", -1), ("latency_ms", math.nan), ("latency_ms", 60_001),
        ("rate_mbps", -0.5), ("rate_mbps", math.inf), ("rate_mbps", "9" * 5000),
        ("workload", "cpu"), ("backend", "fork"),
    ],
)  # fmt: skip
def test_bad_fields_are_named(field: str, value: object) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec({**GOOD, field: value})
    assert info.value.field == field


@pytest.mark.parametrize(
    "url", ["ftp://x/y", "http://", "not a url", "http://h:99999/x", "javascript:x"]
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec({"workload": "download", "backend": "asyncio", "urls": [url]})
    assert info.value.field == "urls"


def test_folders(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    for bad, words in [(tmp_path / "missing", "does not exist"), (tmp_path / "file", "is a file")]:
        with pytest.raises(SpecError, match=words):
            check_folder(bad)
    assert check_folder(tmp_path) == tmp_path


fields = st.sampled_from(["workers", "tasks", "size", "latency_ms", "rate_mbps"])
values = st.one_of(
    st.integers(min_value=-(10**5000), max_value=10**5000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60),
    st.sampled_from(["12XB", "1e309", "-0", "0x10", " 8 MB ", "9" * 5000, "65", "10001", "17GiB"]),
    # and values near the ranges, as numbers and as typed text
    st.integers(min_value=-1, max_value=100),
    st.integers(min_value=-1, max_value=100).map(lambda n: f" {n} "),
    st.floats(min_value=0, max_value=70_000),
    st.floats(min_value=0, max_value=70_000).map(repr),
)


def as_typed(field: str, value: object) -> object:
    """What ``value`` typed into ``field`` means, worked out here without the parser."""
    if field == "size":
        return parse_size(DEFAULT_JOBS["cpu-python"]["size"] if value in (None, "") else value)
    if field in ("workers", "tasks"):
        if value in (None, ""):
            return {"workers": default_workers("cpu-python"), "tasks": 8}[field]
        return int(value.strip()) if isinstance(value, str) else value
    if not value:  # latency and rate: empty or zero is "none"
        return 0.0
    return float(value.strip()) if isinstance(value, str) else value


@settings(max_examples=300, deadline=None)
@given(field=fields, value=values)
def test_any_input_is_refused_by_name_or_taken_as_typed(field: str, value: object) -> None:
    try:
        spec = parse_spec({**GOOD, field: value})
    except SpecError as exc:
        assert exc.field == field
        assert str(exc).startswith(f"{field}: ")
        return
    assert getattr(spec, field) == as_typed(field, value)
    assert (spec.workload, spec.backend) == (GOOD["workload"], GOOD["backend"])
    assert 1 <= spec.workers <= max_workers(spec.backend) and 1 <= spec.tasks <= 10_000
    assert 0 <= spec.size <= MAX_SIZE
    assert math.isfinite(spec.latency_ms) and math.isfinite(spec.rate_mbps)


UNITS = {
    "": 1, "B": 1, "k": 10**3, "KB": 10**3, "KiB": 2**10, "m": 10**6, "MB": 10**6,
    "MiB": 2**20, "g": 10**9, "GB": 10**9, "GiB": 2**30,
}  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(unit=st.sampled_from(list(UNITS)), space=st.sampled_from(["", " "]), data=st.data())
def test_a_typed_size_is_that_many_bytes_and_one_more_unit_is_refused(
    unit: str, space: str, data
) -> None:
    most = MAX_SIZE // UNITS[unit]
    n = data.draw(st.integers(min_value=0, max_value=most))
    case = data.draw(st.sampled_from([str.lower, str.upper, str]))
    assert parse_size(f"{n}{space}{case(unit)}") == n * UNITS[unit]
    with pytest.raises(SpecError) as info:
        parse_size(f"{most + 1}{space}{case(unit)}")
    assert info.value.field == "size"


#: Command-line words: options, values good and bad.
WORDS = ["bench", "--workers", "--size", "--tasks", "--rate-mbps", "--workloads", "--backends",
         "-1", "nan", "12XB", "cpu", "x,y", "--quick", "--run", "cpu-python:nope", "--after",
         "inf", "2", "1MB", "cpu-python", "threading"]  # fmt: skip
NUMBERS = {"--workers": "workers", "--size": "size", "--tasks": "tasks", "--rate-mbps": "rate_mbps"}
#: The values among WORDS each field takes, and what they mean.
GOOD_VALUES = {("size", "1MB"): 1_000_000} | {(field, "2"): 2 for field in NUMBERS.values()}
bench_lines = st.builds(
    lambda quick, pairs: ["bench", *quick, *(word for pair in pairs for word in pair)],
    st.sampled_from([[], ["--quick"]]),
    st.lists(
        st.tuples(st.sampled_from(list(NUMBERS)), st.sampled_from(["2", "1MB", "-1", "nan"])),
        max_size=3,
    ),
)


@settings(max_examples=300, deadline=None)
@given(argv=st.one_of(st.lists(st.sampled_from(WORDS), max_size=6), bench_lines))
def test_the_command_line_refuses_nonsense_by_name_and_keeps_what_was_typed(
    argv: list[str],
) -> None:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            args = parser().parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 2 and "error:" in err.getvalue()
        return
    assert (args.command == "bench") == ("bench" in argv)
    if args.command != "bench":
        return
    from gui.bench import specs_from_args

    # The last value given to each number option, as the parser keeps it.
    typed = {NUMBERS[w]: argv[i + 1] for i, w in enumerate(argv[:-1]) if w in NUMBERS}
    try:
        specs = specs_from_args(args)
    except SpecError as exc:
        assert exc.field in typed, (exc, argv)  # the field the user typed, by name
        assert (exc.field, typed[exc.field]) not in GOOD_VALUES, (exc, argv)
        return
    # hybrid runs the pipeline only: among other pairs, the rest are left out
    assert len(specs) == sum(takes(b, w) for w in args.workloads for b in args.backends)
    for spec in specs:
        for field, text in typed.items():
            if (spec.workload, field) == ("queue", "tasks"):  # one per worker: see queue_roles
                assert spec.tasks == queue_roles(spec.backend, spec.workers), spec
                continue
            assert getattr(spec, field) == GOOD_VALUES[field, text], (field, spec)


def test_every_back_end_either_runs_in_another_python_or_says_why_not() -> None:
    from workers.names import ALL_BACKENDS, NOT_ELSEWHERE, PYTHON_BACKENDS

    assert set(NOT_ELSEWHERE).isdisjoint(PYTHON_BACKENDS)
    assert set(NOT_ELSEWHERE) | set(PYTHON_BACKENDS) == set(ALL_BACKENDS)
