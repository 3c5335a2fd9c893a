"""Classes without TensorFlow: codes and keys, links, joining, names, activity, several
processes writing at once, the held-back split, locked fields and the CSV."""

import csv
import dataclasses
import hashlib
import hmac
import io
import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnlab.architecture import presets
from cnnlab.classes import board, challenge, members, store
from cnnlab.data import datasets, refs
from cnnlab.workspaces import held_back

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_NAMES = ("<script>alert(1)</script>", "**bold** [link](http://evil.example)",
                 "=HYPERLINK(\"http://evil.example\")", "Zoë 🦊", "  spaced  ", "@sum", "-1",
                 "Robert'); DROP TABLE students;--")


@pytest.fixture
def made():
    """A new class and its key."""
    return store.create_class("7B biology")


def test_a_class_has_a_code_and_a_32_character_key_of_at_least_128_bits(made):
    info, key = made
    assert store.CODE_FORM.fullmatch(info.code) and len(key) == 32
    assert store.KEY_BYTES * 8 >= 128 and len(set(key)) > 8
    assert info.open and info.challenge is None and info.name == "7B biology"
    record = (info.folder / store.CLASS_FILE).read_text()
    assert key not in record  # only its hash is kept
    assert json.loads(record)["key_sha256"] == hashlib.sha256(key.encode()).hexdigest()
    assert store.open_board(info.code, key) == info
    other, other_key = store.create_class("7C")
    assert other.code != info.code and other_key != key


def test_links_are_paths_without_a_base_and_full_links_with_one(made):
    info, key = made
    links = store.links(info.code, key)
    assert links.student == f"/?class={info.code}"
    assert links.teacher == f"/?class={info.code}&key={key}"
    full = store.links(info.code, key, "https://lab.example.org/cnn/")
    assert full.student == f"https://lab.example.org/cnn/?class={info.code}"
    assert full.teacher.startswith(full.student + "&key=")


@pytest.mark.parametrize("base", ["ftp://lab.example.org", "lab.example.org", "https://",
                                  "https://a.example/?x=1", "https://a.example/#f",
                                  "https://user:pw@a.example", "https://a.example/ x",
                                  "http://a.example:99999", None, "https://a.example/\n"])
def test_a_bad_base_url_is_refused(base):
    with pytest.raises(store.ClassError, match="base URL must look like"):
        store.check_base_url(base)


def test_a_wrong_or_missing_key_gets_the_answer_of_a_class_that_does_not_exist(made):
    info, key = made
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    answers = []
    for code, given in ((info.code, wrong), (info.code, None), (info.code, ""),
                        (info.code, key + "x"), (info.code, "../" * 11), (info.code, 42),
                        ("Zz" * 6, key), ("../../etc", key), (None, None), (info.code.lower()
                        if info.code.lower() != info.code else info.code.upper(), key)):
        with pytest.raises(store.ClassError) as caught:
            store.open_board(code, given)
        answers.append((type(caught.value), str(caught.value)))
    assert set(answers) == {(store.NoSuchClass, store.NOT_FOUND)}
    with pytest.raises(store.NoSuchClass, match="^no class with this link"):
        board.board(info.code, wrong)
    with pytest.raises(store.NoSuchClass):
        board.board_version(info.code, None)


def test_a_class_survives_a_restart(made):
    info, key = made
    code = (f"from cnnlab.classes import store\n"
            f"print(store.open_board({info.code!r}, {key!r}).name)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "7B biology"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_name_is_stored_as_given(made, name):
    info, key = made
    joined = members.join(info.code, name)
    assert joined.name == name
    assert members.membership(joined.token).name == name
    [row] = board.board(info.code, key).rows
    assert row.name == name and row.activity == "idle" and row.score is None


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "tab\there", "\x1b[31mred", "x" * 41,
                                  None, 7, "zero\u200bwidth\u2028line"])
def test_a_bad_name_is_refused_with_what_was_received(made, name):
    with pytest.raises(store.ClassError, match="must be 1 to 40 printable characters"):
        members.join(made[0].code, name)


def test_joining_gives_a_workspace_whose_token_no_class_file_or_board_reveals(made):
    from cnnlab.workspaces import store as workspaces

    info, key = made
    joined = members.join(info.code, "Ada")
    workspaces.open_workspace(joined.token)  # a real workspace
    mine = workspaces.create()
    second = members.join(info.code, "Grace", mine.token)
    assert second.token == mine.token and second.student_id != joined.student_id
    for path in store.root().rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert joined.token.encode() not in data and mine.token.encode() not in data
            assert joined.token not in path.name and mine.token not in path.name
    shown = repr(board.board(info.code, key))
    assert joined.token not in shown and mine.token not in shown
    assert members.join(info.code, "Someone else", mine.token) == second  # already in it
    with pytest.raises(store.ClassError, match="called 'Ada' already"):
        members.join(info.code, "ada")


def test_a_closed_class_takes_no_new_students_and_a_full_one_says_so(made, monkeypatch):
    info, _ = made
    inside = members.join(info.code, "Ada")
    closed = store.set_open(info, False)
    assert not closed.open and not store.open_for_join(info.code).open
    with pytest.raises(store.ClassError, match="closed to new students"):
        members.join(info.code, "Late")
    assert members.join(info.code, "Ada", inside.token) == inside  # still in it
    store.set_open(closed, True)
    monkeypatch.setenv("CNNLAB_CLASS_STUDENTS", "2")
    members.join(info.code, "Grace")
    with pytest.raises(store.ClassError, match="is full: 2 students"):
        members.join(info.code, "Third")
    with pytest.raises(store.NoSuchClass):
        members.join("Zz" * 6, "Ada")


def test_activity_is_written_on_a_change_of_state_and_at_most_once_a_second_otherwise(made):
    info, key = made
    token = members.join(info.code, "Ada").token
    assert members.record_activity(token, "queued", now=100.0)
    assert members.record_activity(token, "training", 0, 3, now=100.1)  # a new state
    assert not members.record_activity(token, "training", 1, 3, now=100.5)  # too soon
    assert board.board(info.code, key).rows[0].activity == "training epoch 1/3"
    assert members.record_activity(token, "training", 1, 3, now=101.2)
    assert not members.record_activity(token, "training", 1, 3, now=105.0)  # unchanged
    assert board.board(info.code, key).rows[0].activity == "training epoch 2/3"
    assert members.record_activity(token, "idle", now=101.3)  # a change: at once
    assert members.record_activity(token, "building", now=101.4)
    assert members.activity_text({"state": "building", "at": 101.4}, now=102) == "building"
    assert members.activity_text({"state": "building", "at": 101.4}, now=1000) == "idle"
    assert members.activity_text({"state": "queued"}) == "waiting for a training slot"
    from cnnlab.workspaces import store as workspaces
    assert not members.record_activity(workspaces.create().token, "building")  # no class
    with pytest.raises(ValueError, match="activity must be one of"):
        members.record_activity(token, "sleeping")
    with pytest.raises(ValueError, match="epoch <= epochs"):
        members.record_activity(token, "training", 4, 3)


def _join_and_work(code: str, prefix: str, count: int) -> list[str]:
    """In another process: join ``count`` students and write their activity many times."""
    tokens = [members.join(code, f"{prefix}{i}").token for i in range(count)]
    for step in range(30):
        for token in tokens:
            members.record_activity(token, "training", step % 4, 4, now=float(step * 2))
    return tokens


def _hammer(token: str, offset: float) -> None:
    """In another process: rewrite one student's activity, changing state every time."""
    for step in range(200):
        state = ("building", "idle", "queued")[step % 3]
        members.record_activity(token, state, now=offset + step)


def test_several_processes_writing_at_once_corrupt_nothing(made):
    info, key = made
    shared = members.join(info.code, "Shared").token
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, like a replica
    with context.Pool(4) as pool:
        joins = [pool.apply_async(_join_and_work, (info.code, p, 6)) for p in ("a", "b")]
        hammers = [pool.apply_async(_hammer, (shared, o)) for o in (0.0, 0.5)]
        for _ in range(200):  # meanwhile the board reads every file, complete each time
            for student in members.students(info.code):
                assert student.activity.get("state") in members.ACTIVITIES
        tokens = [t for job in joins for t in job.get(timeout=120)]
        for job in hammers:
            job.get(timeout=120)
    rows = board.board(info.code, key).rows
    assert len(rows) == 13 and len({r.student_id for r in rows}) == 13
    assert sorted(r.name for r in rows) == sorted(["Shared"] + [f"{p}{i}" for p in "ab"
                                                                for i in range(6)])
    for token in tokens + [shared]:
        folder = members.student_folder(info.code, members.membership(token).student_id)
        for name in (members.PROFILE, members.ACTIVITY):
            json.loads((folder / name).read_text())
    assert not [p for p in store.root().rglob("*.tmp")]  # no temporary file left


def _reference_held_back(name: str, labels: np.ndarray, key: bytes, percent: int) -> set:
    """The documented rule, written out again: per class, the lowest HMAC ranks."""
    held = set()
    for c in set(labels.tolist()):
        members_ = [i for i in range(len(labels)) if labels[i] == c]
        ranked = sorted(members_, key=lambda i: hmac.new(key, f"{name}:{i}".encode(),
                                                         hashlib.sha256).hexdigest())
        held |= set(ranked[:len(members_) * percent // 100])
    return held


def test_the_held_back_split_is_disjoint_from_what_students_see():
    full = datasets.load_dataset("mnist-5k")
    split = held_back.split("mnist-5k")
    visible, hidden = set(split.visible.tolist()), set(split.held_back.tolist())
    assert not visible & hidden and visible | hidden == set(range(len(full.y_test)))
    assert hidden == _reference_held_back("mnist-5k", full.y_test, held_back.secret(), 50)
    counts = np.bincount(full.y_test[split.held_back], minlength=10)
    assert counts.tolist() == [c // 2 for c in full.class_counts("test")]
    seen = held_back.visible(full)
    assert len(seen.y_test) == len(visible) and np.shares_memory(seen.x_train, full.x_train)
    assert np.array_equal(seen.x_test, full.x_test[split.visible])
    images, labels = held_back.held_back("mnist-5k")
    shown = {img.tobytes() for img in seen.x_test}
    assert not any(img.tobytes() in shown for img in images)  # no held-back image is shown
    assert np.array_equal(labels, full.y_test[split.held_back])
    folder = dataclasses.replace(full, ref=refs.recorded("a folder"))
    assert held_back.visible(folder) is folder  # only the named data sets hold images back
    code = ("from cnnlab.workspaces import held_back\n"
            "print(held_back.split('mnist-5k').held_back.tolist())")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert json.loads(done.stdout) == sorted(hidden)  # another replica: the same split


def test_nothing_is_held_back_at_zero_percent(monkeypatch):
    monkeypatch.setenv("CNNLAB_HELD_BACK_PERCENT", "0")
    full = datasets.load_dataset("mnist-5k")
    assert len(held_back.visible(full).y_test) == len(full.y_test)
    with pytest.raises(ValueError, match="CNNLAB_HELD_BACK_PERCENT is 0"):
        held_back.held_back("mnist-5k")
    monkeypatch.setenv("CNNLAB_HELD_BACK_PERCENT", "95")
    with pytest.raises(ValueError, match="from 0 to 90; received 95"):
        held_back.split("mnist-5k")


def test_locked_fields_name_the_field_that_changed():
    start = presets.get("tutorial-1conv")
    rules = challenge.Challenge("mnist-5k", 100_000, 3, start,
                                ("filters", "kernel_size", "pool_size"))
    conv, pool, flat = start.layers
    allowed = dataclasses.replace(start, name="mine", layers=(
        conv.replace(filters=8, kernel_size=(5, 5)), pool.replace(pool_size=(3, 3)), flat))
    assert challenge.locked_changes(rules, allowed) == []
    strided = dataclasses.replace(start, layers=(conv.replace(strides=(2, 2)), pool, flat))
    assert challenge.locked_changes(rules, strided) == [
        "layer 1 (conv2d): the challenge locks strides at 1; only filters, kernel_size and "
        "pool_size can change"]
    longer = dataclasses.replace(start, layers=(conv, conv, pool, flat))
    [message] = challenge.locked_changes(rules, longer)
    assert message.startswith("the challenge locks the layers: keep the starting network's 3 "
                              "layers in order (conv2d, max_pool2d, flatten)")
    free = dataclasses.replace(rules, editable=None)
    assert challenge.locked_changes(free, longer) == []


@pytest.mark.parametrize("fields, message", [
    ({"dataset": "imagenet"}, "data set must be one of"),
    ({"max_params": 0}, "most parameters must be a whole number from 1"),
    ({"max_epochs": 2.5}, "most epochs must be a whole number"),
    ({"editable": ("filters",), "starting": None}, "locked fields need a starting network"),
    ({"editable": ("filtrs",)}, "unknown field 'filtrs'"),
])
def test_a_bad_challenge_is_refused(fields, message):
    values = dict(dataset="mnist-5k", max_params=1000, max_epochs=2,
                  starting=presets.get("tutorial-1conv"), editable=None)
    with pytest.raises(challenge.ChallengeError, match=message):
        challenge.Challenge(**{**values, **fields})


def test_a_challenge_is_checked_against_its_data_and_kept(made):
    info, key = made
    with pytest.raises(challenge.ChallengeError, match="has 54,410 parameters, over"):
        store.set_challenge(info, challenge.Challenge("mnist-5k", 50_000, 3,
                                                      presets.get("tutorial-1conv")))
    rules = challenge.Challenge("mnist-5k", 60_000, 3, presets.get("tutorial-1conv"),
                                ("filters",))
    kept = store.set_challenge(info, rules)
    assert kept.challenge.id and dataclasses.replace(kept.challenge, id="") == rules
    assert store.open_board(info.code, key).challenge == kept.challenge
    assert "only filters can change" in kept.challenge.describe()
    again = store.set_challenge(kept, rules)
    assert again.challenge.id != kept.challenge.id  # results under the old one stop ranking


def test_the_csv_neutralises_formulas_and_keeps_names_as_given():
    rows = tuple(board.Row(f"id{i}", name, "idle", "=run", "+arch", 1200, 3,
                           0.5 if i == 0 else None, None if i == 0 else "-bad", 0.0,
                           1 if i == 0 else None)
                 for i, name in enumerate(HOSTILE_NAMES))
    parsed = list(csv.reader(io.StringIO(board.csv_text(rows))))
    assert parsed[0] == list(board.CSV_COLUMNS) and len(parsed) == len(rows) + 1
    for row, line in zip(rows, parsed[1:], strict=True):
        risky = row.name.startswith(("=", "+", "-", "@"))
        assert line[0] == ("'" + row.name if risky else row.name)
        assert line[1:5] == ["'=run", "'+arch", "1200", "3"]
        assert line[6] == "1970-01-01T00:00:00Z"
    assert parsed[1][5] == "0.5000" and parsed[2][5] == "" and parsed[2][7] == "'-bad"


def test_a_student_sees_names_and_scores_only(made):
    info, _ = made
    token = members.join(info.code, "Ada").token
    assert board.student_leaderboard(token) == []  # nobody scored yet
    fields = {f.name for f in dataclasses.fields(board.Standing)}
    assert fields == {"name", "score", "rank", "you"}
