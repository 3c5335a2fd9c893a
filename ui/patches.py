"""The two changes CNN Lab makes to Streamlit's internals, installed by ``app.py``, and the one
private call it makes (``Runtime.is_active_session``, see ``ui/state.py``).

:data:`INTERNALS` names each internal replaced or called; :func:`missing` lists any that this
Streamlit no longer has, and a test fails on it (``tests/test_ui_patches.py``) instead of the
patch or the call silently doing nothing. ``pyproject.toml`` pins Streamlit below the next
major version the tests have seen.
"""

from __future__ import annotations

import contextlib
import runpy
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

APP = Path(__file__).resolve().parent.parent / "app.py"
INTERNALS = (
    (script_runner, "_clean_problem_modules"),  # replaced: keep_keras_state
    (PagesManager, "uses_pages_directory"),  # replaced: use_app_navigation
    (Runtime, "is_active_session"),  # called: is a session still connected (ui/state.py)
)
_SCRIPT_RUN = threading.local()  # .in_app: this thread's script run is inside app.py's page.run


def missing() -> list[str]:
    """The internals replaced or called that this Streamlit lacks, as ``module.name`` (empty
    when all exist)."""
    return [f"{_dotted(owner)}.{name}" for owner, name in INTERNALS if not hasattr(owner, name)]


def _dotted(owner: object) -> str:
    """A module's name, or a class's module and name."""
    if isinstance(owner, type):
        return f"{owner.__module__}.{owner.__qualname__}"
    return str(getattr(owner, "__name__", owner))


def _close_matplotlib_figures() -> None:
    """What Streamlit's after-run clean-up does, minus ``keras.backend.clear_session()``."""
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def keep_keras_state() -> None:
    """Stop Streamlit from clearing Keras's global state after every script run.

    Streamlit calls ``keras.backend.clear_session()`` at the end of each run, fragments
    included, once Keras is imported: about 0.2 s holding the GIL here, a few times a second
    per training session, and it clears TensorFlow's kernel cache under the jobs that are
    training. CNN Lab keeps no per-run Keras state that needs clearing (models are owned by
    runs and jobs), so only the matplotlib part of that clean-up is kept. Together with
    ``runner.postScriptGC = false`` in ``.streamlit/config.toml`` this keeps pages responsive
    while others train (``bench/run.py``'s sessions row). Raises RuntimeError if Streamlit
    no longer has the function.
    """
    if not hasattr(script_runner, "_clean_problem_modules"):
        raise RuntimeError("streamlit.runtime.scriptrunner.script_runner has no "
                           "_clean_problem_modules any more; update ui/patches.py")
    script_runner._clean_problem_modules = _close_matplotlib_figures


def use_app_navigation(entry: bool = False) -> None:
    """Make a page opened by its own URL on a fresh server use ``app.py``'s navigation.

    Streamlit runs a new server's scripts the old multipage way while a ``pages/`` folder
    sits next to ``app.py`` (pages listed by file name, a page run without ``app.py``) until
    ``st.navigation`` has run once. ``app.py`` calls this with ``entry=True`` and runs its
    page inside :func:`running_page`; every page calls it first, and when it is not inside
    ``app.py`` (the old way) runs ``app.py`` in its place, in this same script run (so a
    button press is not lost), then stops. Whether a page runs inside ``app.py`` is asked of
    this script run, not of Streamlit's process-wide flag: several first sessions of a fresh
    server (a class opening a link at once) start their page scripts the old way before any
    of them reaches ``st.navigation``. Raises RuntimeError if Streamlit no longer has the flag.
    """
    if not hasattr(PagesManager, "uses_pages_directory"):
        raise RuntimeError("streamlit.runtime.pages_manager.PagesManager has no "
                           "uses_pages_directory any more; update ui/patches.py")
    PagesManager.uses_pages_directory = False
    if entry or getattr(_SCRIPT_RUN, "in_app", False) or not _app_is_main_script():
        return  # a page run on its own (AppTest.from_file of a page) has no app.py to run
    runpy.run_path(str(APP), run_name="__main__")  # app.py's navigation runs this page again
    st.stop()


def _app_is_main_script() -> bool:
    """Whether this script run's main script is ``app.py`` (``streamlit run app.py``)."""
    ctx = get_script_run_ctx()
    main = getattr(ctx, "main_script_path", None) if ctx is not None else None
    return main is not None and Path(main).resolve() == APP


@contextlib.contextmanager
def running_page() -> Iterator[None]:
    """``app.py`` runs its page inside this, which tells the page's
    :func:`use_app_navigation` that ``app.py`` is already running it."""
    _SCRIPT_RUN.in_app = True
    try:
        yield
    finally:
        _SCRIPT_RUN.in_app = False
