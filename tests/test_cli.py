"""The kseq2seq command, end to end on a tiny corpus."""

import shutil
import subprocess
import sys

import pytest

from kseq2seq import Translator
from kseq2seq.cli import main
from kseq2seq.datasets import default_corpus, save_tsv

SMALL_MODEL = ["--units", "32", "--embedding-dim", "16", "--attention", "bahdanau"]
# For tests of what `train` saves, not of how it trains: one step (of one batch shape, which
# JAX compiles once), no validation.
ONE_STEP = ["--epochs", "1", "--batch-size", "128", "--validation", "0", "--verbose", "0"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cli")
    pairs = directory / "pairs.tsv"
    save_tsv(default_corpus("train")[:300], pairs)
    test = directory / "test.tsv"
    save_tsv(default_corpus("test")[:20], test, alignment=True)
    output = directory / "model"
    code = main(
        ["train", str(pairs), "--output", str(output), "--epochs", "1", "--word-dropout", "0.1"]
        + SMALL_MODEL
    )
    assert code == 0
    return directory, output, test


def test_help_everywhere(capsys):
    result = subprocess.run(
        [sys.executable, "-m", "kseq2seq", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "usage: kseq2seq" in result.stdout
    for command in ("demo", "train", "translate", "evaluate", "export", "attention"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: kseq2seq {command}" in capsys.readouterr().out


def test_train_saves_a_translator_and_cleans_up(trained):
    directory, output, _ = trained
    assert (output / "translator.json").is_file()
    assert (output / "model.keras").is_file()
    assert not (directory / "model.partial").exists()
    assert Translator.load(output).config.word_dropout == 0.1


def test_train_keeps_the_target_case_by_default(trained):
    _, output, _ = trained
    translator = Translator.load(output)
    assert translator.source_tokenizer.lowercase and not translator.target_tokenizer.lowercase
    assert "The" in translator.target_tokenizer.vocabulary


def test_lowercasing_from_a_config_file_and_the_command_line(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    save_tsv(default_corpus("train")[:100], pairs)
    config = tmp_path / "config.json"
    config.write_text('{"lowercase": false, "target_lowercase": true, "units": 16}')
    output = tmp_path / "model"
    arguments = ["train", str(pairs), "--output", str(output), "--config", str(config)]
    # The command line wins over the config file.
    assert main([*arguments, *ONE_STEP, "--lowercase-source"]) == 0
    translator = Translator.load(output)
    assert translator.source_tokenizer.lowercase and translator.target_tokenizer.lowercase
    assert "The" not in translator.target_tokenizer.vocabulary
    assert translator.config.units == 16
    config.write_text('{"target_lowercase": "yes"}')
    assert main([*arguments, "--epochs", "1", "--output", str(tmp_path / "other")]) == 2
    assert "target_lowercase must be True or False" in capsys.readouterr().err
    # A config file that is missing, or not JSON / YAML: a clear error, before any training.
    for name, text, message in [
        ("missing.json", None, "No such config file"),
        ("bad.json", '{"units": 16,}', "bad.json: not valid JSON"),
        ("bad.yaml", "units: [16\n", "bad.yaml: not valid YAML"),
    ]:
        file = tmp_path / name
        if text is not None:
            file.write_text(text)
        arguments = ["train", str(pairs), "--output", str(tmp_path / "x"), "--config", str(file)]
        assert main(arguments) == 2
        assert message in capsys.readouterr().err


def test_train_with_a_shared_vocabulary(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    save_tsv(default_corpus("train")[:100], pairs)
    output = tmp_path / "model"
    arguments = ["train", str(pairs), *ONE_STEP, "--units", "16"]
    options = ["--shared-vocabulary", "--tokenizer", "subword", "--vocab-size", "300"]
    assert main([*arguments, "--output", str(output), *options]) == 0
    translator = Translator.load(output)
    assert translator.source_tokenizer.vocabulary == translator.target_tokenizer.vocabulary
    assert not translator.source_tokenizer.lowercase  # one casing: the target's
    assert translator.config.share_embeddings
    # A config file may keep the embeddings apart; asking two casings is an error.
    config = tmp_path / "config.yaml"
    config.write_text("shared_vocabulary: true\nshare_embeddings: false\n")
    other = tmp_path / "other"
    assert main([*arguments, "--output", str(other), "--config", str(config)]) == 0
    translator = Translator.load(other)
    assert translator.source_tokenizer.vocabulary == translator.target_tokenizer.vocabulary
    assert not translator.config.share_embeddings
    assert main([*arguments, "--output", str(other), *options, "--lowercase-source"]) == 2
    assert "two casings" in capsys.readouterr().err


def test_from_pairs_keeps_the_target_case_by_default():
    pairs = [(e.source, e.target) for e in default_corpus("train")[:50]]
    translator = Translator.from_pairs(pairs, embedding_dim=8, units=8)
    assert translator.source_tokenizer.lowercase and not translator.target_tokenizer.lowercase
    lowered = Translator.from_pairs(pairs, target_lowercase=True, embedding_dim=8, units=8)
    assert lowered.target_tokenizer.lowercase


def test_bleu_and_chrf_are_case_sensitive():
    from kseq2seq.training.metrics import corpus_bleu, corpus_chrf

    references = ["The European Economic Area supports the three banks."]
    assert corpus_bleu(references, references) == pytest.approx(100.0)
    assert corpus_bleu([references[0].lower()], references) < 100.0
    assert corpus_chrf([references[0].lower()], references) < corpus_chrf(references, references)


def test_translate_arguments_and_stdin(trained, capsys, monkeypatch):
    _, output, _ = trained
    assert main(["translate", "--model", str(output), "Le chat noir.", "La souris."]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("Le chat.\n\nLa souris.\n"))
    assert main(["translate", "--model", str(output)]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert len(lines) == 4 and lines[1] == ""  # one line per input line, blank stays blank


def test_evaluate_prints_bleu_and_chrf(trained, capsys):
    _, output, test = trained
    assert main(["evaluate", "--model", str(output), str(test)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("BLEU ") and "\nchrF " in out
    aer = float(out.split("AER ")[1].split()[0])  # the file carries gold alignments
    assert 0.0 <= aer <= 1.0


def test_malformed_pairs_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("un\tone\ndeux two\n", encoding="utf-8")
    code = main(["train", str(bad), "--output", str(tmp_path / "out"), "--epochs", "1"])
    assert code == 2
    assert "bad.tsv:2: no tab" in capsys.readouterr().err
    assert main(["translate", "--model", str(tmp_path / "nowhere"), "x"]) == 2
    assert "not a saved Translator" in capsys.readouterr().err


def test_train_resumes_from_its_partial_state(trained, tmp_path, capsys):
    directory, trained_output, _ = trained
    pairs = directory / "pairs.tsv"  # the pairs `trained` was trained on
    output = tmp_path / "model"
    shutil.copytree(trained_output, output)  # a copy: other tests read the original
    # The state an interrupted run leaves: tokenizers and config beside the output.
    partial = tmp_path / "model.partial"
    first = Translator.load(output)
    partial.mkdir()
    first.config.save(partial / "config.json")
    first.source_tokenizer.save(partial / "source_tokenizer")
    first.target_tokenizer.save(partial / "target_tokenizer")
    command = ["train", str(pairs), "--output", str(output), "--epochs", "1"]
    # A state made before the options were recorded: its model's options are compared.
    assert main([*command, "--units", "64"]) == 2
    assert "--units: 32 then, 64 now" in capsys.readouterr().err
    assert main([*command, "--word-dropout", "0.1", *SMALL_MODEL]) == 0
    assert "Resuming" in capsys.readouterr().out
    assert Translator.load(output).config == first.config
    assert not partial.exists()


def test_resuming_with_other_options_is_refused_and_restart_discards(tmp_path, capsys, monkeypatch):
    import signal

    from kseq2seq.training import TrainingInterrupted

    pairs = tmp_path / "pairs.tsv"
    save_tsv(default_corpus("train")[:60], pairs)
    output, partial = tmp_path / "model", tmp_path / "model.partial"
    command = ["train", str(pairs), "--output", str(output), "--validation", "0", "--verbose", "0"]
    first = ["--units", "16", "--embedding-dim", "8", "--attention", "luong_general"]
    first += ["--batch-size", "64"]

    def interrupted(self, *args, **kwargs):
        raise TrainingInterrupted(signal.SIGINT, partial, 0, 1)

    monkeypatch.setattr(Translator, "fit", interrupted)
    assert main([*command, *first]) == 128 + signal.SIGINT
    assert (partial / "options.json").is_file()
    capsys.readouterr()

    other = ["--units", "32", "--embedding-dim", "8", "--attention", "bahdanau"]
    other += ["--batch-size", "16", "--lowercase-target"]
    assert main([*command, *other]) == 2
    error = capsys.readouterr().err
    assert "holds an interrupted run made with other options" in error
    for line in (
        "--attention: luong_general then, bahdanau now",
        "--units: 16 then, 32 now",
        "--batch-size: 64 then, 16 now",
        "--lowercase-target: off then, on now",
        "--restart",
    ):
        assert line in error
    assert "--embedding-dim" not in error  # the same
    assert partial.exists() and not output.exists()

    pairs.write_text(pairs.read_text(encoding="utf-8") + "un chat\ta cat\n", encoding="utf-8")
    assert main([*command, *first]) == 2
    assert "PAIRS: not the file" in capsys.readouterr().err

    monkeypatch.setattr(Translator, "fit", lambda self, *args, **kwargs: None)
    assert main([*command, *other, "--restart"]) == 0
    assert "Discarded the interrupted run" in capsys.readouterr().out
    saved = Translator.load(output)
    assert saved.config.attention == "bahdanau" and saved.config.units == 32
    assert saved.target_tokenizer.lowercase and not partial.exists()


@pytest.mark.slow
def test_demo_quick(tmp_path, capsys):
    output = tmp_path / "demo"
    assert (
        main(["demo", "--quick", "--epochs", "1", "--output", str(output), "--verbose", "0"]) == 0
    )
    out = capsys.readouterr().out
    assert "Test BLEU" in out
    assert (output / "attention.png").stat().st_size > 5000
    assert (output / "translator.json").is_file()


def test_translate_cuts_a_paragraph_into_sentences_unless_asked_not_to(trained, capsys):
    _, output, _ = trained
    translator = Translator.load(output)
    first, second = translator.translate(["Le chat noir.", "La souris."], split_sentences=False)
    assert main(["translate", "--model", str(output), "Le chat noir. La souris."]) == 0
    assert capsys.readouterr().out == f"{first} {second}\n"
    assert (
        main(["translate", "--model", str(output), "--no-split", "Le chat noir. La souris."]) == 0
    )
    whole = translator.translate("Le chat noir. La souris.", split_sentences=False)
    assert capsys.readouterr().out == f"{whole[0]}\n"
