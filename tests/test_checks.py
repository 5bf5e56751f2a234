"""Shared helpers of course_lib/_checks.py not covered by the validators' own tests."""

import os
import tempfile

from course_lib._checks import publish


def test_publish_gives_the_file_the_mode_open_would_and_replaces_atomically(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    fd, tmp = tempfile.mkstemp(dir=tmp_path)
    os.close(fd)
    assert os.stat(tmp).st_mode & 0o777 == 0o600
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    publish(tmp, dest)
    assert dest.read_text() == "" and not os.path.exists(tmp)
    assert dest.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
