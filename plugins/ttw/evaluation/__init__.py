"""The center evaluation as evaluators receive it (docs/evaluation.md, "Deliverables").

- :mod:`.data`: a year of the evaluation, loaded from the published marts (:class:`~.data.YearEvaluation`).
- the writers, each reading only :mod:`.data`: :mod:`.tables` (the workbook and the CSV
  files), :mod:`.html` (the year report and a page per center), :mod:`.pdf` (headless
  Chromium prints the year report).
- :mod:`.deliver`: :func:`~.deliver.deliver`, what the ``evaluate_centers`` DAG and
  ``ttw export centers`` / ``ttw report centers`` call.

No writer imports another, and :mod:`.data` imports none (tests/unit/test_evaluation_imports.py).
"""
