"""The course's command line: ``python -m attn_course <command>``.

    python -m attn_course train --model attention --task date [--epochs N] [--seed S] [--json OUT]
                                [--save MODEL [--force]]
    python -m attn_course train --model peeky --pairs FILE --reverse
    python -m attn_course translate MODEL "september 27, 1994"
    python -m attn_course student [SOURCE] [OUT] [--force]   learner copies of the chapters, without solutions

Errors (bad arguments, unreadable files, a diverging training) are one line on stderr and exit
code 2. ``train`` checks its flags and its output files before it trains, and never replaces an
existing ``--save`` file unless given ``--force``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from attn_course import _validate
from attn_course.data import LEVELS
from attn_course.models import DECODERS, SCORES, Seq2SeqConfig
from attn_course.tasks import TASKS
from attn_course.train import TrainConfig

TASK_SIZE = 50_000        # pairs generated for --task, as many as in the book's data sets
TASK_SEED = 1234          # the generated data set is fixed; --seed changes the model and the shuffling
EPOCHS = 0.5              # the CLI's default: half a pass is enough for the toy tasks


def _default(config: type, name: str) -> object:
    """A config field's default: the CLI restates none of them."""
    return next(f.default for f in dataclasses.fields(config) if f.name == name)


def _number(parse_text: type, check: Callable, what: str, low: float, high: float | None = None
            ) -> Callable[[str], float]:
    """An argparse type: the text parsed by ``parse_text`` (int or float), then checked by ``check``
    (from _validate, as everywhere); argparse puts the flag before the message."""
    def parse(text: str) -> float:
        try:
            value = parse_text(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}; got {text!r:.40}") from None
        try:
            return check("", value, low, high)
        except (TypeError, ValueError) as e:
            raise argparse.ArgumentTypeError(str(e).strip()) from None
    return parse


def _integer(low: int, high: int | None = None) -> Callable[[str], int]:
    """An int in [low, high]."""
    return _number(int, _validate.integer, "an int", low, high)


def _real(low: float, high: float | None = None) -> Callable[[str], float]:
    """A finite number in (low, high]."""
    return _number(float, _validate.real, "a number", low, high)


def _check_output(flag: str, name: str, force: bool | None) -> None:
    """Before training: the path is no folder, its folder exists and takes new files, and an existing
    file is kept unless ``force`` (None: the flag may replace its file, as --json does)."""
    path = Path(name)
    if path.is_dir():
        raise IsADirectoryError(f"{flag} {name} is a folder; give a file name in it")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{flag} {name}: the folder {path.parent} does not exist")
    if force is False and os.path.lexists(path):
        raise FileExistsError(f"{flag} {name} exists; pass --force to replace it, or choose another name")
    try:
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as e:
        raise type(e)(f"{flag} {name}: cannot write in the folder {path.parent} ({e.strerror or e})") from None


def _check_files(args: argparse.Namespace) -> None:
    """The outputs are writable and distinct, and neither is the --pairs file."""
    if args.save:
        _check_output("--save", args.save, args.force)
    if args.json:
        _check_output("--json", args.json, None)
    named = [(flag, value) for flag, value in (("--pairs", args.pairs), ("--json", args.json), ("--save", args.save))
             if value]
    for i, (flag, value) in enumerate(named):
        for other, value2 in named[i + 1:]:
            if os.path.abspath(value) == os.path.abspath(value2) or (
                    os.path.exists(value) and os.path.exists(value2) and os.path.samefile(value, value2)):
                raise ValueError(f"{flag} and {other} name the same file {value}; give each its own")


def _check_memory(args: argparse.Namespace, config: Seq2SeqConfig, train_pairs: Sequence[tuple[str, str]]) -> None:
    """Refuse, before building anything, a model and batch whose training would not fit in memory."""
    from attn_course.sizes import gigabytes, memory_available, parameter_count, training_memory

    src_len = max(len(config.src_vocab.tokenize(s)) for s, _ in train_pairs)
    tgt_len = max(len(config.tgt_vocab.tokenize(t)) for _, t in train_pairs) + 1          # + <s> or </s>
    needed = training_memory(config, min(args.batch_size, len(train_pairs)), src_len, tgt_len)
    if needed > memory_available():
        raise MemoryError(f"--hidden {args.hidden} --embed {args.embed} --batch-size {args.batch_size}: training "
                          f"would need about {gigabytes(needed)} ({parameter_count(config):.3g} parameters), "
                          f"more than this machine's {gigabytes(memory_available())}; choose a smaller --hidden "
                          f"or --embed")


def _train(args: argparse.Namespace) -> int:
    import torch

    from attn_course.evaluation import evaluate
    from attn_course.model_files import save_model
    from attn_course.tasks import read_pairs, split_pairs
    from attn_course.train import train_on_pairs

    _check_files(args)                       # before any work: nothing is trained for an unwritable file
    if args.model == "transformer" and args.embed % args.heads:
        raise ValueError(f"--embed {args.embed} must be divisible by --heads {args.heads}: each head is "
                         f"embed / heads wide")
    train_config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                               stop_at=args.stop_at, eval_every=args.eval_every)
    if args.pairs:
        pairs, task = read_pairs(args.pairs), Path(args.pairs).name
    else:
        pairs, task = TASKS[args.task](TASK_SIZE, seed=TASK_SEED), args.task
    if len(pairs) < 2:
        raise ValueError(f"{args.pairs}: holds 1 pair; training needs at least 2 pairs (10% are held out)")
    train_pairs, valid_pairs = split_pairs(pairs)
    config = Seq2SeqConfig.for_pairs(train_pairs, level=args.level, decoder=args.model, score=args.score,
                                     embed_dim=args.embed, hidden_dim=args.hidden, reverse_source=args.reverse,
                                     layers=args.layers, heads=args.heads)
    _check_memory(args, config, train_pairs)
    # a DivergedError (a ValueError) saves nothing; the progress bar only on a terminal: stderr stays for errors
    model, history = train_on_pairs(config, train_pairs, valid_pairs, train_config, progress=sys.stderr.isatty())
    metrics = evaluate(model, config.encode(valid_pairs))
    summary = {
        "model": args.model, "task": task, "epochs": args.epochs, "steps": history.steps,
        "n_train": len(train_pairs), "n_valid": len(valid_pairs), "params": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(history.train_seconds, 3), "exact_match": metrics.exact_match,
        "char_accuracy": metrics.char_accuracy, "seed": args.seed, "reverse": args.reverse,
        "score": args.score if args.model == "attention" else None, "hidden": args.hidden,
        "layers": args.layers if args.model == "transformer" else None,
        "heads": args.heads if args.model == "transformer" else None,
        "torch_threads": torch.get_num_threads(), "device": str(model.device),
    }
    print(f"{args.model} on {task}: exact match {metrics.exact_match:.2%}, per character "
          f"{metrics.char_accuracy:.2%} on {len(valid_pairs)} held-out pairs; {history.steps} steps, "
          f"{history.train_seconds:.1f} s of training")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    if args.save:
        _check_output("--save", args.save, args.force)     # again: a file may have appeared while training
        save_model(model, args.save)
        print(f"saved the model to {args.save}")
    return 0


def _translate(args: argparse.Namespace) -> int:
    from attn_course.model_files import load_model

    output, _ = load_model(args.model_file).translate(args.text)
    print(output)
    return 0


def _student(args: argparse.Namespace) -> int:
    from attn_course.student import write_student_copies

    written = write_student_copies(args.source, args.out, force=args.force)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} learner copies in {args.out}: exercises kept, solutions removed.")
    return 0


def _say(message: str) -> None:
    """One line on stderr, whatever the message holds (line breaks, bytes the terminal cannot show)."""
    line = "error: " + " ".join(str(message).split())
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    print(line.encode(encoding, "backslashreplace").decode(encoding), file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    """argparse, whose usage errors are one line on stderr and exit code 2, as every other error here."""

    def error(self, message: str) -> NoReturn:
        _say(f"{self.prog}: {message} (see --help)")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m attn_course", description="The course's command line.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train an encoder-decoder and report its held-out accuracy")
    train.add_argument("--model", choices=DECODERS, required=True)
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--task", choices=tuple(TASKS), help="a generated toy task")
    source.add_argument("--pairs", metavar="FILE", help="a UTF-8 file of source<TAB>target lines")
    train.add_argument("--epochs", type=_real(0), default=EPOCHS,
                       help=f"passes over the training pairs, may be fractional (default: {EPOCHS})")
    train.add_argument("--seed", type=_integer(0, _validate.SEED_RANGE[1]), default=_default(TrainConfig, "seed"))
    train.add_argument("--reverse", action=argparse.BooleanOptionalAction,
                       default=_default(Seq2SeqConfig, "reverse_source"), help="feed the source backwards")
    train.add_argument("--score", choices=SCORES, default=_default(Seq2SeqConfig, "score"),
                       help="attention scoring (attention model only)")
    train.add_argument("--hidden", type=_integer(1), default=_default(Seq2SeqConfig, "hidden_dim"),
                       help="LSTM state width (the transformer's feed-forward width d_ff)")
    train.add_argument("--embed", type=_integer(1), default=_default(Seq2SeqConfig, "embed_dim"),
                       help="embedding width (the transformer's width d_model)")
    train.add_argument("--layers", type=_integer(1), default=_default(Seq2SeqConfig, "layers"),
                       help="transformer: encoder layers, and as many decoder layers")
    train.add_argument("--heads", type=_integer(1), default=_default(Seq2SeqConfig, "heads"),
                       help="transformer: attention heads (--embed must be divisible by it)")
    train.add_argument("--batch-size", type=_integer(1), default=_default(TrainConfig, "batch_size"))
    train.add_argument("--lr", type=_real(0), default=_default(TrainConfig, "lr"))
    train.add_argument("--level", choices=LEVELS, default=LEVELS[0], help="tokens: characters or words")
    train.add_argument("--stop-at", type=_real(0, 1), default=None, metavar="ACC",
                       help="stop once the held-out exact match reaches ACC in (0, 1] (e.g. 0.999)")
    train.add_argument("--eval-every", type=_integer(0), default=0, metavar="STEPS",
                       help="validate every STEPS steps (default: once per epoch)")
    train.add_argument("--json", metavar="OUT", help="write a JSON summary to OUT")
    train.add_argument("--save", metavar="MODEL",
                       help="save the trained model to MODEL (a safetensors file, e.g. date.safetensors)")
    train.add_argument("--force", action="store_true", help="replace the --save file if it exists")
    train.set_defaults(run=_train)

    translate = commands.add_parser("translate", help="translate a string with a saved model")
    translate.add_argument("model_file", metavar="MODEL")
    translate.add_argument("text")
    translate.set_defaults(run=_translate)

    student = commands.add_parser("student", help="write learner copies of the chapters, without solutions")
    student.add_argument("source", nargs="?", default="chapters", help="folder of chapter notebooks (default: chapters)")
    student.add_argument("out", nargs="?", default="student", help="folder to write the copies to (default: student)")
    student.add_argument("--force", action="store_true",
                         help="replace learner copies that already exist in OUT (never files in SOURCE)")
    student.set_defaults(run=_student)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError, MemoryError) as e:
        _say(str(e))
        return 2
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
