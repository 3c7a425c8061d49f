"""Bad input is rejected at the boundary with a message naming the field."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gui.cli import parser
from workers.spec import MAX_SIZE, SpecError, check_folder, parse_size, parse_spec


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
        ("workers", 0), ("workers", -3), ("workers", 65), ("workers", "1.5"), ("workers", math.nan),
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
)


@settings(max_examples=300, deadline=None)
@given(field=fields, value=values)
def test_any_input_is_accepted_or_rejected_by_name(field: str, value: object) -> None:
    try:
        spec = parse_spec({**GOOD, field: value})
    except SpecError as exc:
        assert exc.field == field
    else:
        assert 1 <= spec.workers <= 64 and 1 <= spec.tasks <= 10_000
        assert 0 <= spec.size <= MAX_SIZE
        assert math.isfinite(spec.latency_ms) and math.isfinite(spec.rate_mbps)


@settings(max_examples=200, deadline=None)
@given(argv=st.lists(st.sampled_from(["bench", "--workers", "--size", "--tasks", "--rate-mbps",
                                     "--workloads", "--backends", "-1", "nan", "12XB", "cpu", "x,y",
                                     "--quick", "--run", "cpu-python:nope", "--after", "inf"]), max_size=6))  # fmt: skip
def test_cli_rejects_nonsense_with_a_message(argv: list[str]) -> None:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            args = parser().parse_args(argv)
    except SystemExit as exc:
        assert exc.code in (0, 2)  # 0: --help
        assert exc.code == 0 or "error:" in err.getvalue()
        return
    if args.command == "bench":
        from gui.bench import specs_from_args

        try:
            specs_from_args(args)
        except SpecError as exc:
            assert exc.field in {"workers", "tasks", "size", "latency_ms", "rate_mbps"}
