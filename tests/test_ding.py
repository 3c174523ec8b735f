"""The loader of the Ding German-English sentences (Debian's trans-de-en)."""

import os
import re

import pytest

from kseq2seq.datasets import DING_PATH, load_ding_sentences

needs_ding = pytest.mark.skipif(
    not os.path.exists(DING_PATH), reason=f"{DING_PATH} missing (apt-get install trans-de-en)"
)


def test_ding_rule_on_made_up_lines(tmp_path):
    # Lines written for this test in the format of the dictionary (not taken from it).
    path = tmp_path / "de-en"
    path.write_text(
        "# comment :: line\n"
        "Hund {m} | Der Hund bellt laut. [ugs.] :: dog | The dog barks loudly.\n"
        "Katze {f} | Die Katze (im Haus) schläft gern.; Die Katze schläft viel. :: "
        "cat | The cat likes to sleep (indoors).\n"
        "Vogel {m} | Der Vogel singt/pfeift schön. :: bird | The bird sings nicely.\n"
        "etw. tun | Er tut etw. Gutes. :: to do sth. | He does sth. good.\n"
        "zu kurz | Komm her! :: too short | Come here!\n"
        "Hund {m} | Der Hund bellt laut. :: dog | The dog barks loudly.\n"
        "Maus {f} | Die Maus läuft schnell. | Mäuse {pl} :: mouse | The mouse runs fast.\n",
        encoding="utf-8",
    )
    assert load_ding_sentences(path) == [
        ("Der Hund bellt laut.", "The dog barks loudly."),
        ("Die Katze schläft gern.", "The cat likes to sleep."),
        ("Die Katze schläft viel.", "The cat likes to sleep."),
    ]
    assert load_ding_sentences(path, max_words=4) == [
        ("Der Hund bellt laut.", "The dog barks loudly."),
    ]


def test_ding_missing_file_says_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="trans-de-en") as info:
        load_ding_sentences(tmp_path / "nowhere")
    assert "nowhere" in str(info.value) and "tab-separated" in str(info.value)


def test_ding_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="max_words"):
        load_ding_sentences(tmp_path / "nowhere", max_words=0)
    not_ding = tmp_path / "notes.txt"
    not_ding.write_text("just some text\n", encoding="utf-8")
    with pytest.raises(ValueError, match="No sentence pairs found in .*notes.txt"):
        load_ding_sentences(not_ding)
    latin1 = tmp_path / "latin1"
    latin1.write_bytes("A :: B\nÜber :: over\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1:2: not valid UTF-8"):
        load_ding_sentences(latin1)


@needs_ding
def test_ding_sentences_from_the_installed_dictionary():
    pairs = load_ding_sentences()
    assert len(pairs) > 10000
    assert len(set(pairs)) == len(pairs)
    assert load_ding_sentences() == pairs  # deterministic
    for german, english in pairs:
        for text in (german, english):
            assert text and text == text.strip()
            assert not re.search(r"[{}\[\]<>()/]", text), text
            assert len(text.split()) >= 3 and text[-1] in ".!?\"'“”»«", text
        assert german.lstrip("„\"'‚»«")[0].isupper() or german[0].isdigit(), german
    short = load_ding_sentences(max_words=10)
    assert 5000 < len(short) < len(pairs)
    assert all(len(g.split()) <= 10 and len(e.split()) <= 10 for g, e in short)
    assert set(short) <= set(pairs)
