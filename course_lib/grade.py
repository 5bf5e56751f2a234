"""``python -m course_lib.grade NOTEBOOK...``: the autograder's command line.

Kept at this path so the command students and instructors know keeps working; the
grader itself lives in :mod:`course_lib.grading`.
"""

from course_lib.grading.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
