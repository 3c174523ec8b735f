"""Training across worker processes: two real processes on loopback addresses.

Each test starts its workers as subprocesses, with the cluster in `TF_CONFIG`
(127.0.0.1, ports chosen at run time), and stops every one of them before it
returns. Under TensorFlow the workers run `MultiWorkerMirroredStrategy`, under
JAX `jax.distributed` with `keras.distribution.DataParallel` over the CPU
devices of both processes (collectives through gloo).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from kseq2seq.training.cluster import Cluster, cluster_from_environment

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKER_TIMEOUT = 20  # --worker-timeout: how long a worker waits for a dead one
EXIT_WITHIN = 90  # seconds: the chief must have stopped by then after a worker dies

pytestmark = pytest.mark.skipif(
    keras.backend.backend() not in ("jax", "tensorflow"), reason="JAX and TensorFlow engines"
)


# The environment -------------------------------------------------------------------
def tf_config(addresses, index, job="worker"):
    return json.dumps({"cluster": {"worker": addresses}, "task": {"type": job, "index": index}})


def test_cluster_from_tf_config():
    addresses = ["127.0.0.1:1000", "127.0.0.1:1001"]
    cluster = cluster_from_environment({"TF_CONFIG": tf_config(addresses, 1)})
    assert cluster == Cluster(tuple(addresses), 1, "TF_CONFIG")
    assert cluster.num_workers == 2 and not cluster.is_chief
    assert cluster_from_environment({"TF_CONFIG": tf_config(addresses, 0)}).is_chief
    # A chief job is worker 0; the worker tasks follow it.
    config = {
        "cluster": {"chief": ["h0:1"], "worker": ["h1:1", "h2:1"]},
        "task": {"type": "worker", "index": 1},
    }
    cluster = cluster_from_environment({"TF_CONFIG": json.dumps(config)})
    assert cluster.addresses == ("h0:1", "h1:1", "h2:1") and cluster.index == 2
    assert cluster_from_environment({}) is None


def test_cluster_from_keras_variables():
    environ = {
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234, 10.0.0.2:1234",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
        "KERAS_DISTRIBUTION_PROCESS_ID": "1",
    }
    cluster = cluster_from_environment(environ)
    assert cluster.addresses == ("10.0.0.1:1234", "10.0.0.2:1234") and cluster.index == 1


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"TF_CONFIG": "{not json"}, "TF_CONFIG: not valid JSON"),
        ({"TF_CONFIG": '{"cluster": {"worker": ["a:1"]}}'}, "TF_CONFIG: expected"),
        ({"TF_CONFIG": tf_config(["a:1", "b:1"], 2)}, "task index must be 0 to 1"),
        ({"TF_CONFIG": tf_config(["a:1"], 0, job="ps")}, "task type 'ps' is not a job"),
        (
            {"TF_CONFIG": '{"cluster": {"worker": ["a:1"], "ps": ["b:1"]}, "task": {}}'},
            "only chief and worker jobs",
        ),
        ({"KERAS_DISTRIBUTION_PROCESS_ID": "0"}, "missing KERAS_DISTRIBUTION_JOB_ADDRESSES"),
        (
            {
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": "a:1",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
                "KERAS_DISTRIBUTION_PROCESS_ID": "0",
            },
            "1 job addresses for 2 processes",
        ),
        (
            {"TF_CONFIG": tf_config(["a:1"], 0), "KERAS_DISTRIBUTION_PROCESS_ID": "0"},
            "Both TF_CONFIG and KERAS_DISTRIBUTION",
        ),
    ],
)
def test_malformed_clusters_are_named(environ, message):
    with pytest.raises(ValueError, match=message):
        cluster_from_environment(environ)


def test_no_cluster_is_a_clear_error(monkeypatch):
    from kseq2seq.training.distribute import DataParallelEngine

    for name in ("TF_CONFIG", "KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="No cluster in the environment"):
        DataParallelEngine.from_environment()


# Real processes ----------------------------------------------------------------------
def free_addresses(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{sock.getsockname()[1]}" for sock in sockets]
    for sock in sockets:
        sock.close()
    return addresses


def environment(cluster_config=None):
    env = dict(os.environ)
    env["KERAS_BACKEND"] = keras.backend.backend()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    for name in ("TF_CONFIG", "KERAS_DISTRIBUTION_JOB_ADDRESSES"):
        env.pop(name, None)
    if cluster_config is not None:
        env["TF_CONFIG"] = cluster_config
    return env


class Processes:
    """Subprocesses that are all stopped (killed if need be) on exit."""

    def __init__(self):
        self.processes = []

    def start(self, args, env, cwd, log):
        handle = open(log, "w")
        process = subprocess.Popen(args, env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)
        process.log = Path(log)
        self.processes.append(process)
        return process

    def wait(self, process, timeout):
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{process.args[-1]} still running after {timeout} s:\n{tail(process)}")
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def tail(process, lines=25):
    text = process.log.read_text(errors="replace").splitlines()
    return "\n".join(line for line in text[-lines:])


PAIRS = [
    ("le chat noir", "The black cat"),
    ("le chien blanc", "The white dog"),
    ("la souris", "The mouse"),
    ("le chat mange", "The cat eats"),
    ("le chien voit la souris", "The dog sees the mouse"),
    ("la souris noire mange", "The black mouse eats"),
    ("le chat blanc voit le chien", "The white cat sees the dog"),
    ("le chien mange", "The dog eats"),
] * 9  # 72 pairs; batches of 16 leave partial (odd-sized) batches in the buckets

# One worker's side of the API test: trains with `fit_translator` and writes
# its final weights where the test says (the test's own output, not the user's).
API_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    from kseq2seq.training.distribute import DataParallelEngine

    engine = DataParallelEngine.from_environment(timeout=60) if sys.argv[2] == "multi" else None
    keras.utils.set_random_seed(0)
    import json
    import kseq2seq

    pairs = [tuple(pair) for pair in json.loads(sys.argv[3])]
    translator = kseq2seq.Translator.from_pairs(
        pairs, embedding_dim=8, units=8, attention="luong_general", bidirectional=True
    )
    if engine is None:
        history = translator.fit(pairs, epochs=2, batch_size=16, verbose=0)
    else:
        history = engine.fit_translator(translator, pairs, epochs=2, batch_size=16, verbose=0)
        print("replicas", engine.num_replicas, "chief", engine.is_chief)
    np.savez(sys.argv[1], *translator.model.get_weights(), loss=history.history["loss"])
    """
)


def load_weights(path):
    with np.load(path) as archive:
        return [archive[f"arr_{i}"] for i in range(len(archive.files) - 1)], archive["loss"]


@pytest.mark.slow
def test_two_workers_train_like_one_process_on_the_global_batch(tmp_path):
    addresses = free_addresses(2)
    python = [sys.executable, "-c", API_SCRIPT]
    pairs = json.dumps(PAIRS)
    with Processes() as processes:
        workers = [
            processes.start(
                [*python, str(tmp_path / f"worker{i}.npz"), "multi", pairs],
                environment(tf_config(addresses, i)),
                tmp_path,
                tmp_path / f"worker{i}.log",
            )
            for i in range(2)
        ]
        single = processes.start(
            [*python, str(tmp_path / "single.npz"), "single", pairs],
            environment(),
            tmp_path,
            tmp_path / "single.log",
        )
        for process in [*workers, single]:
            assert processes.wait(process, 300) == 0, tail(process)
    assert "replicas 2 chief True" in workers[0].log.read_text()
    assert "replicas 2 chief False" in workers[1].log.read_text()
    (chief, chief_loss), (other, other_loss) = (
        load_weights(tmp_path / f"worker{i}.npz") for i in range(2)
    )
    reference, reference_loss = load_weights(tmp_path / "single.npz")
    assert chief_loss[1] < chief_loss[0]
    # The logged loss is each replica's running mean over its own rows,
    # averaged over the replicas: near the global one, not equal to it when
    # the replicas' shares differ. The weights are what must be equal.
    np.testing.assert_allclose(chief_loss, reference_loss, rtol=1e-2)
    for mine, theirs, alone in zip(chief, other, reference):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)  # in step
        np.testing.assert_allclose(mine, alone, rtol=1e-5, atol=1e-6)


def train_command(pairs_path, output, epochs, *extra):
    return [
        sys.executable,
        "-m",
        "kseq2seq",
        "train",
        str(pairs_path),
        "--output",
        str(output),
        "--epochs",
        str(epochs),
        "--batch-size",
        "16",
        "--units",
        "16",
        "--embedding-dim",
        "8",
        # Dropout draws differ between two workers and one process (the chosen default is 0.3).
        "--dropout",
        "0",
        "--validation",
        "0",
        "--checkpoint-every",
        "2",
        "--verbose",
        "0",
        *extra,
    ]


@pytest.mark.slow
def test_distributed_train_survives_a_dead_worker_and_resumes(tmp_path):
    """`kseq2seq train --distributed`: worker 1 is killed mid-training; the
    chief stops with a clear error; both rerun resume from the chief's state
    and end where one uninterrupted process ends. Only worker 0 writes."""
    shared = tmp_path / "shared"  # the output, seen by both workers
    homes = [tmp_path / "worker0", tmp_path / "worker1"]  # their working directories
    for directory in (shared, *homes):
        directory.mkdir()
    pairs_path = tmp_path / "pairs.tsv"
    pairs_path.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS))
    output, epochs = shared / "translator", 3
    # A short timeout to see the dead worker soon; the rerun keeps the default (120 s): with
    # 20 s, a chief starved of CPU under CI's load once missed its own heartbeat while resuming.
    command = train_command(
        pairs_path, output, epochs, "--distributed", "--worker-timeout", str(WORKER_TIMEOUT)
    )
    rerun = train_command(pairs_path, output, epochs, "--distributed")
    state = shared / "translator.partial" / "checkpoint" / "state.npz"

    def start_workers(processes, run, command):
        addresses = free_addresses(2)
        return [
            processes.start(
                command,
                environment(tf_config(addresses, i)),
                homes[i],
                tmp_path / f"run{run}-worker{i}.log",
            )
            for i in range(2)
        ]

    with Processes() as processes:
        chief, other = start_workers(processes, 1, command)
        deadline = time.monotonic() + 300
        while not state.is_file():
            assert chief.poll() is None and other.poll() is None, tail(chief) + tail(other)
            assert time.monotonic() < deadline, "no training state after 300 s:\n" + tail(chief)
            time.sleep(0.2)
        other.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        code = processes.wait(chief, EXIT_WITHIN)
        print(f"the chief stopped {time.monotonic() - killed:.1f} s after worker 1 died")
        log = chief.log.read_text()
        assert code == 2, log[-3000:]
        assert "kseq2seq: error: training on 2 workers failed" in log
        assert "start every worker again, with the same command, to resume" in log
        assert state.is_file() and not output.exists()

    with Processes() as processes:
        workers = start_workers(processes, 2, rerun)
        single = processes.start(
            train_command(pairs_path, tmp_path / "single", epochs),
            environment(),
            tmp_path,
            tmp_path / "single.log",
        )
        for process in [*workers, single]:
            assert processes.wait(process, 300) == 0, tail(process)
    assert "Resuming the interrupted run" in workers[0].log.read_text()
    assert "the chief (worker 0) saves" in workers[1].log.read_text()
    # Only the chief wrote, and only the translator: no partial run is left,
    # and the other worker wrote nothing at all.
    assert sorted(p.name for p in shared.iterdir()) == ["translator"]
    assert list(homes[1].iterdir()) == [] and list(homes[0].iterdir()) == []

    from kseq2seq.training.finetune import load_model

    resumed = load_model(output / "model.keras", compile=False).get_weights()
    alone = load_model(tmp_path / "single" / "model.keras", compile=False).get_weights()
    for mine, theirs in zip(resumed, alone):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_workers_that_read_other_data_stop_at_once(tmp_path):
    """Workers that would not train the same model (here worker 1 reads fewer
    pairs; as well: a training state that only the chief sees) refuse to
    start, each naming what every worker holds."""
    full, half = tmp_path / "full.tsv", tmp_path / "half.tsv"
    full.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS))
    half.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS[:40]))
    addresses = free_addresses(2)
    with Processes() as processes:
        workers = [
            processes.start(
                train_command(pairs, tmp_path / "out", 1, "--distributed"),
                environment(tf_config(addresses, i)),
                tmp_path,
                tmp_path / f"worker{i}.log",
            )
            for i, pairs in enumerate((full, half))
        ]
        for process in workers:
            assert processes.wait(process, 120) == 2, tail(process)
    for process in workers:
        log = process.log.read_text()
        assert "The workers disagree (worker 0: " in log
        assert "training_pairs=72; worker 1: " in log and "training_pairs=40" in log
    assert not (tmp_path / "out").exists()
