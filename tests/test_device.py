"""course_lib.training.device: what `device=` accepts, and clear errors where CUDA is missing.

The CUDA paths are tested by pretending (monkeypatch) a machine with or without GPUs; the
one test that trains on a real GPU runs only where there is one.
"""

import pytest
import torch

from course_lib.training.data import as_images, load
from course_lib.training.device import DEVICES, available_devices, resolve_device
from course_lib.training.models import mlp
from course_lib.training.stacked import train_many
from course_lib.training.train import train

DIGITS = load("digits")


def _gpus(monkeypatch, n):
    """Pretend this machine has ``n`` CUDA devices (0: none)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n)


@pytest.mark.parametrize("value", ["cpu", " CPU ", None, torch.device("cpu")])
def test_cpu_spellings(value):
    assert resolve_device(value) == torch.device("cpu")


def test_auto_takes_a_gpu_only_where_there_is_one(monkeypatch):
    _gpus(monkeypatch, 0)
    assert resolve_device("auto") == torch.device("cpu")
    assert available_devices() == ["cpu"]
    _gpus(monkeypatch, 2)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device(torch.device("cuda", 0)) == torch.device("cuda", 0)
    assert available_devices() == ["cpu", "cuda:0", "cuda:1"]


@pytest.mark.parametrize("value", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_without_a_gpu_says_what_there_is(monkeypatch, value):
    _gpus(monkeypatch, 0)
    with pytest.raises(ValueError, match=r"device=.*asks for CUDA.*available: cpu\. Use device='cpu' or 'auto'"):
        resolve_device(value)
    with pytest.raises(ValueError, match=r"--device='cuda'"):  # the caller's name for the argument
        resolve_device("cuda", "--device")


def test_a_gpu_number_the_machine_lacks(monkeypatch):
    _gpus(monkeypatch, 1)
    with pytest.raises(ValueError, match=r"no GPU 1 here; available: cpu, cuda:0"):
        resolve_device("cuda:1")
    with pytest.raises(ValueError, match=r"no GPU 3"):
        resolve_device(torch.device("cuda", 3))


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "cuda:-1", "", "mps", "cuda0", torch.device("meta")])
def test_unknown_devices_list_the_accepted_values(value):
    with pytest.raises(ValueError, match=r"device must be one of 'auto', 'cpu', 'cuda', 'cuda:N'"):
        resolve_device(value)
    assert DEVICES == ("auto", "cpu", "cuda", "cuda:N")


@pytest.mark.parametrize("value", [0, 1.5, ["cpu"], True])
def test_non_strings_are_a_type_error(value):
    with pytest.raises(TypeError, match="device must be a string"):
        resolve_device(value)


def test_trainers_check_the_device_before_touching_the_model(monkeypatch):
    _gpus(monkeypatch, 0)
    net = mlp([64, 16, 10], seed=0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match="asks for CUDA"):
        train(net, DIGITS, epochs=1, progress=False, device="cuda")
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_auto_and_a_cpu_device_train_as_the_default_does(monkeypatch):
    _gpus(monkeypatch, 0)
    runs = []
    for device in ("cpu", "auto", torch.device("cpu"), None):
        net = mlp([64, 16, 10], seed=0)
        runs.append((train(net, DIGITS, epochs=1, progress=False, device=device), net))
    first, net0 = runs[0]
    for run, net in runs[1:]:
        assert run.test_acc == first.test_acc and run.val_loss == first.val_loss
        assert all(torch.equal(a, b) for a, b in zip(net.parameters(), net0.parameters(), strict=True))


def test_train_many_takes_a_device_too(monkeypatch):
    _gpus(monkeypatch, 0)
    nets = [mlp([64, 16, 10], seed=s) for s in (0, 1)]
    before = [{k: v.clone() for k, v in n.state_dict().items()} for n in nets]
    with pytest.raises(ValueError, match="asks for CUDA"):
        train_many(nets, DIGITS, seeds=[0, 1], epochs=1, progress=False, device="cuda:0")
    assert all(torch.equal(b[k], v) for b, n in zip(before, nets, strict=True) for k, v in n.state_dict().items())
    a = train_many(nets, DIGITS, seeds=[0, 1], epochs=1, progress=False, device="auto", save_at=[3])
    other = [mlp([64, 16, 10], seed=s) for s in (0, 1)]
    b = train_many(other, DIGITS, seeds=[0, 1], epochs=1, progress=False)
    assert [r.test_acc for r in a] == [r.test_acc for r in b]
    assert all(t.device.type == "cpu" for r in a for t in r.snapshots[3].values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_conv_training_on_a_gpu_keeps_zeros_and_gives_cpu_records():  # pragma: no cover - GPU machines only
    from course_lib.pruning.magnitude import magnitude_masks
    from course_lib.training.conv_models import conv_model

    images = as_images(DIGITS)
    net = conv_model("vgg11", input_size=8, seed=0)
    masks = magnitude_masks(net, 0.5)
    run = train(net, images, masks, epochs=2, progress=False, device="cuda", save_at=[0, 5])
    assert next(net.parameters()).is_cuda
    assert all(t.device.type == "cpu" for snap in run.snapshots.values() for t in snap.values())
    assert all(bool((net.get_parameter(n)[~m.cuda()] == 0).all()) for n, m in masks.items())
    cpu_net = conv_model("vgg11", input_size=8, seed=0)
    cpu_run = train(cpu_net, images, masks, epochs=2, progress=False)
    assert abs(run.final_test_acc - cpu_run.final_test_acc) < 5  # same recipe; float rounding differs
