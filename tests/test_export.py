from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from tracker import export


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@SUM(1,2)", "'@SUM(1,2)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("\nx", "'\nx"),
        ("   =HYPERLINK(\"x\")", "'   =HYPERLINK(\"x\")"),
        ("Taiwan = island", "Taiwan = island"),
        ("", ""),
        (42, 42),
        (None, None),
    ],
)
def test_neutralise(cell: object, expected: object) -> None:
    assert export.neutralise(cell) == expected


def test_csv_columns_and_round_trip() -> None:
    frame = pd.DataFrame({
        "id": ["a1", "b2"],
        "published": pd.to_datetime(["2024-05-23T08:00:00Z", "2021-11-16T01:00:00Z"], utc=True),
        "source": ["feed-a", "feed-b"],
        "title": ['=cmd|" /C calc"!A0', "Quotes \"inside\", and, commas"],
        "link": ["https://a.example/1", "https://b.example/2"],
        "topics": ["taiwan;talks", ""],
        "summary": ["line one\nline two", "-5 degrees"],
        "language": ["en", "zh"],
        "published_is_fallback": [False, True],
        "terms": ["taiwan: Taiwan Strait; talks: defence chiefs", ""],
    })
    data = export.to_csv_bytes(export.export_frame(frame))
    text = data.decode("utf-8")
    header = next(csv.reader(io.StringIO(text)))
    assert header[:7] == ["id", "published", "source", "title", "link", "topics", "summary"]
    back = pd.read_csv(io.BytesIO(data), keep_default_na=False)
    assert len(back) == 2
    assert back.loc[0, "title"] == "'=cmd|\" /C calc\"!A0"
    assert back.loc[1, "title"] == 'Quotes "inside", and, commas'
    assert back.loc[1, "summary"] == "'-5 degrees"
    assert back.loc[0, "published"] == "2024-05-23T08:00:00Z"
    assert back.loc[0, "topics"] == "taiwan;talks"
    # No cell in the file starts with a formula character.
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r", "\n")), cell


def test_chinese_text_is_utf8() -> None:
    frame = pd.DataFrame({"title": ["解放军在台海举行演习"]})
    assert "解放军在台海举行演习".encode() in export.to_csv_bytes(frame)
