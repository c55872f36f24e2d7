"""The course's command line: ``python -m attn_course <command>``.

    python -m attn_course train --model attention --task date [--epochs N] [--seed S] [--json OUT] [--save MODEL]
    python -m attn_course train --model peeky --pairs FILE --reverse
    python -m attn_course translate MODEL "september 27, 1994"
    python -m attn_course student [SOURCE] [OUT]     learner copies of the chapters, without solutions

Errors (bad arguments, unreadable files) are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

TASK_SIZE = 50_000        # pairs generated for --task, as many as in the book's data sets
TASK_SEED = 1234          # the generated data set is fixed; --seed changes the model and the shuffling


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive; got {text}")
        return value
    return parse


def _train(args: argparse.Namespace) -> int:
    import torch

    from attn_course import data
    from attn_course.models import Seq2SeqConfig
    from attn_course.train import TrainConfig, build_model, default_device, evaluate, fit, save_model

    if args.pairs:
        pairs, task = data.read_pairs(args.pairs), Path(args.pairs).name
    else:
        generate = {"addition": data.addition_pairs, "date": data.date_pairs, "words": data.word_pairs}[args.task]
        pairs, task = generate(TASK_SIZE, seed=TASK_SEED), args.task
    train_pairs, valid_pairs = data.split_pairs(pairs)
    src_vocab = data.Vocab.build((s for s, _ in train_pairs), level=args.level)
    tgt_vocab = data.Vocab.build((t for _, t in train_pairs), level=args.level)
    config = Seq2SeqConfig(src_vocab, tgt_vocab, decoder=args.model, score=args.score, embed_dim=args.embed,
                           hidden_dim=args.hidden, reverse_source=args.reverse)
    train = data.encode_pairs(train_pairs, src_vocab, tgt_vocab, reverse_source=args.reverse)
    valid = data.encode_pairs(valid_pairs, src_vocab, tgt_vocab, reverse_source=args.reverse)
    model = build_model(config, seed=args.seed, device=default_device())
    history = fit(model, train, valid, TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                                   seed=args.seed, stop_at=args.stop_at,
                                                   eval_every=args.eval_every))
    metrics = evaluate(model, valid)
    summary = {
        "model": args.model, "task": task, "epochs": args.epochs, "steps": history.steps,
        "n_train": len(train), "n_valid": len(valid), "params": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(history.train_seconds, 3), "exact_match": metrics.exact_match,
        "char_accuracy": metrics.char_accuracy, "seed": args.seed, "reverse": args.reverse,
        "score": args.score if args.model == "attention" else None, "hidden": args.hidden,
        "torch_threads": torch.get_num_threads(), "device": str(next(model.parameters()).device),
    }
    print(f"{args.model} on {task}: exact match {metrics.exact_match:.2%}, per character "
          f"{metrics.char_accuracy:.2%} on {len(valid)} held-out pairs; {history.steps} steps, "
          f"{history.train_seconds:.1f} s of training")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    if args.save:
        save_model(model, args.save)
        print(f"saved the model to {args.save}")
    return 0


def _translate(args: argparse.Namespace) -> int:
    from attn_course.train import load_model

    output, _ = load_model(args.model_file).translate(args.text)
    print(output)
    return 0


def _student(args: argparse.Namespace) -> int:
    from attn_course.student import write_student_copies

    written = write_student_copies(args.source, args.out)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} learner copies in {args.out}: exercises kept, solutions removed.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m attn_course", description="The course's command line.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train an encoder-decoder and report its held-out accuracy")
    train.add_argument("--model", choices=["vanilla", "peeky", "attention"], required=True)
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--task", choices=["addition", "date", "words"], help="a generated toy task")
    source.add_argument("--pairs", metavar="FILE", help="a UTF-8 file of source<TAB>target lines")
    train.add_argument("--epochs", type=_positive(float), default=0.5,
                       help="passes over the training pairs, may be fractional (default: 0.5)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--reverse", action=argparse.BooleanOptionalAction, default=True,
                       help="feed the source backwards (default: yes)")
    train.add_argument("--score", choices=["dot", "general", "additive"], default="dot",
                       help="attention scoring (attention model only)")
    train.add_argument("--hidden", type=_positive(int), default=64)
    train.add_argument("--embed", type=_positive(int), default=16)
    train.add_argument("--batch-size", type=_positive(int), default=128)
    train.add_argument("--lr", type=_positive(float), default=3e-2)
    train.add_argument("--level", choices=["char", "word"], default="char", help="tokens: characters or words")
    train.add_argument("--stop-at", type=float, default=None, metavar="ACC",
                       help="stop once the held-out exact match reaches ACC (e.g. 0.999)")
    train.add_argument("--eval-every", type=int, default=0, metavar="STEPS",
                       help="validate every STEPS steps (default: once per epoch)")
    train.add_argument("--json", metavar="OUT", help="write a JSON summary to OUT")
    train.add_argument("--save", metavar="MODEL", help="save the trained model to MODEL")
    train.set_defaults(run=_train)

    translate = commands.add_parser("translate", help="translate a string with a saved model")
    translate.add_argument("model_file", metavar="MODEL")
    translate.add_argument("text")
    translate.set_defaults(run=_translate)

    student = commands.add_parser("student", help="write learner copies of the chapters, without solutions")
    student.add_argument("source", nargs="?", default="chapters", help="folder of chapter notebooks (default: chapters)")
    student.add_argument("out", nargs="?", default="student", help="folder to write the copies to (default: student)")
    student.set_defaults(run=_student)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
