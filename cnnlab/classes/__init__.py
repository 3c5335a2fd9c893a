"""A class: students join with a link, a teacher's board shows their work, a fair challenge is
scored by the server on a held-back split. Plain Python, no Streamlit, no TensorFlow at import.

What the pages, the command line and the job layer call:

- **teacher**: :func:`store.create_class` (the Home page, ``cnnlab class new``) and
  :func:`store.links`; :func:`store.open_board` (the one way in with the teacher link: a wrong
  key reads as no class); :func:`store.set_open`, :func:`store.set_challenge` with a
  :class:`challenge.Challenge`;
  :func:`board.board`, :func:`board.board_version` (the live route's poll),
  :func:`board.spotlight_folder`, :func:`board.results_csv`.
- **student**: :func:`members.join` (the student link), :func:`members.class_of` (the class,
  its challenge: starting network and lock for Build), :func:`challenge.locked_changes` (Build's
  message), :func:`board.student_leaderboard` (names and scores only).
- **job layer and uploads**: :func:`members.record_activity` on a job's state changes and
  epochs; :func:`scoring.run_saved` when a run has been saved into a workspace.
- **data layer**: the held-back split lives in :mod:`cnnlab.workspaces.held_back`, beside the
  web app's one loader (``data_roots.load``), which cuts it from every named data set.

See the README's "Teaching a class".
"""
