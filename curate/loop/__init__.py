"""`curate loop`: generate → filter → train → eval, round after round (see run.py)."""
