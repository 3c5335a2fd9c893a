"""Workspaces in a real browser: a student's model survives a reload and a server restart at
the same link, is invisible to another browser, and a tab closed mid-training frees its slot
while its run is saved (issue 13)."""

from __future__ import annotations

import contextlib
import re
import zipfile
from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import SERVER_START_SECONDS, SHOTS, TRAINING_MS, AppPage, harness, import_expect

expect = import_expect()

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def server(home, **settings):
    """A server of its own on ``home`` (CNNLAB_HOME) with these CNNLAB_* settings."""
    env = {"CNNLAB_HOME": str(home), **{f"CNNLAB_{k.upper()}": str(v)
                                        for k, v in settings.items()}}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with harness.streamlit_server(env=env, timeout=SERVER_START_SECONDS,
                                  log=SHOTS / "workspaces-server.log") as running:
        yield running.url


def token_of(app: AppPage) -> str:
    """The workspace token in the page's URL (``?w=``), waiting for the app to put it there."""
    app.page.wait_for_url(re.compile(r"[?&]w=[A-Za-z0-9_-]{22,}"))
    return parse_qs(urlparse(app.page.url).query)["w"][0]


def visit(browser, url: str) -> AppPage:
    """A new browser context (another computer) opening ``url``."""
    app = AppPage(browser, url.split("/?")[0])
    app.page.goto(url)
    app.idle()
    app.check()
    return app


def test_a_model_survives_reload_and_restart_at_its_link_and_nobody_else_sees_it(browser,
                                                                                tmp_path):
    home = tmp_path / "home"
    with server(home) as url:
        app = AppPage(browser, url)
        app.open()
        token = token_of(app)
        run_name = app.train_small_model()
        app.nav("Draw")
        assert token_of(app) == token  # the link survives navigating between pages
        app.nav("Home")  # (a reload at /draw makes Streamlit probe /draw/_stcore/: 404s)
        assert token_of(app) == token
        app.page.reload()
        app.idle()
        assert token_of(app) == token
        expect(app.sidebar).to_contain_text(run_name)
        app.check()
        app.context.close()
    with server(home) as url:  # a restarted server on the same CNNLAB_HOME
        again = visit(browser, f"{url}/?w={token}")
        expect(again.sidebar).to_contain_text(run_name)
        again.nav("Train")
        expect(again.main.get_by_role("heading", name="Runs of this workspace")).to_be_visible()
        with again.page.expect_download() as download:  # the run folder, zipped from disk
            again.click("train_zip")
        with zipfile.ZipFile(download.value.path()) as archive:
            assert any(name.endswith("metrics.json") for name in archive.namelist())
        again.shot("workspace-after-restart")
        again.context.close()
        stranger = visit(browser, f"{url}/")
        assert token_of(stranger) != token
        expect(stranger.sidebar).to_contain_text("none trained yet")
        stranger.nav("Train")
        expect(stranger.main.get_by_role("heading", name="Runs of this workspace")) \
            .to_have_count(0)
        stranger.context.close()


def test_a_tab_closed_mid_training_frees_the_slot_and_its_run_is_kept(browser, tmp_path):
    with server(tmp_path / "home", max_jobs=1, orphan_grace_s=2) as url:
        first = AppPage(browser, url)
        first.open()
        token = token_of(first)
        first.nav("Train")
        first.set_number("train_epochs", 60)
        expect(first.widget("train_epochs").locator("input")).to_have_value("60")
        first.set_select_slider("train_batch", [8, 16, 32, 64, 128, 256, 512], 8)
        first.click("train_start")
        expect(first.main.locator(".cnnlab-live .live-text")).to_contain_text(
            re.compile(r"epoch \d+/60"), timeout=TRAINING_MS)
        first.context.close()  # the student closes the tab mid-training

        second = AppPage(browser, url)  # another student, waiting for the only slot
        second.open()
        second.train_small_model()  # would wait for 60 epochs if the slot were not freed
        second.context.close()

        back = visit(browser, f"{url}/?w={token}")
        expect(back.sidebar).to_contain_text("stopped early")
        back.nav("Train")
        expect(back.main.get_by_role("heading", name=re.compile(r"^Results of .*stopped early")))\
            .to_be_visible()
        back.shot("workspace-closed-tab-run-kept")
        back.context.close()
