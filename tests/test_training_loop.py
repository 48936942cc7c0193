"""The training loop: validation, determinism, resume after a crash, divergence, run-directory files."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from qlatent.latent import GaussianLatent
from qlatent.models.gan import WGANGP, WGANGPConfig
from qlatent.training import checkpoint as checkpoint_module
from qlatent.training.bank import TensorBank
from qlatent.training.checkpoint import checkpoint_path, list_checkpoints, load_checkpoint, save_checkpoint
from qlatent.training.device import resolve_device
from qlatent.training.loop import Trainer, TrainerConfig, TrainingDivergedError
from qlatent.training.runlog import MetricsLog

pytestmark = pytest.mark.usefixtures("torch_one_thread")


class BankLatent:
    """A pre-drawn latent bank re-shuffled per epoch: it has state, which a resume must restore."""

    name = "bank"

    def __init__(self, dim: int, size: int = 40) -> None:
        self.dim = dim
        self.bank = torch.arange(size * dim, dtype=torch.float32).reshape(size, dim) / (size * dim)
        self.order, self.position = None, 0

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        if self.order is None or self.position + n > len(self.bank):
            self.order, self.position = torch.randperm(len(self.bank), generator=generator), 0
        picked = self.bank[self.order[self.position:self.position + n]]
        self.position += n
        return picked

    def describe(self) -> dict:
        return {"size": len(self.bank)}

    def state_dict(self) -> dict:
        return {"order": self.order, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.order, self.position = state["order"], state["position"]


class FailingBank(TensorBank):
    """Serves real batches, then fails (a crash) or turns to NaN after ``fail_after`` batches."""

    def __init__(self, *arrays, fail_after: int, failure: str) -> None:
        super().__init__(*arrays)
        self.fail_after, self.failure, self.calls = fail_after, failure, 0

    def batch(self, batch_size, generator):
        self.calls += 1
        batch = super().batch(batch_size, generator)
        if self.calls > self.fail_after:
            if self.failure == "crash":
                raise RuntimeError("simulated crash")
            batch = torch.full_like(batch, float("nan"))
        return batch


class ToyModel:
    """The smallest model the loop accepts: one weight vector fitted to the batch mean by SGD."""

    latent_dim = 2
    seed = 0

    def __init__(self, poison_at: int | None = None) -> None:
        self.weight = torch.zeros(3)
        self.steps, self.poison_at = 0, poison_at

    def train_step(self, draw_batch, latent, generator):
        batch = draw_batch()
        latent.sample(batch.shape[0], generator)
        self.steps += 1
        self.weight += 0.1 * (batch.mean(0) - self.weight)
        if self.steps == self.poison_at:
            self.weight[0] = float("nan")  # a weight breaks while the reported loss stays finite
        return {"loss": 1.0}

    def state_dict(self):
        return {"weight": self.weight.clone(), "steps": self.steps}

    def load_state_dict(self, state):
        self.weight, self.steps = state["weight"].clone(), state["steps"]

    def to(self, device):
        return self

    def describe(self):
        return {"model": "toy"}


DATA = torch.randn(48, 3, generator=torch.Generator().manual_seed(0))


def make_model(**overrides) -> WGANGP:
    settings = dict(latent_dim=2, data_dim=3, generator_hidden=(8,), critic_hidden=(8,), n_critic=2,
                    lr_generator=1e-3, lr_critic=1e-3)
    settings.update(overrides)
    return WGANGP(WGANGPConfig(**settings), seed=5)


def make_config(**overrides) -> TrainerConfig:
    settings = dict(n_steps=20, batch_size=8, seed=3, checkpoint_every=5, log_every=2, progress=False,
                    device="cpu")
    settings.update(overrides)
    return TrainerConfig(**settings)


def run(run_dir, data=None, latent=None, model=None, resume=True, **config):
    trainer = Trainer(model or make_model(), latent or BankLatent(2), data or TensorBank(DATA), make_config(**config),
                      run_dir)
    return trainer, trainer.fit(resume=resume)


def assert_same_state(a, b):
    if torch.is_tensor(a):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same_state(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_state(x, y)
    else:
        assert a == b


# --- configuration and input checks -------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "error", "match"), [
    (dict(n_steps=0), ValueError, "n_steps must be positive"),
    (dict(batch_size=-1), ValueError, "batch_size must be positive"),
    (dict(checkpoint_every=0), ValueError, "checkpoint_every must be positive"),
    (dict(log_every=0), ValueError, "log_every must be positive"),
    (dict(keep_checkpoints=0), ValueError, "keep_checkpoints must be positive"),
    (dict(seed=-1), ValueError, "seed must be >= 0"),
    (dict(n_steps=10.0), TypeError, "n_steps must be an int"),
])
def test_config_rejects_bad_values(overrides, error, match):
    with pytest.raises(error, match=match):
        make_config(**overrides)


def test_latent_dimension_mismatch_names_both(tmp_path):
    with pytest.raises(ValueError, match=r"latent distribution 'gaussian' has dimension 4, but the model takes "
                                         r"latent_dim=2"):
        Trainer(make_model(), GaussianLatent(4), TensorBank(DATA), make_config(), tmp_path)


def test_bank_smaller_than_a_batch_is_refused(tmp_path):
    with pytest.raises(ValueError, match="data source holds 6 examples, fewer than one batch of batch_size=8"):
        Trainer(make_model(), GaussianLatent(2), TensorBank(DATA[:6]), make_config(), tmp_path)
    with pytest.raises(ValueError, match=r"data bank 'data' holds 6 examples, fewer than one batch of batch_size=8"):
        TensorBank(DATA[:6]).batch(8, torch.Generator())


def test_unavailable_device_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unsupported device 'mps'"):
        Trainer(make_model(), GaussianLatent(2), TensorBank(DATA), make_config(device="mps"), tmp_path)


# --- devices -------------------------------------------------------------------------------------

def test_resolve_device(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="device 'cuda' requested but CUDA is not available here"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="unrecognised device 'gpu0'"):
        resolve_device("gpu0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("auto") == torch.device("cuda")
    with pytest.raises(ValueError, match=r"device 'cuda:3' requested but only 1 CUDA device\(s\) exist"):
        resolve_device("cuda:3")


# --- the data bank -------------------------------------------------------------------------------

def test_bank_serves_disjoint_batches_per_epoch_and_aligned_tuples():
    features = np.arange(20, dtype=np.float64).reshape(10, 2)
    labels = np.arange(10)
    bank = TensorBank(features, labels, name="pairs")
    generator = torch.Generator().manual_seed(0)
    seen = []
    for _ in range(3):  # 10 // 3 = 3 full batches, the last example of the epoch is dropped
        x, y = bank.batch(3, generator)
        assert x.dtype == torch.float32 and torch.equal(x[:, 0], 2 * y.float())
        seen.extend(y.tolist())
    assert len(set(seen)) == 9 and bank.epoch == 1
    bank.batch(3, generator)
    assert bank.epoch == 2
    described = bank.describe()
    assert described.pop("sha256") == TensorBank(features, labels).sha256 != TensorBank(features + 1, labels).sha256
    assert described == {"name": "pairs", "size": 10, "shapes": [[2], []], "dtypes": ["torch.float32", "torch.int64"]}


@pytest.mark.parametrize(("arrays", "match"), [
    ((), "needs at least one array"),
    ((np.zeros((0, 2)),), "TensorBank is empty"),
    ((np.zeros((4, 2)), np.zeros(5)), r"same first dimension, got \[4, 5\]"),
])
def test_bank_rejects_bad_arrays(arrays, match):
    with pytest.raises(ValueError, match=match):
        TensorBank(*arrays)


def test_bank_state_is_refused_for_another_size():
    with pytest.raises(ValueError, match="saved for a data bank of 48 examples, this bank 'data' holds 10"):
        TensorBank(DATA[:10]).load_state_dict(TensorBank(DATA).state_dict())


# --- checkpoints and the metrics log -------------------------------------------------------------

def test_checkpoints_are_pruned_and_a_failed_save_leaves_the_previous_one(tmp_path, monkeypatch):
    for step in (0, 5, 10):
        save_checkpoint(tmp_path, step, {"step": step, "w": torch.ones(2) * step}, keep=2)
    assert [step for step, _ in list_checkpoints(tmp_path)] == [5, 10]

    def broken_save(obj, path):
        with open(path, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path, 15, {"step": 15}, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000005.pt", "step_00000010.pt"]
    assert load_checkpoint(checkpoint_path(tmp_path, 10))["step"] == 10
    assert list_checkpoints(tmp_path / "missing") == []


def test_metrics_log_round_trips_floats_and_truncates(tmp_path):
    log = MetricsLog(tmp_path / "metrics.csv")
    log.append({"step": 1, "loss": 0.1 + 0.2})
    log.append({"step": 2, "loss": 1 / 3, "extra": -2.5e-17})
    reread = MetricsLog(tmp_path / "metrics.csv")
    reread.load(up_to_step=1)
    assert reread.rows == [{"step": 1, "loss": 0.1 + 0.2, "extra": None}]
    reread.load(up_to_step=10)
    assert reread.rows[1] == {"step": 2, "loss": 1 / 3, "extra": -2.5e-17}
    with pytest.raises(ValueError, match="needs a 'step' entry"):
        log.append({"loss": 1.0})


# --- determinism and resume ----------------------------------------------------------------------

def test_same_seed_gives_bit_identical_runs_and_leaves_global_rng_alone(tmp_path):
    before = torch.get_rng_state()
    first, rows_first = run(tmp_path / "a", model=make_model(dropout=0.3))
    second, rows_second = run(tmp_path / "b", model=make_model(dropout=0.3))
    other, _ = run(tmp_path / "c", seed=4, model=make_model(dropout=0.3))
    assert torch.equal(torch.get_rng_state(), before)
    assert_same_state(first.model.state_dict(), second.model.state_dict())
    assert rows_first == rows_second
    assert (tmp_path / "a" / "metrics.csv").read_bytes() == (tmp_path / "b" / "metrics.csv").read_bytes()
    assert not torch.equal(first.model.generator[0].weight, other.model.generator[0].weight)


@pytest.mark.parametrize("latent_class", [BankLatent, GaussianLatent])
def test_resume_after_a_crash_is_bit_identical(tmp_path, latent_class):
    straight, straight_rows = run(tmp_path / "straight", latent=latent_class(2))
    # n_critic = 2 batches per step: the crash hits during step 13, after the checkpoint of step 10
    # and after the metrics row of step 12 was written.
    crashing = FailingBank(DATA, fail_after=25, failure="crash")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(tmp_path / "resumed", data=crashing, latent=latent_class(2))
    assert [step for step, _ in list_checkpoints(tmp_path / "resumed" / "checkpoints")] == [5, 10]
    assert "12," in (tmp_path / "resumed" / "metrics.csv").read_text()
    manifest = json.loads((tmp_path / "resumed" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and "simulated crash" in manifest["error"]

    resumed, resumed_rows = run(tmp_path / "resumed", latent=latent_class(2))
    assert_same_state(straight.model.state_dict(), resumed.model.state_dict())
    assert torch.equal(straight.generator.get_state(), resumed.generator.get_state())
    assert resumed_rows == straight_rows
    assert (tmp_path / "straight" / "metrics.csv").read_bytes() == (tmp_path / "resumed" / "metrics.csv").read_bytes()
    assert_same_state(load_checkpoint(checkpoint_path(tmp_path / "straight" / "checkpoints", 20))["model"],
                      load_checkpoint(checkpoint_path(tmp_path / "resumed" / "checkpoints", 20))["model"])
    assert json.loads((tmp_path / "resumed" / "manifest.json").read_text())["status"] == "complete"


def test_extending_a_finished_run_matches_a_straight_run(tmp_path):
    straight, straight_rows = run(tmp_path / "straight")
    run(tmp_path / "extended", n_steps=10)
    extended, extended_rows = run(tmp_path / "extended", n_steps=20)
    assert_same_state(straight.model.state_dict(), extended.model.state_dict())
    assert extended_rows == straight_rows


def test_a_finished_run_is_not_retrained(tmp_path):
    first, rows = run(tmp_path, n_steps=6)
    again, rows_again = run(tmp_path, n_steps=6)
    assert rows_again == rows
    # A reloaded run reports exactly its original training time, the one its manifest records.
    assert 0 < first.training_seconds == again.training_seconds
    assert json.loads((tmp_path / "manifest.json").read_text())["runtime_s"] == round(first.training_seconds, 3)
    assert_same_state(first.model.state_dict(), again.model.state_dict())


def test_a_shorter_run_after_a_longer_one_equals_a_fresh_run_and_keeps_the_longer_one(tmp_path):
    """A run directory is keyed without its length: asking it for fewer steps than it was trained
    for gives the fresh run of that length (not an error), and the longer run stays resumable."""
    fresh = {n: run(tmp_path / f"fresh{n}", n_steps=n) for n in (10, 13, 20)}
    checkpoints = tmp_path / "run" / "checkpoints"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing here is damage
        longer, _ = run(tmp_path / "run", n_steps=20)
        assert [step for step, _ in list_checkpoints(checkpoints)] == [15, 20]
        seconds = {20: longer.training_seconds}
        for n in (10, 20, 10, 13, 20):
            trainer, rows = run(tmp_path / "run", n_steps=n)
            fresh_trainer, fresh_rows = fresh[n]
            assert rows == fresh_rows and rows[-1]["step"] == n - n % 2
            assert_same_state(trainer.model.state_dict(), fresh_trainer.model.state_dict())
            assert torch.equal(trainer.generator.get_state(), fresh_trainer.generator.get_state())
            fresh_log = (tmp_path / f"fresh{n}" / "metrics.csv").read_bytes()
            assert (tmp_path / "run" / "metrics.csv").read_bytes() == fresh_log
            manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
            assert (manifest["status"], manifest["n_steps"], manifest["steps_completed"]) == ("complete", n, n)
            if n in seconds:  # a length trained before is reloaded from its checkpoint, not retrained
                assert trainer.training_seconds == seconds[n]
            seconds[n] = trainer.training_seconds
    # every length asked for keeps its checkpoint; the newest ones before each are pruned as usual
    assert [step for step, _ in list_checkpoints(checkpoints)] == [10, 13, 15, 20]
    assert manifest["lengths"] == [10, 13, 20]


def test_pruning_keeps_the_requested_lengths_and_everything_beyond_the_saved_step(tmp_path):
    for step in (30, 40, 0, 5, 10, 15):
        save_checkpoint(tmp_path, step, {"step": step}, keep=2, keep_steps=(5, 40))
    assert [step for step, _ in list_checkpoints(tmp_path)] == [5, 10, 15, 30, 40]


def test_resume_refusals(tmp_path):
    run(tmp_path, n_steps=10)
    with pytest.raises(ValueError, match="already holds checkpoints; pass resume=True"):
        run(tmp_path, resume=False)
    with pytest.raises(ValueError, match=r"was made with other parameters \(trainer.batch_size differ\)"):
        run(tmp_path, batch_size=4)
    with pytest.raises(ValueError, match=r"was made with other parameters \(model.n_critic differ\)"):
        run(tmp_path, model=make_model(n_critic=3))


def test_run_key_changes_with_anything_that_shapes_the_run_but_not_its_length():
    import torch

    from qlatent.latent import GaussianLatent
    from qlatent.training.bank import TensorBank
    from qlatent.training.loop import TrainerConfig, run_key

    data = TensorBank(torch.arange(12.0).reshape(4, 3))
    config = TrainerConfig(n_steps=5, batch_size=2, seed=0)
    key = run_key(make_model(), GaussianLatent(2), data, config)
    assert len(key) == 12
    assert run_key(make_model(), GaussianLatent(2), data, TrainerConfig(n_steps=50, batch_size=2, seed=0)) == key
    assert run_key(make_model(), GaussianLatent(2), data, TrainerConfig(n_steps=5, batch_size=2, seed=1)) != key
    assert run_key(make_model(n_critic=3), GaussianLatent(2), data, config) != key
    other_data = TensorBank(torch.arange(12.0).reshape(4, 3) + 1)  # same shape, other values
    assert run_key(make_model(), GaussianLatent(2), other_data, config) != key


# --- divergence ----------------------------------------------------------------------------------

def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path):
    poisoned = FailingBank(DATA, fail_after=12, failure="nan")  # 2 batches a step: step 7 sees NaN
    with pytest.raises(TrainingDivergedError, match=r"training diverged at step 7: critic_loss = nan; "
                                                    r"last good checkpoint kept: .*step_00000005.pt") as info:
        run(tmp_path, data=poisoned)
    assert info.value.step == 7 and info.value.name == "critic_loss" and np.isnan(info.value.value)
    assert [step for step, _ in list_checkpoints(tmp_path / "checkpoints")] == [0, 5]
    state = load_checkpoint(checkpoint_path(tmp_path / "checkpoints", 5))
    assert state["step"] == 5
    assert all(torch.isfinite(t).all() for t in state["model"]["generator"].values())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "diverged" and "step 7" in manifest["error"]
    # the good checkpoint is usable: training resumes from it with clean data and finishes
    trainer, _ = run(tmp_path)
    assert trainer.step == 20


def test_divergence_in_a_shorter_run_names_its_own_last_checkpoint_not_the_longer_runs(tmp_path):
    run(tmp_path, n_steps=20)
    poisoned = FailingBank(DATA, fail_after=12, failure="nan")
    with pytest.raises(TrainingDivergedError, match=r"at step 7: .*last good checkpoint kept: .*step_00000005.pt"):
        run(tmp_path, data=poisoned, n_steps=10)
    assert [step for step, _ in list_checkpoints(tmp_path / "checkpoints")] == [0, 5, 15, 20]


def test_a_non_finite_weight_is_never_checkpointed(tmp_path):
    with pytest.raises(TrainingDivergedError, match=r"at step 5: state entry weight = nan; last good checkpoint "
                                                    r"kept: .*step_00000000.pt"):
        run(tmp_path, model=ToyModel(poison_at=3))
    assert [step for step, _ in list_checkpoints(tmp_path / "checkpoints")] == [0]


# --- run directory -------------------------------------------------------------------------------

def test_manifest_metrics_and_evaluation(tmp_path):
    def evaluate(model, latent, generator):
        return {"mean_x": float(model.sample(32, latent, generator)[:, 0].mean())}

    plain, _ = run(tmp_path / "plain", n_steps=6)
    trainer = Trainer(make_model(), BankLatent(2), TensorBank(DATA), make_config(n_steps=6), tmp_path / "eval",
                      evaluate=evaluate)
    rows = trainer.fit()
    # evaluation has its own generator: the training stream is the same with or without it
    assert_same_state(plain.model.state_dict(), trainer.model.state_dict())
    assert [row["step"] for row in rows] == [2, 4, 6]
    assert set(rows[0]) == {"step", "critic_loss", "wasserstein", "gradient_penalty", "generator_loss", "mean_x"}
    header = (tmp_path / "eval" / "metrics.csv").read_text().splitlines()[0]
    assert header.startswith("step,critic_loss")
    manifest = json.loads((tmp_path / "eval" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["steps_completed"] == 6 and manifest["n_steps"] == 6
    assert manifest["seeds"] == {"train": 3, "init": 5}
    assert manifest["device"] == "cpu" and manifest["runtime_s"] >= 0
    assert manifest["parameters"]["model"]["n_critic"] == 2
    assert manifest["parameters"]["latent"] == {"name": "bank", "dim": 2, "size": 40}
    assert manifest["parameters"]["data"]["size"] == 48
    assert {"git_commit", "versions"} <= set(manifest["environment"])
    assert manifest["environment"]["versions"]["torch"] == torch.__version__
    samples = trainer.sample(10, torch.Generator().manual_seed(0))
    assert samples.shape == (10, 3)


def test_progress_bar_can_be_shown_or_hidden(tmp_path, capsys):
    run(tmp_path / "quiet", n_steps=2, progress=False)
    assert capsys.readouterr().err == ""
    run(tmp_path / "shown", n_steps=2, progress=True)
    assert "2/2" in capsys.readouterr().err


class SlowBank(TensorBank):
    """Real batches, each a little slow, counted: long enough for a second process to arrive mid-run."""

    def __init__(self, *arrays) -> None:
        super().__init__(*arrays)
        self.calls = 0

    def batch(self, batch_size, generator):
        import time

        self.calls += 1
        time.sleep(0.02)
        return super().batch(batch_size, generator)


def test_two_trainers_on_one_run_directory_train_it_once(tmp_path):
    """A second trainer (another notebook, a sweep) waits for the first, then only reloads the finished run."""
    import threading

    _, straight_rows = run(tmp_path / "straight", model=ToyModel(), data=TensorBank(DATA))
    banks, results = [SlowBank(DATA), SlowBank(DATA)], {}

    def train(index):
        results[index] = run(tmp_path / "shared", model=ToyModel(), data=banks[index])[1]

    first = threading.Thread(target=train, args=(0,))
    first.start()
    while banks[0].calls < 3:  # the first is mid-run
        threading.Event().wait(0.005)
    second = threading.Thread(target=train, args=(1,))
    second.start()
    first.join()
    second.join()
    assert banks[0].calls + banks[1].calls == 20  # n_steps batches in all: trained once
    assert results[0] == results[1] == straight_rows
    assert ((tmp_path / "shared" / "metrics.csv").read_bytes()
            == (tmp_path / "straight" / "metrics.csv").read_bytes())


# --- damaged files: named, set aside, the last intact checkpoint used ----------------------------

def _damage_checkpoint(path, how):
    """Damage a checkpoint file the ways a disk, a copy or a stray write can."""
    data = path.read_bytes()
    state = load_checkpoint(path)
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "not_a_dict":
        torch.save([1, 2, 3], path)
    elif how == "missing_entry":
        del state["rng"]
        torch.save(state, path)
    elif how == "other_step":
        state["step"] = 7
        torch.save(state, path)
    elif how == "wrong_shapes":
        state["model"]["generator"] = {key: torch.zeros(1) for key in state["model"]["generator"]}
        torch.save(state, path)
    elif how == "bad_metrics":
        state["metrics"] = [{"step": 4}, {"step": 2}]
        torch.save(state, path)
    return path.read_bytes()


DAMAGES = ["empty", "truncated", "not_a_dict", "missing_entry", "other_step", "wrong_shapes", "bad_metrics"]


@pytest.mark.parametrize("how", ["empty", "truncated", "not_a_dict"])
def test_load_checkpoint_names_a_damaged_file(tmp_path, how):
    path = save_checkpoint(tmp_path, 3, {"step": 3, "w": torch.ones(100)})
    _damage_checkpoint(path, how)
    reason = {"empty": r"cannot be read \(the file is empty\)", "truncated": r"cannot be read \(RuntimeError: ",
              "not_a_dict": "holds a list, not a checkpoint's dictionary"}[how]
    with pytest.raises(checkpoint_module.CorruptCheckpointError,
                       match=rf"checkpoint .*step_00000003\.pt {reason}") as info:
        load_checkpoint(path)
    assert info.value.paths == [path]
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "step_00000004.pt")


def test_set_aside_keeps_every_damaged_copy(tmp_path):
    path = tmp_path / "metrics.csv"
    for text in ("first", "second"):
        path.write_text(text)
        checkpoint_module.set_aside(path)
    assert not path.exists()
    assert (tmp_path / "metrics.csv.corrupt").read_text() == "first"
    assert (tmp_path / "metrics.csv.corrupt.1").read_text() == "second"


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_newest_checkpoint_is_set_aside_and_the_previous_one_used(tmp_path, how):
    straight, straight_rows = run(tmp_path / "straight")
    run(tmp_path / "damaged", n_steps=10)
    newest = checkpoint_path(tmp_path / "damaged" / "checkpoints", 10)
    damaged_bytes = _damage_checkpoint(newest, how)
    with pytest.warns(RuntimeWarning, match=r"checkpoint .*step_00000010\.pt (cannot be read|is damaged|holds a list)"
                                            r".*kept aside as .*step_00000010\.pt\.corrupt, trying the previous"):
        resumed, resumed_rows = run(tmp_path / "damaged")
    assert (tmp_path / "damaged" / "checkpoints" / "step_00000010.pt.corrupt").read_bytes() == damaged_bytes
    # resumed from step 5: the same run as one never damaged, metrics log included
    assert_same_state(straight.model.state_dict(), resumed.model.state_dict())
    assert resumed_rows == straight_rows
    assert (tmp_path / "straight" / "metrics.csv").read_bytes() == (tmp_path / "damaged" / "metrics.csv").read_bytes()
    assert json.loads((tmp_path / "damaged" / "manifest.json").read_text())["status"] == "complete"


def test_when_no_checkpoint_is_intact_one_error_names_them_all(tmp_path):
    straight, _ = run(tmp_path / "straight", n_steps=10)
    run(tmp_path / "damaged", n_steps=10)
    folder = tmp_path / "damaged" / "checkpoints"
    _damage_checkpoint(checkpoint_path(folder, 5), "empty")
    _damage_checkpoint(checkpoint_path(folder, 10), "truncated")
    with pytest.warns(RuntimeWarning), pytest.raises(
            checkpoint_module.CorruptCheckpointError,
            match=r"no intact checkpoint remains in .*checkpoints: checkpoint .*step_00000010\.pt cannot be read .*"
                  r"\(kept as step_00000010\.pt\.corrupt\); checkpoint .*step_00000005\.pt cannot be read \(the file "
                  r"is empty\) \(kept as step_00000005\.pt\.corrupt\)\. .*running again trains from step 0") as info:
        run(tmp_path / "damaged", n_steps=10)
    assert [path.name for path in info.value.paths] == ["step_00000010.pt", "step_00000005.pt"]
    assert sorted(path.name for path in folder.iterdir()) == ["step_00000005.pt.corrupt", "step_00000010.pt.corrupt"]
    again, _ = run(tmp_path / "damaged", n_steps=10)  # from step 0: the run trained afresh
    assert_same_state(straight.model.state_dict(), again.model.state_dict())
    assert (tmp_path / "straight" / "metrics.csv").read_bytes() == (tmp_path / "damaged" / "metrics.csv").read_bytes()


def test_a_checkpoint_of_other_parameters_is_refused_not_set_aside(tmp_path):
    run(tmp_path, n_steps=10)
    with pytest.raises(ValueError, match="was made with other parameters"):
        run(tmp_path, batch_size=4)
    assert [step for step, _ in list_checkpoints(tmp_path / "checkpoints")] == [5, 10]
    assert not list((tmp_path / "checkpoints").glob("*.corrupt"))


def _damage_metrics(path, how):
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    damaged = {"cut_mid_row": text[:-6],
               "garbage_row": "".join(lines[:3] + ["4,not a number,\x00,,\n"] + lines[4:]),
               "wrong_cell_count": "".join(lines[:2] + ["4,1.0\n"] + lines[3:]),
               "fewer_rows": "".join(lines[:3]),
               "bad_header": "".join(["loss,step\n"] + lines[1:]),
               "empty": ""}[how]
    path.write_text(damaged)
    return damaged


@pytest.mark.parametrize("how", ["cut_mid_row", "garbage_row", "wrong_cell_count", "fewer_rows", "bad_header",
                                 "empty"])
def test_a_damaged_metrics_log_is_set_aside_and_rewritten_from_the_checkpoint(tmp_path, how):
    _, straight_rows = run(tmp_path / "straight")
    run(tmp_path / "damaged", n_steps=10)
    metrics = tmp_path / "damaged" / "metrics.csv"
    damaged = _damage_metrics(metrics, how)
    with pytest.warns(RuntimeWarning, match=r"metrics log .*metrics\.csv is damaged: .*; kept aside as "
                                            r".*metrics\.csv\.corrupt and rewritten from checkpoint .*step_00000010"):
        _, rows = run(tmp_path / "damaged")
    assert (tmp_path / "damaged" / "metrics.csv.corrupt").read_text() == damaged
    assert rows == straight_rows
    assert metrics.read_bytes() == (tmp_path / "straight" / "metrics.csv").read_bytes()


def test_a_finished_run_with_a_lost_metrics_log_gets_it_back(tmp_path):
    _, rows = run(tmp_path, n_steps=10)
    written = (tmp_path / "metrics.csv").read_bytes()
    (tmp_path / "metrics.csv").unlink()
    _, reloaded = run(tmp_path, n_steps=10)
    assert reloaded == rows and (tmp_path / "metrics.csv").read_bytes() == written
    assert not list(tmp_path.glob("*.corrupt"))


def test_read_metrics_returns_the_intact_rows_and_the_damage(tmp_path):
    from qlatent.training.runlog import read_metrics

    path = tmp_path / "metrics.csv"
    path.write_text("step,loss\n2,0.5\n4,0.25\n6,0.1")
    assert read_metrics(path) == ([{"step": 2, "loss": 0.5}, {"step": 4, "loss": 0.25}],
                                  "its last row (line 4) is cut off")
    path.write_text("step,loss\n2,0.5\n2,0.25\n")
    assert read_metrics(path)[1] == "line 3 has step '2', not a step after the previous row's"
    path.write_text("step,loss\n2,0.5\n4,abc\n")
    assert read_metrics(path) == ([{"step": 2, "loss": 0.5}], "line 3 holds a cell that is not a number")
    path.write_bytes(b"step,loss\n2,\xff\n")
    assert read_metrics(path)[1].startswith("it is not UTF-8 text")
    path.write_text("step,loss\n2,nan\n4,\n")
    rows, problem = read_metrics(path)
    assert problem is None and np.isnan(rows[0]["loss"]) and rows[1] == {"step": 4, "loss": None}
    assert read_metrics(tmp_path / "missing.csv") == ([], None)
    log = MetricsLog(path)
    path.write_text("step,loss\n2,0.5\n4,0.25,9\n")
    assert log.load(up_to_step=10) == "line 3 has 3 cells, the header 2" and log.rows == [{"step": 2, "loss": 0.5}]


def test_a_checkpoint_without_its_log_uses_the_csv_and_warns_of_missing_rows(tmp_path):
    """Checkpoints written before logs were checkpointed still resume; the CSV's rows are used."""
    _, straight_rows = run(tmp_path / "straight")
    for name, keep_lines in (("intact", None), ("short", 3)):
        run(tmp_path / name, n_steps=10)
        for _, path in list_checkpoints(tmp_path / name / "checkpoints"):
            state = load_checkpoint(path)
            del state["metrics"]
            torch.save(state, path)
        if keep_lines:
            metrics = tmp_path / name / "metrics.csv"
            metrics.write_text("".join(metrics.read_text().splitlines(keepends=True)[:keep_lines]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(tmp_path / "intact")[1] == straight_rows
    with pytest.warns(RuntimeWarning, match=r"metrics log .*metrics\.csv lacks the rows of steps \[6, 8, 10\] before "
                                            r"checkpoint .*step_00000010\.pt's step 10"):
        _, rows = run(tmp_path / "short")
    assert [row["step"] for row in rows] == [2, 4] + list(range(12, 21, 2))


@pytest.mark.parametrize("text", ["{\"status\": \"runn", "", "[1, 2]"])
def test_a_manifest_that_is_not_json_is_set_aside_and_rewritten(tmp_path, text):
    run(tmp_path, n_steps=4)
    (tmp_path / "manifest.json").write_text(text)
    with pytest.warns(RuntimeWarning, match=r"run manifest .*manifest\.json is damaged: it (is not JSON|holds a JSON "
                                            r"list).*kept aside as .*manifest\.json\.corrupt and rewritten"):
        run(tmp_path, n_steps=6)
    assert (tmp_path / "manifest.json.corrupt").read_text() == text
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["steps_completed"] == 6
