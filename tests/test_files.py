"""Reading tables in: what a user sees when a file is wrong."""

from __future__ import annotations

import pytest

from evalink.errors import InputError
from evalink.files import read_table


def test_a_repeated_column_name_the_caller_expects_is_named(tmp_path):
    path = tmp_path / "extract.csv"
    path.write_text("record_id,surname,surname\n1,Quorndon,Quorndon\n")
    with pytest.raises(InputError, match=r"names column 'surname' twice \(columns 2 and 3\)"):
        read_table(path, known_columns={"record_id", "surname"})


def test_a_file_without_its_header_row_never_has_a_value_shown_as_a_name(tmp_path):
    # Exported without the header: the first person's details stand where names should.
    path = tmp_path / "extract.csv"
    path.write_text("17,Thistlewaite,Zephyrine,Thistlewaite\n18,Pennycuick,Quillon,Pennycuick\n")
    with pytest.raises(InputError) as refused:
        read_table(path, known_columns={"record_id", "surname"})
    assert "names one column twice (columns 2 and 4)" in str(refused.value)
    assert "Thistlewaite" not in str(refused.value)
