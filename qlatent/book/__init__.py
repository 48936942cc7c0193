"""The chapter layer: what the book's pages show, computed from saved tables.

Notebooks stay thin: they set parameters, train and save, then call these functions, which decide
where the evidence comes from, compute the verdicts and draw the figures from saved tables.

- :mod:`qlatent.book.evidence` — which source a chapter's verdicts and figures use: the largest
  recording when there is one, this execution otherwise; the budget of that run beside the
  paper's; a missing sample table named in one line.
- :mod:`qlatent.book.verdicts` — each chapter's verdicts on the paper's claims, one table with a
  ``section`` column (Fig. 1, Table II, App. H, ...), in the vocabulary of
  :data:`qlatent.stats.VERDICTS`, rendered as short lines with the details in a collapsed block.
- :mod:`qlatent.book.claims` — every claim of the paper in one table (a claim without a verdict is
  *not run*), and our relative effect beside the paper's.
- :mod:`qlatent.book.pages` — page furniture: the bottom-line admonition and the "How this page was
  made" block.
"""
