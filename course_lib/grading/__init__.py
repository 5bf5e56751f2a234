"""The autograder: grade a student's exercise notebook against the checks in ``solutions/``.

``python -m course_lib.grade NOTEBOOK...`` runs it from the command line.
"""
