"""carbonrisk.models.files: the one reader of user files (exists, not a directory, UTF-8, comma-separated, TOML)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonrisk.models.exceptions import DataError, InputError
from carbonrisk.models.files import read_csv_text, read_text, read_toml, require_file


def test_missing_and_directory_are_told_apart(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"thing '.*nope' does not exist"):
        require_file(tmp_path / "nope", "thing")
    with pytest.raises(DataError, match=r"thing '.*' is a directory, expected a file"):
        require_file(tmp_path, "thing", DataError)


def test_undecodable_text_names_byte_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "gbk.toml"
    path.write_bytes(b'name = "' + "价".encode("gbk") + b'"\n')
    with pytest.raises(InputError, match=r"is not UTF-8 text \(byte 0xbc at offset 8 cannot be decoded\)"):
        read_text(path, "file")
    assert "价".encode("gbk")[0] == 0xBC


def test_bom_is_dropped_and_toml_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_bytes(b"\xef\xbb\xbfkey = 1\n")
    assert read_toml(path, "file")[0] == {"key": 1}
    path.write_text("key = \n")
    with pytest.raises(InputError, match=r"file '.*a\.toml': invalid TOML: .*line 1"):
        read_toml(path, "file")


@pytest.mark.parametrize(("text", "label"), [("a;b\n1;2\n", "semicolon"), ("a\tb\n1\t2\n", "tab"), ("a|b\n", "pipe")])
def test_other_separators_are_named(tmp_path: Path, text: str, label: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=rf"separated by {label}.*comma-separated file is required"):
        read_csv_text(path, "file")


def test_comma_file_with_semicolons_in_values_is_read(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('a,b\n1,"x;y"\n')
    assert read_csv_text(path, "file").to_dict(orient="list") == {"a": [1], "b": ["x;y"]}
    path.write_text("single\n1\n2\n")
    assert read_csv_text(path, "file")["single"].tolist() == [1, 2]
