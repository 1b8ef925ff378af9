"""Event fixtures: shipped templates, user files in three shapes, overrides, fresh copies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from frigade_cli.kernel.errors import InputError
from frigade_cli.segment.fixtures import (
    Override,
    fixtures_dir,
    fresh_copy,
    load_fixtures,
    named_fixtures,
    resolve_fixture,
)
from frigade_cli.segment.messages import MESSAGE_TYPES, message_problem

SHIPPED = sorted(p.stem for p in (Path(__file__).parents[2] / "fixtures").glob("*.json"))
IDENTIFY = {"type": "identify", "userId": "u1", "traits": {"plan": "free"}}
TRACK = {"type": "track", "userId": "u1", "event": "Clicked"}


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def load_error(*refs: str, overrides: tuple[Override, ...] = ()) -> str:
    with pytest.raises(InputError) as info:
        load_fixtures(refs, overrides)
    return str(info.value)


# Shipped fixtures -------------------------------------------------------------------------------


def test_every_message_type_has_a_shipped_fixture() -> None:
    assert set(SHIPPED) >= set(MESSAGE_TYPES)
    assert named_fixtures() == SHIPPED


def test_fixtures_dir_is_the_source_tree_fixtures_folder() -> None:
    assert fixtures_dir() == Path(__file__).parents[2] / "fixtures"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_fixture_loads_by_name_and_is_valid(name: str) -> None:
    [message] = load_fixtures([name])

    assert message["type"] == name
    assert message_problem(message) is None


def test_unknown_fixture_name_lists_the_shipped_ones() -> None:
    problem = load_error("purchase")

    assert "'purchase' not found" in problem
    assert all(name in problem for name in SHIPPED)


def test_a_directory_is_not_a_fixture(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a regular file"):
        resolve_fixture(str(tmp_path))


def test_a_file_path_wins_over_a_fixture_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "track", json.dumps(IDENTIFY))

    [message] = load_fixtures(["track"])

    assert message["type"] == "identify"


# User files -------------------------------------------------------------------------------------


def test_user_file_with_one_json_object(tmp_path: Path) -> None:
    path = write(tmp_path / "one.json", json.dumps(IDENTIFY, indent=2))

    assert load_fixtures([path]) == [IDENTIFY]


def test_user_file_with_a_json_array_keeps_order(tmp_path: Path) -> None:
    path = write(tmp_path / "many.json", json.dumps([IDENTIFY, TRACK]))

    assert load_fixtures([path]) == [IDENTIFY, TRACK]


def test_user_file_in_ndjson_skips_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "events.ndjson", f"{json.dumps(IDENTIFY)}\n\n{json.dumps(TRACK)}\n")

    assert load_fixtures([path]) == [IDENTIFY, TRACK]


def test_ndjson_may_start_with_a_blank_line(tmp_path: Path) -> None:
    path = write(tmp_path / "events.ndjson", f"\n{json.dumps(IDENTIFY)}\n{json.dumps(TRACK)}\n")

    assert load_fixtures([path]) == [IDENTIFY, TRACK]


def test_several_files_are_loaded_in_the_order_given(tmp_path: Path) -> None:
    first = write(tmp_path / "a.json", json.dumps(TRACK))
    second = write(tmp_path / "b.json", json.dumps(IDENTIFY))

    assert [m["type"] for m in load_fixtures([first, second, "group"])] == [
        "track",
        "identify",
        "group",
    ]


def test_malformed_json_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", '[\n  {"type": "identify",\n   "userId" "u1"}\n]\n')

    problem = load_error(path)

    assert problem.startswith(f"{path} line 3: invalid JSON")


def test_malformed_pretty_printed_object_names_the_line_of_the_mistake(tmp_path: Path) -> None:
    text = '{\n  "type": "identify",\n  "userId": "u1"\n  "traits": {}\n}\n'
    path = write(tmp_path / "bad.json", text)

    assert load_error(path).startswith(f"{path} line 4: invalid JSON")


def test_ndjson_bad_line_is_named(tmp_path: Path) -> None:
    lines = [
        json.dumps(IDENTIFY),
        json.dumps(TRACK),
        '{"type": "track", "userId": ',
        json.dumps(TRACK),
    ]
    path = write(tmp_path / "events.ndjson", "\n".join(lines) + "\n")

    assert load_error(path).startswith(f"{path} line 3: invalid JSON")


def test_invalid_message_in_an_array_names_file_item_and_field(tmp_path: Path) -> None:
    path = write(tmp_path / "many.json", json.dumps([IDENTIFY, {"type": "track", "userId": "u"}]))

    assert load_error(path) == f"{path} item 2: field 'event' is required"


def test_invalid_message_in_ndjson_names_file_line_and_field(tmp_path: Path) -> None:
    group = {"type": "group", "userId": "u"}
    path = write(tmp_path / "e.ndjson", "\n".join(json.dumps(m) for m in (IDENTIFY, TRACK, group)))

    assert load_error(path) == f"{path} line 3: field 'groupId' is required"


def test_invalid_single_object_names_the_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path / "one.json", json.dumps({"type": "alias", "userId": "u"}))

    assert load_error(path) == f"{path}: field 'previousId' is required"


def test_array_item_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "many.json", json.dumps([IDENTIFY, "track"]))

    assert load_error(path).startswith(f"{path} item 2: a message must be a JSON object")


@pytest.mark.parametrize("text", ["", "  \n\n "])
def test_empty_file_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "empty.json", text)

    assert load_error(path) == f"{path}: the fixture file is empty"


def test_empty_array_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "none.json", "[]")

    assert load_error(path) == f"{path}: the array holds no messages"


def test_a_json_scalar_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "scalar.json", "42")

    assert "expected a JSON object, an array of objects, or NDJSON" in load_error(path)


# Overrides --------------------------------------------------------------------------------------


def overridden(*texts: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    message = json.loads(json.dumps(template or IDENTIFY))
    for text in texts:
        Override.parse(text).apply(message)
    return message


def test_override_sets_a_nested_string() -> None:
    assert overridden("traits.plan=pro")["traits"] == {"plan": "pro"}


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("5", 5),
        ("2.5", 2.5),
        ("true", True),
        ("null", None),
        ('{"a":1}', {"a": 1}),
        ("[1,2]", [1, 2]),
    ],
)
def test_override_value_is_json_when_it_parses(raw: str, value: Any) -> None:
    assert overridden(f"traits.x={raw}")["traits"]["x"] == value


@pytest.mark.parametrize("raw", ["pro", "007", "", "a=b", "{not json"])
def test_override_value_is_a_string_when_it_is_not_json(raw: str) -> None:
    assert overridden(f"traits.x={raw}")["traits"]["x"] == raw


def test_override_creates_missing_objects_along_the_path() -> None:
    assert overridden("context.campaign.name=spring")["context"] == {"campaign": {"name": "spring"}}


def test_override_of_a_top_level_field() -> None:
    assert overridden("userId=user_9")["userId"] == "user_9"


def test_typed_override_applies_only_to_that_type() -> None:
    override = Override.parse("track:properties.x=1")
    track, identify = json.loads(json.dumps(TRACK)), json.loads(json.dumps(IDENTIFY))

    override.apply(track)
    override.apply(identify)

    assert track["properties"] == {"x": 1}
    assert identify == IDENTIFY


def test_overrides_are_applied_before_validation(tmp_path: Path) -> None:
    path = write(tmp_path / "t.json", json.dumps({"type": "track", "userId": "u"}))

    [message] = load_fixtures([path], [Override.parse("event=Clicked")])

    assert message["event"] == "Clicked"


def test_override_that_breaks_a_message_is_reported_with_the_field(tmp_path: Path) -> None:
    problem = load_error("group", overrides=(Override.parse("traits=5"),))

    assert "traits" in problem
    assert "group.json" in problem


def test_override_applies_to_every_message_of_a_file(tmp_path: Path) -> None:
    path = write(tmp_path / "many.json", json.dumps([IDENTIFY, TRACK]))

    messages = load_fixtures([path], [Override.parse("context.ip=203.0.113.9")])

    assert [m["context"]["ip"] for m in messages] == ["203.0.113.9", "203.0.113.9"]


@pytest.mark.parametrize("text", ["traits.plan", "=pro", " =pro", "traits..plan=pro", "traits.=x"])
def test_bad_override_syntax_is_an_input_error_quoting_it(text: str) -> None:
    with pytest.raises(InputError) as info:
        Override.parse(text)

    assert repr(text) in str(info.value)


def test_unknown_type_prefix_is_refused_listing_the_types() -> None:
    with pytest.raises(InputError) as info:
        Override.parse("purchase:properties.x=1")

    assert "'purchase' is not a message type" in str(info.value)
    assert all(t in str(info.value) for t in MESSAGE_TYPES)


def test_value_may_contain_a_colon_and_an_equals_sign() -> None:
    assert overridden("context.page.url=https://x.test/?a=b")["context"]["page"]["url"] == (
        "https://x.test/?a=b"
    )


def test_override_indexes_into_an_existing_array() -> None:
    template = {**IDENTIFY, "traits": {"tags": ["a", "b"]}}

    assert overridden("traits.tags.1=z", template=template)["traits"]["tags"] == ["a", "z"]


# Fresh copies -----------------------------------------------------------------------------------


def test_fresh_copies_have_unique_message_ids() -> None:
    [template] = load_fixtures(["track"])

    ids = {fresh_copy(template, "run1", n)["messageId"] for n in range(1000)}

    assert len(ids) == 1000
    assert template["messageId"] not in ids


def test_fresh_copy_does_not_alias_the_template() -> None:
    [template] = load_fixtures(["identify"])
    before = json.loads(json.dumps(template))

    copy = fresh_copy(template, "run1", 1)
    copy["traits"]["plan"] = "changed"
    copy["context"]["library"]["name"] = "changed"

    assert template == before


def test_fresh_copy_keeps_everything_but_the_message_id() -> None:
    [template] = load_fixtures(["group"])

    copy = fresh_copy(template, "run1", 1)

    assert {k: v for k, v in copy.items() if k != "messageId"} == {
        k: v for k, v in template.items() if k != "messageId"
    }
    assert "run1" in copy["messageId"]
    assert message_problem(copy) is None
