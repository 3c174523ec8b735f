"""kseq2seq.visualize: every picture rendered to a file and checked."""

import argparse
import html.parser
import io
import os
import re
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import kseq2seq
from kseq2seq.datasets import default_corpus
from kseq2seq.special_tokens import EOS_ID, PAD_ID
from kseq2seq.visualize import (
    AttentionPlotCallback,
    alignment_error_rate,
    attention_alignment,
    attention_report,
    attention_results,
    decoding_animation,
    plot_attention,
    plot_attention_for,
    plot_attention_grid,
    plot_hidden_states,
    trace_decoding,
    translator_aer,
)
from kseq2seq.visualize.alignment import word_groups, word_level_weights
from kseq2seq.visualize.cli import add_attention_command

SENTENCE = "Le chat noir mange la souris."
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def corpus():
    return default_corpus("train")[:300]


@pytest.fixture(scope="module")
def translator(small_translator):
    return small_translator


@pytest.fixture(scope="module")
def saved_translator(translator, tmp_path_factory):
    directory = tmp_path_factory.mktemp("visualize") / "translator"
    translator.save(directory)
    return directory


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


# Helpers ------------------------------------------------------------------------


def tick_labels(axis) -> list[str]:
    return [label.get_text() for label in axis.get_ticklabels()]


def cell_luminance(figure, ax, png_path, rows, columns, dpi=100) -> np.ndarray:
    """Luminance of the saved PNG's pixel at the centre of every heatmap cell."""
    pixels = np.asarray(Image.open(png_path).convert("RGB"), dtype="float64")
    scale = dpi / figure.dpi
    height = pixels.shape[0]
    out = np.zeros((rows, columns))
    for row in range(rows):
        for column in range(columns):
            x, y = ax.transData.transform((column, row))
            red, green, blue = pixels[int(round(height - y * scale)), int(round(x * scale))]
            out[row, column] = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return out


def produced_tokens(translator, sentence) -> list[int]:
    tokens = translator.translate_with_details([sentence])["tokens"][0]
    out = []
    for token in tokens:
        if token == PAD_ID:
            break
        out.append(int(token))
        if token == EOS_ID:
            break
    return out


# Heatmaps -----------------------------------------------------------------------


def test_heatmap_labels_are_tokens_and_brightest_cell_is_largest_weight(tmp_path):
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.full(6, 0.4), size=4).astype("float32")  # T=4 x S=6
    source = ["la", "zone", "économique", "européenne", "<unk>", "."]
    target = ["the", "european", "area", "</s>"]
    path = tmp_path / "heatmap.png"
    figure = plot_attention(weights, source, target, path=path, title="a <title> & more")
    ax = figure.axes[0]
    assert tick_labels(ax.xaxis) == source
    assert tick_labels(ax.yaxis) == target
    np.testing.assert_allclose(ax.images[0].get_array(), weights)
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert (width, height) == tuple(
        int(round(v * 100)) for v in figure.get_size_inches()
    )  # saved at 100 dpi
    assert width >= 300 and height >= 250
    brightness = cell_luminance(figure, ax, path, 4, 6)
    np.testing.assert_array_equal(brightness.argmax(axis=1), weights.argmax(axis=1))
    # Brightness grows with the weight everywhere (viridis's lightness is monotonic).
    order = np.argsort(weights.reshape(-1))
    assert np.all(np.diff(brightness.reshape(-1)[order]) >= -1.0)


def test_heatmap_rejects_mismatched_tokens():
    with pytest.raises(ValueError, match="2 x 3"):
        plot_attention(np.ones((2, 3)), ["a", "b"], ["x", "y"])
    with pytest.raises(ValueError, match="2-D"):
        plot_attention(np.ones(3), ["a", "b", "c"], ["x"])
    with pytest.raises(ValueError, match="tokens are needed"):
        plot_attention(np.ones((1, 1)))


def test_long_sentence_stays_readable():
    source = [f"word{i}" for i in range(60)]
    target = [f"out{i}" for i in range(55)]
    figure = plot_attention(np.full((55, 60), 1 / 60), source, target)
    ax = figure.axes[0]
    width, height = figure.get_size_inches()
    assert width <= 30 and height <= 30
    labels = ax.xaxis.get_ticklabels()
    assert tick_labels(ax.xaxis) == source
    assert all(label.get_rotation() == 90 for label in labels)
    assert labels[0].get_fontsize() < 10  # smaller labels for long sentences


def test_plot_attention_for_translator(translator, tmp_path):
    path = tmp_path / "translator.png"
    figure = plot_attention_for(translator, SENTENCE, path=path)
    result = translator.attention(SENTENCE)[0]
    ax = figure.axes[0]
    assert tick_labels(ax.xaxis) == result["source_tokens"]
    assert tick_labels(ax.yaxis) == result["target_tokens"]
    assert result["source_tokens"] == ["le", "chat", "noir", "mange", "la", "souris", "."]
    array = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(array, result["weights"], atol=1e-6)
    assert SENTENCE in ax.get_title()
    # Rows whose largest weight stands out are brightest there in the PNG too.
    brightness = cell_luminance(figure, ax, path, *array.shape)
    top_two = np.sort(array, axis=1)[:, -2:]
    clear = (top_two[:, 1] - top_two[:, 0]) > 0.02 * array.max()
    np.testing.assert_array_equal(brightness.argmax(axis=1)[clear], array.argmax(axis=1)[clear])
    # Teacher-forced: the rows are the given target's tokens (the target keeps its case).
    forced = plot_attention_for(translator, SENTENCE, "The black cat eats the mouse.")
    assert tick_labels(forced.axes[0].yaxis) == "The black cat eats the mouse . </s>".split()


def test_result_dicts_and_saved_model_outputs(translator, tmp_path):
    results = translator.attention([SENTENCE, "La souris."])
    figure = plot_attention(results[1], path=tmp_path / "dict.png")
    assert tick_labels(figure.axes[0].xaxis) == results[1]["source_tokens"]
    assert (tmp_path / "dict.png").stat().st_size > 1000

    # The SavedModel's outputs: batched, bytes, right-padded with "".
    batch = len(results)
    widest_t = max(len(r["target_tokens"]) for r in results)
    widest_s = max(len(r["source_tokens"]) for r in results)
    attention = np.zeros((batch, widest_t + 2, widest_s + 1), dtype="float32")
    source_tokens = np.full((batch, widest_s + 1), b"", dtype=object)
    target_tokens = np.full((batch, widest_t + 2), b"", dtype=object)
    for index, result in enumerate(results):
        rows, columns = result["weights"].shape
        attention[index, :rows, :columns] = result["weights"]
        source_tokens[index, :columns] = [t.encode() for t in result["source_tokens"]]
        target_tokens[index, :rows] = [t.encode() for t in result["target_tokens"]]
    outputs = {
        "attention": attention,
        "source_tokens": source_tokens,
        "target_tokens": target_tokens,
    }
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        outputs = {
            key: tf.constant(value.astype(bytes) if value.dtype == object else value)
            for key, value in outputs.items()
        }
    normalised = attention_results(outputs)
    assert len(normalised) == batch
    for got, expected in zip(normalised, results):
        assert got["source_tokens"] == expected["source_tokens"]
        assert got["target_tokens"] == expected["target_tokens"]
        np.testing.assert_allclose(got["weights"], expected["weights"])
    figure = plot_attention(outputs, index=1)
    assert tick_labels(figure.axes[0].yaxis) == results[1]["target_tokens"]
    grid = plot_attention_grid(outputs, tmp_path / "outputs_grid.png", columns=1)
    assert len(grid.axes) >= batch
    with pytest.raises(ValueError, match="index=5"):
        plot_attention(outputs, index=5)


def test_attention_grid(translator, tmp_path):
    sentences = [SENTENCE, "La souris.", "Les trois chats noirs mangent la souris."]
    results = translator.attention(sentences)
    path = tmp_path / "grid.png"
    figure = plot_attention_grid(results, path, columns=2)
    panels = [ax for ax in figure.axes if ax.images and ax.get_ylabel() == "output"]
    assert len(panels) == 3
    for ax, result in zip(panels, results):
        assert tick_labels(ax.xaxis) == result["source_tokens"]
        assert tick_labels(ax.yaxis) == result["target_tokens"]
    with Image.open(path) as image:
        single = plot_attention(results[0])
        assert image.size[0] > 1.5 * single.get_size_inches()[0] * 100  # two panels across
        assert image.size[1] > 1.5 * single.get_size_inches()[1] * 100  # two rows
    with pytest.raises(ValueError, match="columns"):
        plot_attention_grid(results, columns=0)


# Animation and hidden states ------------------------------------------------------


def test_decoding_animation_has_one_frame_per_step(translator, tmp_path):
    path = tmp_path / "decoding.gif"
    frames = decoding_animation(translator, SENTENCE, path, duration_ms=500)
    expected = produced_tokens(translator, SENTENCE)
    assert frames == len(expected)
    trace = trace_decoding(translator, SENTENCE)
    assert trace.token_ids.tolist() == expected  # the same greedy choices as greedy_decode
    assert trace.memory.shape == (7, 32)
    np.testing.assert_allclose(trace.contexts, trace.weights @ trace.memory, atol=1e-5)
    np.testing.assert_allclose(trace.weights.sum(axis=1), 1.0, atol=1e-5)
    with Image.open(path) as image:
        assert image.format == "GIF"
        assert image.n_frames == frames
        assert image.size[0] >= 600


def test_decoding_animation_with_target_and_limits(translator, tmp_path):
    frames = decoding_animation(
        translator, SENTENCE, tmp_path / "forced.gif", target="The black cat eats."
    )
    assert frames == 6  # the, black, cat, eats, ., </s>
    with Image.open(tmp_path / "forced.gif") as image:
        assert image.n_frames == 6
        pictures = []
        for index in range(image.n_frames):
            image.seek(index)
            pictures.append(np.asarray(image.convert("RGB")))
    # Each step highlights another target word: no later frame repeats the first.
    assert all(not np.array_equal(pictures[0], later) for later in pictures[1:])
    assert decoding_animation(translator, SENTENCE, tmp_path / "short.gif", max_steps=1) == 1
    with pytest.raises(ValueError, match=".gif"):
        decoding_animation(translator, SENTENCE, tmp_path / "decoding.png")
    with pytest.raises(ValueError, match="no tokens"):
        decoding_animation(translator, "   ", tmp_path / "empty.gif")


def test_hidden_states_strips(translator, tmp_path):
    path = tmp_path / "hidden.png"
    figure = plot_hidden_states(translator, SENTENCE, path)
    trace = trace_decoding(translator, SENTENCE)
    encoder_ax, final_ax, context_ax = figure.axes[:3]
    assert tick_labels(encoder_ax.yaxis) == trace.source_tokens
    np.testing.assert_allclose(encoder_ax.images[0].get_array(), trace.memory, atol=1e-6)
    assert tick_labels(final_ax.yaxis) == ["final state"]
    np.testing.assert_allclose(
        np.asarray(context_ax.images[0].get_array()), trace.contexts, atol=1e-6
    )
    assert len(tick_labels(context_ax.yaxis)) == trace.num_steps
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] >= 700 and image.size[1] >= 400


# HTML report ---------------------------------------------------------------------


class _ReportParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.titles, self.tables, self.urls, self.scripts, self.stack = [], 0, [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "title" in attrs:
            self.titles.append(attrs["title"])
        if tag == "table" and attrs.get("class") == "attention":
            self.tables += 1
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            if name in attrs:
                self.urls.append(attrs[name])


def parse_report(path) -> _ReportParser:
    parser = _ReportParser()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    parser.close()
    return parser


def test_report_holds_every_weight(translator, tmp_path):
    sentences = [SENTENCE, 'La souris <b>&amp; "le" chat.', "   "]
    path = tmp_path / "report.html"
    assert attention_report(translator, sentences, path) == path
    text = path.read_text(encoding="utf-8")
    parsed = parse_report(path)
    results = translator.attention(sentences[:2])
    assert parsed.tables == 2  # the blank sentence has no table
    assert parsed.urls == [] and "http://" not in text and "https://" not in text
    expected = [
        f"{target} ← {source}: {result['weights'][row, column]:.4f}"
        for result in results
        for row, target in enumerate(result["target_tokens"])
        for column, source in enumerate(result["source_tokens"])
    ]
    assert len(parsed.titles) == sum(r["weights"].size for r in results)
    assert parsed.titles == expected
    # Escaped: the markup in a sentence is text, not tags.
    assert "<b>&amp;" not in text and "&lt;b&gt;&amp;amp; &quot;le&quot;" in text
    details = translator.translate_with_details(sentences)
    shown = [float(v) for v in re.findall(r"<dt>score</dt><dd>(-?[0-9.]+) ", text)]
    np.testing.assert_allclose(shown, details["scores"], atol=2e-3)
    assert html.unescape(re.search(r"<dd>(.*?)</dd>", text).group(1)) == SENTENCE


def test_report_with_targets(translator, tmp_path):
    path = tmp_path / "forced.html"
    attention_report(translator, [SENTENCE], path, targets=["The black cat eats the mouse."])
    parsed = parse_report(path)
    assert len(parsed.titles) == 8 * 7  # (6 words + . + </s>) x 7 source tokens
    assert "teacher-forced" in path.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="pair up"):
        attention_report(translator, [SENTENCE], path, targets=["a", "b"])


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed")
def test_report_in_headless_chromium(translator, tmp_path):
    path = tmp_path / "report.html"
    attention_report(translator, [SENTENCE, "La souris."], path)
    profile = tmp_path / "profile"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        path.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count('<table class="attention"') == 2
    assert 'data-report-ready="1"' in result.stdout  # the inline script ran to its end
    assert "Uncaught" not in result.stderr


# Training callback ---------------------------------------------------------------------


def fixed_shape_arrays(translator, examples):
    """Inputs and labels padded to one shape, so model.fit compiles one train step."""
    sources = translator.encode_sources([example.source for example in examples])
    encoded = translator.target_tokenizer.encode([example.target for example in examples])
    rows = [list(row) + [EOS_ID] for row in encoded.numpy()]
    width = max(len(row) for row in rows)
    target_in = np.zeros((len(rows), width), dtype="int32")
    target_out = np.zeros((len(rows), width), dtype="int32")
    for index, row in enumerate(rows):
        target_out[index, : len(row)] = row
        target_in[index, : len(row)] = [2] + row[:-1]
    return {"source": sources, "target_in": target_in}, target_out


@pytest.mark.slow
def test_callback_writes_pictures_and_tensorboard_images(saved_translator, corpus, tmp_path):
    translator = kseq2seq.Translator.load(saved_translator)  # trained further: a copy
    inputs, labels = fixed_shape_arrays(translator, corpus[:32])
    every_epoch = AttentionPlotCallback(
        translator, [SENTENCE, "La souris."], tmp_path / "plots", log_dir=tmp_path / "logs"
    )
    every_other = AttentionPlotCallback(translator, SENTENCE, tmp_path / "other", every=2)
    translator.model.fit(
        inputs, labels, batch_size=32, epochs=3, verbose=0, callbacks=[every_epoch, every_other]
    )
    names = sorted(path.name for path in (tmp_path / "plots").iterdir())
    assert names == [f"epoch_{n:03d}_{i}.png" for n in (1, 2, 3) for i in (0, 1)]
    assert sorted(path.name for path in (tmp_path / "other").iterdir()) == ["epoch_002_0.png"]
    for path in (tmp_path / "plots").iterdir():
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] > 200
    events = list((tmp_path / "logs").rglob("events.out.tfevents*"))
    assert events
    import tensorflow as tf

    tags = {}
    for event in tf.compat.v1.train.summary_iterator(str(events[0])):
        for value in event.summary.value:
            tags.setdefault(value.tag, []).append(event.step)
            assert value.metadata.plugin_data.plugin_name in ("", "images")
            width, height, png = tf.make_ndarray(value.tensor)[-3:]
            with Image.open(io.BytesIO(png)) as image:
                assert image.format == "PNG" and image.size == (int(width), int(height))
    assert tags == {"attention/sentence_0": [1, 2, 3], "attention/sentence_1": [1, 2, 3]}
    with pytest.raises(ValueError, match="every"):
        AttentionPlotCallback(translator, SENTENCE, tmp_path, every=0)


# Command line --------------------------------------------------------------------


def run_cli(argv) -> int:
    parser = argparse.ArgumentParser(prog="kseq2seq")
    add_attention_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_cli_picture_by_suffix(saved_translator, tmp_path, capsys):
    model = str(saved_translator)
    assert run_cli(["attention", "--model", model, SENTENCE, "--out", str(tmp_path / "a.png")]) == 0
    with Image.open(tmp_path / "a.png") as image:
        assert image.format == "PNG"
    assert (
        run_cli(["attention", "--model", model, SENTENCE, "--out", str(tmp_path / "a.html")]) == 0
    )
    assert parse_report(tmp_path / "a.html").tables == 1
    code = run_cli(["attention", "--model", model, "--out", str(tmp_path / "a.jpg"), SENTENCE])
    assert code == 2
    error = capsys.readouterr().err
    assert "--out must end with one of" in error and "a.jpg" in error
    assert not (tmp_path / "a.jpg").exists()
    missing = str(tmp_path / "missing")
    assert run_cli(["attention", "--model", missing, SENTENCE, "--out", "x.png"]) == 2
    assert "not a saved Translator" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_animation_with_target(saved_translator, tmp_path, capsys):
    out = tmp_path / "a.gif"
    code = run_cli(
        [
            "attention",
            "--model",
            str(saved_translator),
            SENTENCE,
            "--out",
            str(out),
            "--target",
            "The black cat.",
        ]
    )
    assert code == 0
    assert "5 frames" in capsys.readouterr().out  # the, black, cat, ., </s>
    with Image.open(out) as image:
        assert image.n_frames == 5


# Alignment error rate ----------------------------------------------------------------


def one_hot_rows(columns, size):
    weights = np.full((len(columns), size), 0.01)
    weights[np.arange(len(columns)), columns] = 1.0
    return weights


def test_aer_perfect_disjoint_and_by_hand():
    gold = [(0, 0), (1, 2), (2, 1)]
    perfect = one_hot_rows([0, 2, 1], 3)  # target t attends source gold[t]
    assert alignment_error_rate([perfect], [gold]) == 0.0
    disjoint = one_hot_rows([1, 0, 0], 3)
    assert alignment_error_rate([disjoint], [gold]) == 1.0
    # A = {(0,0), (0,1), (1,2)}, S = {(0,0), (1,2), (2,1)}: |A∩S| = 2, AER = 1 - 4/6.
    partial = one_hot_rows([0, 0, 1], 3)
    assert alignment_error_rate([partial], [gold]) == pytest.approx(1 - 4 / 6)
    # With possible links P = S ∪ {(0,1)}: |A∩P| = 3, AER = 1 - (2 + 3)/(3 + 3).
    assert alignment_error_rate([partial], [gold], possible_alignments=[[(0, 1)]]) == pytest.approx(
        1 / 6
    )
    # Corpus level: counts are summed before dividing, 1 - (6 + 4)/(6 + 6).
    assert alignment_error_rate([perfect, partial], [gold, gold]) == pytest.approx(1 - 10 / 12)


def test_aer_skips_end_of_sentence_and_checks_input():
    gold = [(1, 0), (0, 1)]
    weights = np.vstack([one_hot_rows([1, 0], 2), [[0.0, 1.0]]])  # the last row is </s>
    assert attention_alignment(weights, ["b", "a", "</s>"]) == {(1, 0), (0, 1)}
    assert alignment_error_rate([weights], [gold], target_tokens_list=[["b", "a", "</s>"]]) == 0.0
    assert alignment_error_rate([weights], [gold]) == pytest.approx(1 - 4 / 5)
    with pytest.raises(ValueError, match="gold alignments"):
        alignment_error_rate([weights], [])
    with pytest.raises(ValueError, match="outside"):
        alignment_error_rate([weights], [[(5, 0)]])
    with pytest.raises(ValueError, match="no links"):
        alignment_error_rate([np.zeros((0, 0))], [[]])


def test_subword_pieces_map_to_words():
    pieces = ["la", "zo", "##ne", "éco", "##no", "##mique", "."]
    words = ["la", "zone", "économique", "."]
    groups = word_groups(pieces, words)
    assert groups == [0, 1, 1, 2, 2, 2, 3]
    weights = np.eye(7)[[0, 2, 1, 5, 6]]  # 5 target pieces
    merged = word_level_weights(weights, groups, [0, 1, 1, 2, 3])
    np.testing.assert_allclose(merged, [[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    with pytest.raises(ValueError, match="make 4 words"):
        word_groups(pieces, words[:3])


def test_translator_aer(translator):
    examples = default_corpus("validation")[:24]
    aer = translator_aer(translator, examples, batch_size=12)
    assert isinstance(aer, float) and 0.0 <= aer <= 1.0
    # The same number from the teacher-forced weights by hand.
    results = translator.attention([e.source for e in examples], [e.target for e in examples])
    expected = alignment_error_rate(
        [r["weights"] for r in results],
        [e.alignment for e in examples],
        target_tokens_list=[r["target_tokens"] for r in results],
    )
    assert aer == pytest.approx(expected)
    tuples = [(e.source, e.target, e.alignment) for e in examples[:5]]
    assert 0.0 <= translator_aer(translator, tuples) <= 1.0
    with pytest.raises(ValueError, match="ParallelExample"):
        translator_aer(translator, ["just a string"])


def test_aer_of_gold_is_zero_through_word_groups():
    # Attention that puts all its weight on the gold source word scores 0.
    examples = default_corpus("validation")[:20]
    from kseq2seq.datasets.default_corpus import word_tokens

    weights_list, gold = [], []
    for example in examples:
        sources, targets = word_tokens(example.source), word_tokens(example.target)
        weights = np.zeros((len(targets), len(sources)))
        firsts = {}
        for source_index, target_index in example.alignment:
            firsts.setdefault(target_index, source_index)
        for target_index, source_index in firsts.items():
            weights[target_index, source_index] = 1.0
        weights_list.append(weights)
        gold.append([(s, t) for t, s in firsts.items()])
    assert alignment_error_rate(weights_list, gold) == 0.0
