"""A class in Chromium (issue 23): the teacher makes it on Home and sets a challenge on the
board; three students join through the student link with names of their own and train; the
board on the projector (1024×768, presentation mode) lists each run's score, computed on the
held-back split, once the run is saved; a run over the parameter limit is listed
with its reason; the spotlight opens a student's network; a locked field cannot be changed and
says so; a student opening the teacher link without the key sees nothing of the class; the
CSV matches the board.

Every wait is on the app's state (a heading, a row, a cell). The issue's deadline — the board
shows a run within 2 s of its being saved — is a speed target, so it is measured by
``bench/class_board_bench.py`` (a class of 30; the README's table), not asserted here: a
2-second ``expect`` failed this test when the suite ran beside another on 2 shared cores.
"""

from __future__ import annotations

import csv
import json
import re

import numpy as np

from cnnlab.classes import members, store
from cnnlab.workspaces import held_back
from ui import text

from .conftest import TRAINING_MS, AppPage, import_expect

expect = import_expect()

PROJECTOR = {"width": 1024, "height": 768}
BOARD_MS = 60_000  # waiting for the board's state (the 2 s target is the bench's)
NAMES = ("Ada <b>L</b>", "**Bo**", "=Cy+1")  # shown as typed, never as markup
CHALLENGE = ("Challenge: mnist-5k, at most 5,000 parameters and 1 epoch; starting network "
             "tiny-vgg, where only filters, kernel_size and pool_size can change")
SCORE = re.compile(r"^\d{1,3}\.\d\d%$")


def choose(page, root, label: str, option: str) -> None:
    """Pick ``option`` in the select box (or multiselect) labelled ``label``, by its role
    (typed into it first, so a long list need not scroll)."""
    box = root.get_by_role("combobox", name=label)
    box.click()
    box.press_sequentially(option)
    page.get_by_role("option", name=option, exact=True).click()


def make_class(teacher: AppPage) -> tuple[str, str]:
    """Home's "create a class": the student link and the teacher link it shows."""
    teacher.main.get_by_text("Teaching a class? Create one").click()
    teacher.main.get_by_role("textbox", name="class name").fill("7B <i>CNNs</i>")
    teacher.main.get_by_role("button", name="Create a class").click()
    expect(teacher.main.get_by_text("the key to the board")).to_be_visible()
    teacher.idle()
    links = teacher.main.locator("[data-testid=stCode] code")
    expect(links).to_have_count(2)
    student, teacher_link = (text.strip() for text in links.all_inner_texts())
    assert teacher_link.startswith(student + "&key=") and "/?class=" in student
    return student, teacher_link


def set_challenge(teacher: AppPage) -> None:
    main, page = teacher.main, teacher.page
    main.get_by_role("spinbutton", name="most parameters").fill("5000")
    main.get_by_role("spinbutton", name="most epochs").fill("1")
    choose(page, main, "starting network", "tiny-vgg")
    for field in ("filters", "kernel_size", "pool_size"):
        choose(page, main, "fields students may change in it (none ticked: no lock)", field)
    page.keyboard.press("Escape")
    main.get_by_role("button", name="Set the challenge").click()
    expect(board(teacher).locator(".challenge")).to_have_text(CHALLENGE)
    teacher.idle()


def board(teacher: AppPage):
    return teacher.page.locator(".cnnlab-board")


def row(teacher: AppPage, name: str):
    return board(teacher).locator("tr.board-row").filter(
        has=teacher.page.get_by_role("button", name=name, exact=True))


def filters(student: AppPage):
    """The first layer's "filters" box on Build."""
    return student.main.get_by_role("spinbutton", name="filters", exact=True).first


def join(student: AppPage, link: str, name: str) -> str:
    """Join through the student link with ``name``; the student's workspace token."""
    student.page.goto(link)
    expect(student.main.get_by_role("heading", name=re.compile("^Join the class"))).to_be_visible()
    student.idle()
    student.main.get_by_role("textbox", name="your name, as the class will see it").fill(name)
    student.main.get_by_role("button", name="Join the class").click()
    expect(student.main.get_by_text("in this class.", exact=False)).to_be_visible()
    student.idle()
    student.check()
    return re.search(r"[?&]w=([A-Za-z0-9_-]+)", student.page.url)[1]


def train(student: AppPage, seed: int = 0) -> str:
    """Train the page's network for one epoch at batch 512 with a validation share (for the
    board's curves); return once the results are shown (the job's state is saved)."""
    student.nav("Train")
    student.set_number("train_epochs", 1)
    student.set_number("train_seed", seed)  # students differ: so do their scores
    student.set_select_slider("train_batch", [8, 16, 32, 64, 128, 256, 512], 512)
    student.set_select_slider("train_lr", [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3,
                                           1], 0.01)
    student.set_select_slider("train_val", [f"{share / 100:.2f}" for share in range(0, 55, 5)],
                              "0.10")
    student.idle()
    results = student.main.get_by_role("heading", name=re.compile(r"^Results of "))
    before = results.all_inner_texts()
    student.click("train_start")
    if before:
        expect(results).not_to_have_text(before[0], timeout=TRAINING_MS)
    expect(results).to_be_visible(timeout=TRAINING_MS)
    return results.inner_text().removeprefix("Results of ").split(" ")[0]


def held_back_score(token: str, run_name: str) -> str:
    """The run's accuracy on the held-back images, as Keras predicts them (the trusted
    reference), as the board writes it."""
    from cnnlab.runs import run_files
    from cnnlab.workspaces import store as workspaces

    workspace = workspaces.open_workspace(token)
    [info] = [r for r in workspace.runs() if r.name == run_name]
    run = run_files.load_run(workspace.run_path(info.folder))
    images, labels = held_back.held_back("mnist-5k")
    predicted = np.argmax(run.model.predict(images, verbose=0), axis=1)
    return f"{100 * float(np.mean(predicted == labels)):.2f}%"


def test_a_class_on_the_projector(browser, app_url):
    teacher = AppPage(browser, app_url)
    teacher.context.close()  # the projector's window instead of the default one
    teacher.context = browser.new_context(viewport=PROJECTOR)
    teacher.page = teacher.context.new_page()
    teacher.page.set_default_timeout(30_000)
    teacher.page.on("console", teacher._on_console)
    students = [AppPage(browser, app_url) for _ in NAMES]
    try:
        teacher.open()
        student_link, teacher_link = make_class(teacher)
        teacher.page.goto(teacher_link + "&present=1")
        heading = teacher.main.get_by_role("heading", name=re.compile("^Board of 7B"))
        expect(heading).to_be_visible()
        assert heading.inner_text().replace(text.JOINER, "") == "Board of 7B <i>CNNs</i>"
        set_challenge(teacher)
        tokens = []
        for student, name in zip(students, NAMES, strict=True):
            student.open()
            tokens.append(join(student, student_link, name))
            expect(row(teacher, name).locator("td.activity")).to_have_text("idle")
        expect(board(teacher).locator("tr.board-row")).to_have_count(3)

        # the lock, on Build: the starting network is there, a locked field is disabled
        first = students[0]
        first.nav("Build")
        expect(first.main.get_by_text("The teacher locked this network")).to_be_visible()
        expect(first.main.get_by_role("spinbutton", name="stride h").first).to_be_disabled()
        expect(filters(first)).to_have_value("10")  # tiny-vgg's first layer
        expect(filters(first)).to_be_enabled()
        first.check()

        # a run over the parameter limit: listed with its reason
        third = students[2]
        third.nav("Build")
        third.set_number(filters(third).locator(".."), 20)
        third.idle()
        runs = {}
        over = train(third)
        expect(row(teacher, NAMES[2]).locator("td.score")).to_have_text(
            "not scored: 5,440 parameters, over the challenge's 5,000", timeout=BOARD_MS)
        third.nav("Build")
        third.set_number(filters(third).locator(".."), 10)

        # every student's run: scored on the held-back split, on the board
        for seed, (student, name, token) in enumerate(zip(students, NAMES, tokens,
                                                          strict=True)):
            runs[name] = train(student, seed)
            cell = row(teacher, name).locator("td.score")
            expect(cell).to_have_text(SCORE, timeout=BOARD_MS)
            assert cell.inner_text() == held_back_score(token, runs[name]), name
            expect(row(teacher, name).locator("td.activity")).to_have_text("idle")
        assert over != runs[NAMES[2]]
        for name, token in zip(NAMES, tokens, strict=True):
            member = members.membership(token)
            best = json.loads((members.student_folder(member.code, member.student_id)
                               / members.RESULTS).read_text())["best"]
            assert best["images"] == len(held_back.split("mnist-5k").held_back), name

        # the leaderboard: best first, ranks in order
        shown = board(teacher).locator("tr.board-row")
        scores = [float(t.rstrip("%")) for t in shown.locator("td.score").all_inner_texts()]
        assert scores == sorted(scores, reverse=True)
        assert [int(r) for r in shown.locator("td.rank").all_inner_texts()] == sorted(
            int(r) for r in shown.locator("td.rank").all_inner_texts())
        assert sorted(shown.locator("button.spot").all_inner_texts()) == sorted(NAMES)
        box = board(teacher).evaluate("b => [b.scrollWidth, b.clientWidth]")
        assert box[0] <= box[1] + 1, f"the board is wider than the projector's page: {box}"
        expect(board(teacher).locator("svg.curves path")).to_have_count(3)  # the best three
        teacher.shot("class-board-projector")

        # the spotlight: one student's network, large and read-only
        row(teacher, NAMES[1]).get_by_role("button", name=NAMES[1], exact=True).click()
        expect(teacher.main.get_by_role("heading", name=f"Spotlight: {NAMES[1]}")
               ).to_be_visible()
        expect(teacher.main.get_by_role("img", name="network diagram")).to_be_visible()
        expect(teacher.main.get_by_text(f"{runs[NAMES[1]]} · network tiny-vgg", exact=False)
               ).to_be_visible()
        teacher.shot("class-board-spotlight")

        # the CSV matches the board
        with teacher.page.expect_download() as download:
            teacher.main.get_by_role("button", name="Download results (CSV)").click()
        table = list(csv.DictReader(open(download.value.path(), encoding="utf-8")))
        assert [(r["name"].removeprefix("'"), f"{100 * float(r['challenge score']):.2f}%",
                 r["best run"]) for r in table] == [
            (b.inner_text(), s, runs[b.inner_text()])
            for b, s in zip(shown.locator("button.spot").all(),
                            shown.locator("td.score").all_inner_texts(), strict=True)]

        # a student opening the teacher link without its key sees nothing of the class
        code = student_link.rsplit("=", 1)[1]
        nothing = []
        for link in (f"{app_url}/?class={code}&key=", f"{app_url}/?class={code}&key="
                     + "A" * 32, f"{app_url}/?class=Zz{'z' * 10}&key=" + "A" * 32):
            first.page.goto(link)
            expect(first.main.get_by_text(store.NOT_FOUND)).to_be_visible()
            first.idle()
            said = first.main.inner_text()
            nothing.append(said)
            assert not any(name in said for name in NAMES[1:]) and "7B" not in said
            assert first.page.locator(".cnnlab-board").count() == 0
        assert len(set(nothing)) == 1  # the same answer as a class that does not exist
        first.check()
        teacher.check()
    finally:
        for opened in (teacher, *students):
            opened.close()

