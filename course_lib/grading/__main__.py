"""``python -m course_lib.grading NOTEBOOK...``: the same command as ``python -m course_lib.grade``."""

from course_lib.grading.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
