"""course_lib.training.train on conv nets: pruned conv weights stay zero, BatchNorm modes, clear errors.

Conv-2 and VGG-11 (BatchNorm) on the 8x8 digits as pictures: small enough for seconds per run.
"""

import pytest
import torch
from torch import nn

from course_lib.pruning.magnitude import magnitude_masks
from course_lib.training.config import auto_threads
from course_lib.training.conv_models import conv_model
from course_lib.training.data import as_images, load
from course_lib.training.record import evaluate
from course_lib.training.stacked import train_many
from course_lib.training.train import train

DIGITS = load("digits")
IMAGES = as_images(DIGITS)


def _conv2(seed=0):
    return conv_model("conv2", input_size=8, width=0.25, hidden=(32, 32), seed=seed)


def _vgg(seed=0):
    return conv_model("vgg11", input_size=8, width=0.125, seed=seed)


def _state(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


@pytest.mark.parametrize("opt, lr, epochs", [("adam", 5e-3, 3), ("sgd", 0.1, 5)])
def test_pruned_conv_weights_stay_exactly_zero_and_the_net_learns(opt, lr, epochs):
    net = _conv2()
    masks = magnitude_masks(net, 0.6)
    assert any(m.dim() == 4 for m in masks.values())  # conv weights are masked too
    run = train(net, IMAGES, masks, epochs=epochs, lr=lr, optimizer=opt, progress=False, save_at=range(0, 20))
    for state in [*run.snapshots.values(), net.state_dict()]:
        assert all(bool((state[n][~m] == 0).all()) for n, m in masks.items())
    assert run.final_test_acc > run.test_acc[0] + 30


def test_batchnorm_trains_in_train_mode_is_evaluated_in_eval_mode_and_modes_are_restored():
    net = _vgg()
    net.eval()
    net.bn1.train()  # a mixed set of modes must come back as it was
    modes = {name: m.training for name, m in net.named_modules()}
    seen = []
    net.bn1.register_forward_hook(lambda m, i, o: seen.append((m.training, torch.is_grad_enabled())))
    running_mean = net.bn1.running_mean.clone()
    run = train(net, IMAGES, epochs=1, lr=5e-3, progress=False)
    assert {name: m.training for name, m in net.named_modules()} == modes
    training_steps = [t for t, grad in seen if grad]
    evaluations = [t for t, grad in seen if not grad]
    assert training_steps and all(training_steps)  # every optimizer step in train mode
    assert evaluations and not any(evaluations)  # every evaluation (and the shape check) in eval mode
    assert not torch.equal(net.bn1.running_mean, running_mean)  # the running statistics were updated
    net.eval()
    assert abs(run.final_test_acc - evaluate(net, IMAGES.test)[1]) < 1.0  # the record is the eval-mode accuracy


def test_same_seed_same_conv_run_bit_for_bit():
    a, b = _vgg(), _vgg()
    ra = train(a, IMAGES, magnitude_masks(a, 0.5), epochs=2, progress=False, seed=3)
    rb = train(b, IMAGES, magnitude_masks(b, 0.5), epochs=2, progress=False, seed=3)
    assert ra.test_acc == rb.test_acc and ra.val_loss == rb.val_loss
    assert all(torch.equal(x, y) for x, y in zip(_state(a).values(), _state(b).values(), strict=True))


def test_weights_and_snapshots_come_back_in_the_standard_layout_on_the_cpu():
    net = _conv2()
    run = train(net, IMAGES, epochs=1, progress=False, save_at=[0, 5])
    assert all(p.is_contiguous() for p in net.parameters())
    snaps = [t for s in run.snapshots.values() for t in s.values()]
    assert all(t.device.type == "cpu" and t.is_contiguous() for t in snaps)
    assert run.snapshots[0]["conv1.weight"].data_ptr() != net.conv1.weight.data_ptr()


def test_mnist_without_a_channel_axis_gets_a_clear_error_and_the_model_is_untouched():
    net = _conv2()
    net.eval()
    before = _state(net)
    with pytest.raises(ValueError, match=r"shape \(2, 8, 8\).*pass course_lib\.training\.data\.as_images\(data\)"):
        train(net, DIGITS, epochs=1, progress=False)
    assert all(torch.equal(before[k], v) for k, v in _state(net).items())
    assert not net.training
    wrong_size = conv_model("conv2", input_size=28, seed=0)  # built for 28x28, given 8x8 pictures
    with pytest.raises(ValueError, match=r"does not accept the data.*\(2, 1, 8, 8\)"):
        train(wrong_size, IMAGES, epochs=1, progress=False)


def test_train_many_points_a_conv_net_to_train():
    with pytest.raises(TypeError, match=r"stacks course MLPs only.*Conv2d.*course_lib\.training\.train\.train"):
        train_many([_conv2(), _conv2(1)], IMAGES, seeds=[0, 1], epochs=1, progress=False)


def test_a_float64_conv_net_trains_on_float32_pictures():
    net = _conv2().double()
    run = train(net, IMAGES, epochs=2, lr=5e-3, progress=False)
    assert net.conv1.weight.dtype == torch.float64 and run.final_test_acc > 70


def test_any_module_with_float_parameters_trains():
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.out = nn.Linear(4 * 8 * 8, 10)

        def forward(self, x):
            return self.out(torch.relu(self.conv(x)).flatten(1))

    torch.manual_seed(0)
    run = train(Tiny(), IMAGES, epochs=2, lr=5e-3, progress=False)
    assert run.final_test_acc > 80


def test_conv_nets_get_threads_from_their_work_not_their_parameters(monkeypatch):
    seen = []
    net = conv_model("vgg11", seed=0)  # for 28x28 MNIST
    net.conv1.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)  # pretend a 4-core machine
    monkeypatch.setattr(torch, "set_num_threads", lambda n: seen.append(("set", n)))
    train(net, as_images(load("mnist5k")), epochs=1, batch_size=3500, progress=False)
    assert ("set", 3) in seen  # VGG-11: 0.15 M parameters but 1.56 M MACs per picture: all threads but one
    assert auto_threads(145_410, 1_556_288) == 3 and auto_threads(266_610) == 1
    assert auto_threads(2_000_000, 10) == 4  # large models keep torch's setting, as before
    with pytest.raises(ValueError, match="macs_per_example"):
        auto_threads(10, -1)
