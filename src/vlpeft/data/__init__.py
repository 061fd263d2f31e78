"""Data of the pipeline: the deterministic demo world (``vlpeft.data.demo``) and its CLI verb.

Annotation files follow the schemas in ``vlpeft.tasks``; see ``README.md`` in this folder.
"""
