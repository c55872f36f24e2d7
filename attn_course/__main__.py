"""The course's command line: ``python -m attn_course <command>``.

    python -m attn_course student [SOURCE] [OUT]   learner copies without solutions
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from attn_course.student import write_student_copies


def _student(args: argparse.Namespace) -> int:
    written = write_student_copies(args.source, args.out)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} learner copies in {args.out}: exercises kept, solutions removed.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m attn_course", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
