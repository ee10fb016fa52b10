"""Reviewing generated output: file comparison and diffs (compare), secret masking (masking), git
revisions read from their objects (revision), and where a value comes from (explain)."""
