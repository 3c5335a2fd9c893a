"""The class's pages in Streamlit's AppTest: Home makes a class and shows its two links once,
the student link joins with a name shown as text, a closed or unknown class says so, a wrong or
missing key opens nothing, the teacher link opens the board (its element gets the rows), the
teacher sets the challenge, Build loads the starting network and keeps its lock, a student sees
names and scores only; and the board's live route."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
from starlette.requests import Request
from streamlit.testing.v1 import AppTest

from cnnlab.architecture import presets
from cnnlab.classes import board, challenge, members, scoring, store
from cnnlab.workspaces import store as workspaces
from ui import classroom, live_routes, text

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HOSTILE = "<b>Ada</b> **x** [l](x.y) :material/home"  # 40 characters
START = presets.get("tiny-vgg")  # 4,440 parameters on 28x28x1


@pytest.fixture
def home(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path / "home"))


def app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def shown(at: AppTest) -> str:
    """Every text of the page's main part, as sent to the browser."""
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "error", "warning", "info",
                 "success", "code"):
        parts += [str(e.value) for e in getattr(at.main, kind)]
    return "\n".join(parts)


def element_data(at: AppTest) -> dict:
    """The data the board's Components-v2 element was mounted with."""
    [element] = [e for e in at.main if type(e).__name__ == "UnknownElement"
                 and getattr(e.proto, "component_name", "") == "cnnlab_board"]
    return json.loads(element.proto.json)


def submit(at: AppTest, form: str, label: str) -> AppTest:
    return at.button(key=f"FormSubmitter:{form}-{label}").click().run()


def test_home_makes_a_class_and_shows_its_two_links_once(home):
    at = app()
    at.text_input(key="class_new_name").input("7B <i>bio</i>")
    submit(at, "class_new", "Create a class")
    assert not at.exception
    [code] = store.class_codes()
    student, teacher = (c.value for c in at.code)
    assert student == f"/?class={code}" and teacher.startswith(student + "&key=")
    key = teacher.split("&key=")[1]
    assert store.open_board(code, key).name == "7B <i>bio</i>"
    assert any("the key to the board" in w.value for w in at.warning)
    assert f"**{text.md('7B <i>bio</i>')}**" in shown(at)
    at.button(key="class_made_done").click().run()
    assert not [c for c in at.code if "key=" in c.value]  # shown once: gone when dismissed
    at.text_input(key="class_new_name").input(" ")
    submit(at, "class_new", "Create a class")
    assert [e.value for e in at.error] == [text.md(
        "a class's name must be 1 to 60 printable characters on one line (not only spaces); "
        "received ' '")]


def test_a_student_link_joins_with_a_name_shown_as_text(home):
    info, _ = store.create_class("7B")
    at = app(**{"class": info.code})
    assert at.subheader[0].value == "Join the class 7B" and not at.exception
    at.text_input(key="class_join_name").input(HOSTILE)
    submit(at, "class_join", "Join the class")
    assert not at.exception
    token = at.query_params["w"][0] if isinstance(at.query_params["w"], list) else \
        at.query_params["w"]
    member = members.membership(token)
    assert member is not None and member.name == HOSTILE and member.code == info.code
    assert f"You are **{text.md(HOSTILE)}** in this class." in shown(at)
    again = app(**{"class": info.code, "w": token})  # the link again: no second join
    assert "You are **" in shown(again) and len(members.students(info.code)) == 1
    taken = app(**{"class": info.code})
    taken.text_input(key="class_join_name").input(HOSTILE.upper())
    submit(taken, "class_join", "Join the class")
    assert "is called" in taken.error[0].value and len(members.students(info.code)) == 1


def test_joining_with_the_current_workspace_keeps_its_link_and_scores_its_runs(home, tiny_run):
    info, _ = store.create_class("7B")
    workspace = workspaces.create()
    workspace.save_run(tiny_run)
    at = app(**{"class": info.code, "w": workspace.token})
    at.text_input(key="class_join_name").input("Grace")
    assert at.radio(key="class_join_bring").value.startswith("bring this workspace")
    submit(at, "class_join", "Join the class")
    assert at.query_params["w"] in (workspace.token, [workspace.token])
    member = members.membership(workspace.token)
    assert member.name == "Grace"
    classroom.RESCORES[workspace.token].join(120)  # its run was scored in the background
    best = json.loads((members.student_folder(info.code, member.student_id)
                       / members.RESULTS).read_text())["best"]
    assert best["run_name"] == tiny_run.name and best["reason"] == (
        "the teacher has not set a challenge yet")


def test_the_spotlight_shows_a_students_run_large(home, tiny_run):
    """The board's spotlight draws the student's kept run: its curves (a partial epoch as the
    Train page draws it), confusion matrix and mistakes, without an exception."""
    from ui import board as board_ui

    info, key = store.create_class("7B")
    workspace = workspaces.create()
    workspace.save_run(tiny_run)
    joined = app(**{"class": info.code, "w": workspace.token})
    joined.text_input(key="class_join_name").input("Grace")
    submit(joined, "class_join", "Join the class")
    member = members.membership(workspace.token)
    classroom.RESCORES[workspace.token].join(120)  # its run was scored and kept
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["class"], at.query_params["key"] = info.code, key
    at.session_state[board_ui.SPOT] = member.student_id  # as a click on the board's row does
    at.run()
    assert not at.exception, at.exception
    assert "Spotlight: Grace" in [h.value for h in at.subheader]
    said = [json.loads(c.proto.spec).get("description", "") for c in at.main.get(
        "vega_lite_chart")]
    for metric in ("accuracy", "loss"):
        assert f"line chart, {metric} by epoch of {tiny_run.name}: training solid, " \
               "validation dashed, a partial epoch a hollow point" in said, said


def test_a_closed_or_unknown_class_says_so(home):
    info, _ = store.create_class("Closed one")
    store.set_open(info, False)
    at = app(**{"class": info.code})
    assert [w.value for w in at.warning] == [
        "The class Closed one is closed to new students: ask your teacher to open it."]
    assert not [t for t in at.text_input if t.key == "class_join_name"]
    for code in ("Zz" * 6, "../../etc/x"):
        assert [e.value for e in app(**{"class": code}).error] == [store.NOT_FOUND]


def test_a_wrong_or_missing_key_opens_nothing_of_the_class(home):
    info, key = store.create_class("Secret class")
    members.join(info.code, "Ada")
    answers = []
    for given in ("", key[:-1] + ("A" if key[-1] != "A" else "B"), "x" * 40):
        at = app(**{"class": info.code, "key": given})
        answers.append(shown(at))
        assert "Ada" not in shown(at) and "Secret" not in shown(at)
        assert not [e for e in at.main if type(e).__name__ == "UnknownElement"]
    missing = shown(app(**{"class": "Zz" * 6, "key": key}))
    assert set(answers) == {missing} and store.NOT_FOUND in missing


def test_the_teacher_link_opens_the_board_with_every_student(home):
    info, key = store.create_class("7B")
    for name in ("Ada", HOSTILE):
        members.join(info.code, name)
    at = app(**{"class": info.code, "key": key})
    assert not at.exception and at.subheader[0].value == "Board of 7B"
    data = element_data(at)
    assert data["key"] == key and data["url"] == f"{live_routes.BOARD_ROUTE}/{info.code}"
    assert [row["name"] for row in data["board"]["rows"]] == sorted(  # as typed, by name
        ["Ada", HOSTILE], key=str.casefold)
    assert data["board"] == board.board(info.code, key).to_json()
    assert f"Students join at `/?class={info.code}`" in shown(at)  # for the projector
    assert at.toggle[0].value is True
    at.toggle[0].set_value(False).run()
    assert store.open_board(info.code, key).open is False


def test_the_teacher_sets_the_challenge_on_the_board(home):
    info, key = store.create_class("7B")
    at = app(**{"class": info.code, "key": key})
    at.number_input(key="board_max_params").set_value(5_000)
    at.number_input(key="board_max_epochs").set_value(1)
    at.selectbox(key="board_start").set_value("tiny-vgg")
    at.multiselect(key="board_editable").set_value(["filters", "kernel_size", "pool_size"])
    submit(at, "board_challenge", "Set the challenge")
    assert not at.exception and not at.error
    rules = store.open_board(info.code, key).challenge
    assert (rules.dataset, rules.max_params, rules.max_epochs, rules.starting.name,
            rules.editable) == ("mnist-5k", 5_000, 1, "tiny-vgg",
                                ("filters", "kernel_size", "pool_size"))
    assert element_data(at)["board"]["challenge"] == rules.describe()
    at.selectbox(key="board_start").set_value("two-conv")
    submit(at, "board_challenge", "Set the challenge")
    assert "over the challenge's 5,000" in at.error[0].value  # 225,034 parameters


def _joined_with_lock() -> tuple[store.ClassInfo, members.Membership]:
    info, key = store.create_class("7B")
    info = store.set_challenge(info, challenge.Challenge(
        "mnist-5k", 5_000, 1, START, ("filters", "kernel_size", "pool_size")))
    return info, members.join(info.code, "Ada")


def test_build_loads_the_starting_network_and_locks_the_other_fields(home):
    _, member = _joined_with_lock()
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["w"] = member.token
    at.run()
    at.switch_page("pages/build.py").run()
    assert not at.exception
    assert any("The teacher locked this network" in i.value for i in at.info)
    boxes = {}
    for box in at.number_input:
        boxes.setdefault(box.label, []).append(box)
    assert [b.value for b in boxes["filters"]] == [10, 10, 10, 10]  # tiny-vgg's
    assert not any(b.disabled for b in boxes["filters"] + boxes["kernel h"])
    assert all(b.disabled and b.help == classroom.LOCKED_HELP
               for b in boxes["stride h"] + boxes["dilation h"])
    assert at.button(key="build_load").disabled and at.button(key="build_add").disabled
    assert all(s.disabled for s in at.selectbox if s.key.endswith("_type"))
    boxes["filters"][0].set_value(20).run()  # an editable field: changed, kept
    assert members.class_of(member.token) and not at.exception
    arch = workspaces.open_workspace(member.token).architecture()
    assert arch.layers[0].filters == 20 and arch.layers[1:] == START.layers[1:]
    activity = json.loads((members.student_folder(member.code, member.student_id)
                           / members.ACTIVITY).read_text())
    assert activity["state"] == members.BUILDING  # the board says so


def test_a_locked_field_changed_elsewhere_goes_back_to_the_starting_network(home):
    _, member = _joined_with_lock()
    workspace = workspaces.open_workspace(member.token)
    conv, *rest = START.layers
    workspace.save_architecture(dataclasses.replace(START, layers=(conv.replace(
        strides=(2, 2)), *rest)))  # an old session's network, or a file edited by hand
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["w"] = member.token
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert workspaces.open_workspace(member.token).architecture().layers == START.layers
    assert any("Class challenge: mnist-5k, at most 5,000 parameters" in c.value
               for c in at.caption)


def test_a_student_sees_names_and_scores_only(home, monkeypatch):
    info, member = _joined_with_lock()
    other = members.join(info.code, "Bob")
    results = {"best": {"run_name": "bob-secret-run", "architecture": "bob-net", "params": 1,
                        "epochs": 1, "score": 0.5, "challenge": info.challenge.id,
                        "finished_at": 1.0, "reason": None, "val_accuracy": [0.4]}}
    (members.student_folder(info.code, other.student_id) / members.RESULTS).write_text(
        json.dumps(results))
    monkeypatch.setattr(scoring, "rescore_workspace", lambda token: [])
    at = app(w=member.token)
    at.switch_page("pages/class.py").run()
    assert not at.exception
    [table] = at.dataframe
    assert table.value.to_dict("records") == [{"place": 1, "name": "Bob", "score": "50.00%",
                                               "": ""}]
    assert "bob-secret-run" not in shown(at) and "bob-net" not in shown(at)
    assert not [e for e in at.main if type(e).__name__ == "UnknownElement"]  # no board


def _call(code: str, key: str | None, since: str | None = None) -> tuple[int, dict]:
    query = "" if since is None else f"since={since}"
    headers = [] if key is None else [(live_routes.KEY_HEADER.lower().encode(), key.encode())]
    scope = {"type": "http", "method": "GET", "path": f"{live_routes.BOARD_ROUTE}/{code}",
             "path_params": {"code": code}, "query_string": query.encode(), "headers": headers}
    response = asyncio.run(live_routes.class_board(Request(scope)))
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, json.loads(response.body)


def test_the_board_route_answers_unchanged_until_a_students_file_changes(home):
    info, key = store.create_class("7B")
    status, body = _call(info.code, key)
    assert status == 200 and body["rows"] == [] and body["name"] == "7B"
    assert _call(info.code, key, body["version"]) == (200, {"version": body["version"],
                                                           "unchanged": True})
    joined = members.join(info.code, "Ada")
    status, changed = _call(info.code, key, body["version"])
    assert [row["name"] for row in changed["rows"]] == ["Ada"]
    members.record_activity(joined.token, members.TRAINING, 0, 3)
    status, busy = _call(info.code, key, changed["version"])
    assert busy["rows"][0]["activity"] == "training epoch 1/3"
    for code, given in ((info.code, None), (info.code, key[:-1] + "x"), ("Zz" * 6, key),
                        ("../etc", key)):
        assert _call(code, given) == (404, {"error": store.NOT_FOUND})
