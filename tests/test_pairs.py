"""Reading pair files: TSV, two aligned files, lists, malformed input, splits."""

import pytest

from kseq2seq.data import (
    MalformedPairsError,
    pairs_from_lists,
    read_pairs,
    read_parallel_files,
    split_pairs,
)


def test_tsv_with_extra_columns_bom_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(
        "\ufeffLe chat.\tThe cat.\tCC-BY 2.0 (France) Attribution\r\n"
        "\n"
        "Où es-tu ?\tWhere are you?\r\n".encode()
    )
    pairs = read_pairs(path)
    assert pairs == [("Le chat.", "The cat."), ("Où es-tu ?", "Where are you?")]
    assert pairs.skipped_lines == []


def test_malformed_line_is_named_by_number(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tb\nno tab here\nc\td\n\t\te\n", encoding="utf-8")
    with pytest.raises(MalformedPairsError, match=r"pairs.tsv:2: no tab"):
        read_pairs(path)
    pairs = read_pairs(path, skip_malformed=True)
    assert pairs == [("a", "b"), ("c", "d")]
    assert pairs.skipped_lines == [2, 4]


def test_non_utf8_file_is_an_error_with_its_line(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes(b"ok\tfine\n" + "caf\xe9\tcoffee\n".encode("latin-1"))
    with pytest.raises(MalformedPairsError, match=r"latin1.tsv:2: not valid UTF-8"):
        read_pairs(path)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(MalformedPairsError, match="no source-target pairs"):
        read_pairs(empty)
    with pytest.raises(FileNotFoundError, match="missing.tsv"):
        read_pairs(tmp_path / "missing.tsv")


def test_two_aligned_files(tmp_path):
    (tmp_path / "src.txt").write_text("un\ndeux\n", encoding="utf-8")
    (tmp_path / "tgt.txt").write_text("one\ntwo\n", encoding="utf-8")
    assert read_parallel_files(tmp_path / "src.txt", tmp_path / "tgt.txt") == [
        ("un", "one"),
        ("deux", "two"),
    ]
    (tmp_path / "short.txt").write_text("one\n", encoding="utf-8")
    with pytest.raises(MalformedPairsError, match="2 lines.*1"):
        read_parallel_files(tmp_path / "src.txt", tmp_path / "short.txt")


def test_lists():
    assert pairs_from_lists(["a"], ["b"]) == [("a", "b")]
    with pytest.raises(ValueError, match="differ in length"):
        pairs_from_lists(["a", "b"], ["c"])
    with pytest.raises(TypeError, match="pair 0"):
        pairs_from_lists([1], ["c"])
    with pytest.raises(TypeError, match="not strings"):
        pairs_from_lists("ab", "cd")


def test_split_is_reproducible_and_disjoint():
    pairs = [(f"s{i}", f"t{i}") for i in range(100)]
    train, validation, test = split_pairs(pairs, validation=0.1, test=5, seed=3)
    assert (len(train), len(validation), len(test)) == (85, 10, 5)
    assert sorted(train + validation + test) == sorted(pairs)
    again = split_pairs(pairs, validation=0.1, test=5, seed=3)
    assert again == (train, validation, test)
    assert split_pairs(pairs, validation=0.1, test=5, seed=4)[0] != train
    with pytest.raises(ValueError, match="keep any"):
        split_pairs(pairs[:3], validation=2, test=1)
    with pytest.raises(ValueError, match="validation"):
        split_pairs(pairs, validation=-1)
