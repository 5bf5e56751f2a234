"""Command line: ``python -m course_lib lottery ...`` runs a lottery ticket study;
``python -m course_lib compare ...`` compares the ways of finding tickets cheaply
(:func:`course_lib.experiments.compare.compare_study`; JSON ``rows``: ``method``, ``sparsity``,
``weights_remaining``, ``test_acc_mean``, ``test_acc_std``, ``cost_iterations``).

Example (about 2 minutes on 2 CPU cores)::

    python -m course_lib lottery --dataset mnist5k --rounds 8 --seeds 3 \\
        --json lottery.json --plot lottery.png

writes the result as JSON (``dense_test_acc`` and one row per variant and round:
``variant``, ``round``, ``weights_remaining``, ``test_acc_mean``, ``test_acc_std``,
``early_stop_iter_mean``, ...; accuracies in percent) and a plot in the style of
the LTH paper. Options left out take the data set's preset
(:data:`course_lib.experiments.lottery.PRESETS`). Bad arguments exit with status 2 and a message.

Conv nets (``--model conv2|conv4|conv6|vgg11|...``) train one run at a time on the pictures;
``--rewind-iter 0,20`` compares rewinding to initialization with late rewinding (Frankle et
al. 2020) on the same dense runs (the JSON then holds one result per rewinding point);
``--device auto|cpu|cuda`` (default cpu) trains on a GPU where there is one, e.g. the
CIFAR-10 version::

    python -m course_lib lottery --dataset cifar10 --data-root data --download \\
        --model vgg11 --width 1 --device auto --json artifacts/vgg11_cifar10.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from course_lib._checks import check_float, check_int, check_iterations, check_rate, publish
from course_lib.experiments.compare import METHODS
from course_lib.experiments.lottery_result import VARIANTS
from course_lib.training.conv_models import CONV_MODELS
from course_lib.training.data import DATASETS
from course_lib.training.device import resolve_device

PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")
#: The data sets of ``--dataset`` (CIFAR-10 needs ``--data-root``, and ``--download`` to fetch it).
CLI_DATASETS = tuple(dict.fromkeys([*DATASETS, "cifar10"]))
#: Data sets read from files under ``--data-root``.
FILE_DATASETS = ("mnist", "cifar10")
#: The data sets of ``compare --dataset`` (shipped with the package; the networks are MLPs).
COMPARE_DATASETS = tuple(d for d in DATASETS if d not in FILE_DATASETS)


def _argument(convert: Callable[[str], Any], check: Callable[[Any], Any], accepted: str) -> Callable[[str], Any]:
    """An argparse type: ``check(convert(text))`` (a validator of course_lib._checks), whose
    error becomes argparse's one-line message saying what is ``accepted``."""

    def parse(text: str) -> Any:
        try:
            return check(convert(text))
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {accepted}, got {text!r}") from None

    parse.__name__ = accepted
    return parse


def _nonzero_rate(value: float) -> float:
    if check_rate(value) == 0.0:
        raise ValueError("a study that prunes nothing has no tickets")
    return value


_positive_int = _argument(int, lambda v: check_int(v, "value", 1), "an int >= 1")
_nonnegative_int = _argument(int, lambda v: check_int(v, "value", 0), "an int >= 0")
_rate = _argument(float, _nonzero_rate, "a number in (0, 1)")
_positive_float = _argument(float, lambda v: check_float(v, "value", strict=True), "a finite number > 0")
_iterations = _argument(
    lambda text: [int(k) for k in text.split(",")],
    lambda v: check_iterations(v, "value"),
    "distinct ints >= 0, comma-separated",
)


def _device(text: str) -> Any:
    """The ``--device`` type: :func:`resolve_device`'s ``torch.device``, or its message (CUDA missing, ...)."""
    try:
        return resolve_device(text, "--device")
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m course_lib`` argument parser (sub-commands ``lottery`` and ``compare``)."""
    parser = argparse.ArgumentParser(prog="python -m course_lib", description="course_lib command line tools")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lot = sub.add_parser(
        "lottery",
        help="iterative magnitude pruning with rewinding: ticket vs random reinit vs random pruning",
        description="Run a lottery ticket study (IMP with rewinding and its two controls) over several seeds.",
    )
    lot.set_defaults(command_parser=lot)  # errors found after parsing name "python -m course_lib lottery"
    lot.add_argument("--dataset", default="mnist5k", choices=CLI_DATASETS, help="data set (default: mnist5k)")
    lot.add_argument("--rounds", type=_positive_int, help="pruning rounds (preset: mnist5k 8, mnist1d 5)")
    lot.add_argument("--seeds", type=_positive_int, default=3, help="number of seeds, 0..S-1 (default 3)")
    lot.add_argument("--epochs", type=_positive_int, help="training epochs per round (preset)")
    lot.add_argument("--rate", type=_rate, help="fraction of the remaining weights pruned per round (preset)")
    lot.add_argument("--output-rate", type=_rate, help="rate of the output layer (default: rate / 2)")
    lot.add_argument(
        "--rewind-iter",
        type=_iterations,
        default=[0],
        help="rewind to the weights at this iteration (0 = initialization; k > 0 = late rewinding); "
        "several, e.g. 0,20, compare them on the same dense runs",
    )
    lot.add_argument(
        "--model",
        help="'lenet' (LeNet-300-100), hidden widths such as '100,100' (preset), or a conv net: "
        + ", ".join(CONV_MODELS),
    )
    lot.add_argument("--width", type=_positive_float, help="a conv net's channel multiplier (default: its own)")
    lot.add_argument(
        "--device", type=_device, default="cpu", help="auto, cpu, cuda or cuda:N (default cpu; auto: a GPU if any)"
    )
    lot.add_argument(
        "--lr", type=_positive_float, help="Adam learning rate (preset: 1.2e-3 for LeNet as in the LTH paper)"
    )
    lot.add_argument("--batch-size", type=_positive_int, default=60, help="minibatch size (default 60)")
    lot.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated subset of {','.join(VARIANTS)} (must include ticket)",
    )
    lot.add_argument(
        "--threads", type=_positive_int, help="torch CPU threads (default: 1 for small MLPs, all but one for conv nets)"
    )
    lot.add_argument("--data-seed", type=_nonnegative_int, default=0, help="seed of the train/val/test split")
    lot.add_argument("--data-root", help="folder of the data files (--dataset mnist: IDX files; cifar10: the archive)")
    lot.add_argument("--data-url", help="URL to download missing files from (mnist, cifar10; SHA-256 verified)")
    lot.add_argument(
        "--download", action="store_true", help="--dataset cifar10: download the archive into --data-root if missing"
    )
    lot.add_argument("--json", dest="json_path", help="write the result here (JSON)")
    lot.add_argument("--curves", action="store_true", help="also store every run's validation/test curves in the JSON")
    lot.add_argument("--plot", dest="plot_path", help=f"write the plot here ({', '.join(PLOT_SUFFIXES)})")
    lot.add_argument("--quiet", action="store_true", help="no progress bar and no table on stdout")
    _add_compare(sub)
    return parser


def _add_compare(sub: Any) -> None:
    """The ``compare`` sub-command: every ticket-finding method side by side."""
    cmp = sub.add_parser(
        "compare",
        help="IMP vs pruning at initialization vs early-bird vs sparse training: accuracy and cost",
        description="Compare ticket-finding methods at several sparsities over seeds (about 2 CPU minutes by default).",
    )
    cmp.add_argument("--dataset", default="mnist5k", choices=COMPARE_DATASETS, help="data set (default: mnist5k)")
    for flag, kind, default, text in (
        ("--methods", _methods, list(METHODS), f"comma-separated subset of {','.join(METHODS)} (default: all)"),
        ("--sparsities", _sparsities, [0.9, 0.98], "target fractions pruned, comma-separated (default 0.9,0.98)"),
        ("--seeds", _positive_int, 3, "number of seeds, 0..S-1 (default 3)"),
        ("--epochs", _positive_int, 4, "epochs of every training run (default 4)"),
        ("--model", str, "lenet", "'lenet' (LeNet-300-100) or hidden widths such as '100,100'"),
        ("--lr", _positive_float, 1.2e-3, "Adam learning rate (default 1.2e-3)"),
        ("--imp-rate", _rate, 0.5, "IMP: fraction of the remaining weights pruned per round (default 0.5)"),
    ):
        cmp.add_argument(flag, type=kind, default=default, help=text)
    cmp.add_argument("--threads", type=_positive_int, help="torch CPU threads (default: torch's)")
    cmp.add_argument("--json", dest="json_path", help="write the result here (JSON)")
    cmp.add_argument("--plot", dest="plot_path", help=f"write the plot here ({', '.join(PLOT_SUFFIXES)})")
    cmp.add_argument("--quiet", action="store_true", help="no progress bar and no table on stdout")
    cmp.set_defaults(command_parser=cmp)  # errors found after parsing name "python -m course_lib compare"


def _list_of(item: Callable[[str], Any], accepted: str) -> Callable[[str], Any]:
    """An argparse type: a comma-separated list of ``item(text)`` (non-empty, distinct, no empty
    entry as in ``"snip,"``; ``item`` raises ``ValueError`` on a bad entry), else argparse's
    message saying what is ``accepted``."""

    def parse(text: str) -> list[Any]:
        parts = [p.strip() for p in text.split(",")]
        if not all(parts):
            raise argparse.ArgumentTypeError(f"must be {accepted}, got {text!r} (an empty entry)")
        try:
            values = [item(p) for p in parts]
        except ValueError:
            values = []
        if not values or len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"must be {accepted}, got {text!r}")
        return values

    parse.__name__ = accepted
    return parse


_methods = _list_of(lambda t: METHODS[METHODS.index(t)], f"distinct names among {','.join(METHODS)}")
_sparsities = _list_of(
    lambda t: float(t) if 0.0 < float(t) < 1.0 else float("x"), "distinct numbers in (0, 1), comma-separated"
)


def _check_writable(parser: argparse.ArgumentParser, path: str | None, option: str) -> None:
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        parser.error(f"{option} {path!r} is a directory; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        parser.error(f"{option} {path!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        parser.error(f"{option} {path!r} is not writable")


def _write_atomic(path: str, text: str) -> None:
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent if str(p.parent) else ".")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        publish(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """Exit with status 2 and a message on arguments argparse cannot check alone; returns the variants."""
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in variants if v not in VARIANTS]
    if bad or "ticket" not in variants:
        parser.error(
            f"--variants must be a comma-separated subset of {','.join(VARIANTS)} including ticket, "
            f"got {args.variants!r}"
        )
    _check_writable(parser, args.json_path, "--json")
    _check_writable(parser, args.plot_path, "--plot")
    if args.plot_path and Path(args.plot_path).suffix.lower() not in PLOT_SUFFIXES:
        parser.error(f"--plot must end in one of {', '.join(PLOT_SUFFIXES)}, got {args.plot_path!r}")
    _check_data_args(parser, args)
    if args.model is not None and args.model.strip().lower() not in CONV_MODELS:
        from course_lib.experiments.lottery import make_model

        try:
            make_model(args.model, 4, 2)
        except ValueError:
            parser.error(
                f"--model must be 'lenet', hidden widths such as '100,100', or a conv net, one of "
                f"{', '.join(CONV_MODELS)}; got {args.model!r}"
            )
    return variants


def _check_data_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with status 2 unless ``--data-root``, ``--data-url`` and ``--download`` fit ``--dataset``."""
    if args.download and args.dataset != "cifar10":
        parser.error(
            f"--download applies only to --dataset cifar10 (--dataset {args.dataset} does not download; "
            "mnist takes --data-url)"
        )
    if args.dataset in FILE_DATASETS and not args.data_root:
        how = "add --data-url to download" if args.dataset == "mnist" else "add --download to fetch it"
        parser.error(f"--dataset {args.dataset} needs --data-root (the folder of its files; {how})")
    if args.dataset not in FILE_DATASETS and (args.data_root or args.data_url):
        parser.error(f"--data-root/--data-url apply only to --dataset {' or '.join(FILE_DATASETS)}")


def _load_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``load`` for ``args.dataset`` (files, URL, download)."""
    options: dict[str, Any] = {}
    if args.dataset in FILE_DATASETS:
        options["root"] = args.data_root
        if args.data_url:
            options["url"] = args.data_url
    if args.dataset == "cifar10":
        options["download"] = bool(args.download)
    return options


def _study(parser: argparse.ArgumentParser, args: argparse.Namespace, variants: list[str]) -> Any:
    """Load the data and run the study: one ``LotteryResult``, or ``{k: result}`` for several ``--rewind-iter``."""
    from course_lib.experiments.lottery import lottery_study, rewinding_study
    from course_lib.training.data import load

    try:
        data = load(args.dataset, seed=args.data_seed, **_load_options(args))
    except (OSError, ValueError) as err:
        parser.error(f"could not load --dataset {args.dataset}: {err}")
    options: dict[str, Any] = dict(
        model=args.model,
        rounds=args.rounds,
        seeds=args.seeds,
        rate=args.rate,
        output_rate=args.output_rate,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        data_seed=args.data_seed,
        progress=not args.quiet,
        threads=args.threads,
        device=args.device,
    )
    if args.width is not None:
        options["width"] = args.width
    try:
        if len(args.rewind_iter) == 1:
            return lottery_study(data, rewind_iter=args.rewind_iter[0], variants=variants, **options)
        return rewinding_study(data, args.rewind_iter, variants=variants, late_variants=variants, **options)
    except ValueError as err:  # e.g. --rewind-iter beyond the training length, a conv net on MNIST-1D
        parser.error(str(err))


def _lottery(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run ``lottery``: load the data, run the study, write the JSON and the plot, print the table."""
    variants = _check_args(parser, args)
    result = _study(parser, args, variants)
    several = isinstance(result, dict)
    results = result if several else {args.rewind_iter[0]: result}
    if args.json_path:
        js = (
            {"rewind_iters": list(results), "results": [r.to_json(curves=args.curves) for r in results.values()]}
            if several
            else result.to_json(curves=args.curves)
        )
        _write_atomic(args.json_path, json.dumps(js, indent=1) + "\n")
    if args.plot_path:
        import matplotlib

        matplotlib.use("Agg")
        from course_lib.viz.lottery import plot_lottery, plot_rewinding

        fig = plot_rewinding(results) if several else plot_lottery(result)
        fig.savefig(args.plot_path, dpi=120, bbox_inches="tight")
    if not args.quiet:
        for k, res in results.items():
            if several:
                print(f"rewound to iteration {k}:")
            print(res.table())
        print(f"{next(iter(results.values())).seconds:.1f} s")
    return 0


def _compare(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run ``compare``: the study, its JSON (``rows``, ``versus_random``), plot and table;
    ``parser`` is the ``compare`` sub-parser, whose ``error`` exits 2 naming the sub-command."""
    from course_lib.experiments.compare import compare_study
    from course_lib.experiments.lottery import make_model

    for path, option in ((args.json_path, "--json"), (args.plot_path, "--plot")):
        _check_writable(parser, path, option)
    if args.plot_path and Path(args.plot_path).suffix.lower() not in PLOT_SUFFIXES:
        parser.error(f"--plot must end in one of {', '.join(PLOT_SUFFIXES)}, got {args.plot_path!r}")
    try:
        make_model(args.model, 4, 2)
    except ValueError:
        parser.error(f"--model must be 'lenet' or hidden widths such as '100,100', got {args.model!r}")
    result = compare_study(
        args.dataset,
        methods=args.methods,
        sparsities=args.sparsities,
        seeds=args.seeds,
        epochs=args.epochs,
        model=args.model,
        lr=args.lr,
        imp_rate=args.imp_rate,
        threads=args.threads,
        progress=not args.quiet,
    )
    if args.json_path:
        _write_atomic(args.json_path, json.dumps(result.to_dict(), indent=1) + "\n")
    if args.plot_path:
        import matplotlib

        matplotlib.use("Agg")
        from course_lib.viz.compare import compare_figure

        compare_figure(result).savefig(args.plot_path, dpi=120, bbox_inches="tight")
    if not args.quiet:
        print(result.table())
        print(f"{result.seconds:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m course_lib``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "lottery":
        return _lottery(args.command_parser, args)
    if args.command == "compare":
        return _compare(args.command_parser, args)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover - argparse rejects it first
    return 2


if __name__ == "__main__":
    sys.exit(main())
