"""The classroom grader's kernel sandbox (an audit hook loaded as ``sitecustomize``).

The grader puts this folder on the ``PYTHONPATH`` of the kernel that runs a submitted
notebook, so Python imports :mod:`sitecustomize` from here at start-up, before any cell
runs. See ``sitecustomize.py`` for the policy and :mod:`vae_course.grading` for its place
in the grading pipeline. Nothing here is imported by the course itself.
"""
