"""Name keys and name rules (webapp/names.py), and the parsers' depth and text checks
(webapp/safe_parse.py): pure functions, no app."""

from __future__ import annotations

import json
import unicodedata

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.names import MAX_KEY_LENGTH, name_key, name_problem, text_problem
from webapp.safe_parse import (
    MAX_DEPTH,
    MAX_YAML_NODES,
    InputRefused,
    check_yaml_shape,
    describe_path,
    invalid_text,
    json_depth,
    load_json,
    load_yaml,
)

NFC = unicodedata.normalize("NFC", "Café")
NFD = unicodedata.normalize("NFD", "Café")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (NFC, NFD),  # Unicode forms
        ("Dup", "Ｄup"),  # full width
        ("Dup", "Du\u200bp"),  # zero-width space
        ("Dup", "\ufeffDup\u2060"),  # BOM, word joiner
        ("Dup", "DUP"),  # case
        ("Straße", "STRASSE"),  # full case folding
        ("Kelvin 5K", "kelvin 5\u212a"),  # KELVIN SIGN
        ("ﬁles", "FILES"),  # ligature
        ("  Dup ", "Dup"),  # spaces around
        ("Dup", "Dup\ufe0f"),  # variation selector
        ("Dup", "D\U000e0041up"),  # tag character
    ],
)
def test_names_that_look_alike_share_one_key(one, other):
    assert one != other
    assert name_key(one) == name_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Dup", "Dupe"),
        ("Café", "Cafe"),
        ("a b", "ab"),
        ("Prod", "Prod (2)"),
        ("1", "١"),
    ],
)
def test_names_that_differ_keep_different_keys(one, other):
    assert name_key(one) != name_key(other)


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_a_key_is_its_own_key(text):
    key = name_key(text)
    assert name_key(key) == key


@pytest.mark.parametrize(
    "name", ["Warehouse", NFC, NFD, "Ｄup", "数据仓库", "Prod (EU) — main", "Ünïcödé 2", "a\u00a0b"]
)
def test_ordinary_names_are_allowed(name):
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Du\u200bp", "U+200B"),  # zero-width space (Cf, default-ignorable)
        ("Dup\u202e", "U+202E"),  # right-to-left override
        ("\u0600Dup", "U+0600"),  # Arabic number sign: Cf, not default-ignorable
        ("Du\u00adp", "U+00AD"),  # soft hyphen
        ("Dup\u3164", "U+3164"),  # Hangul filler (a letter, but default-ignorable)
        ("Dup\u0085", "U+0085"),  # NEL, a C1 control
        ("Dup\x07", "U+0007"),
        ("Du\u2028p", "U+2028"),  # line separator
        ("Dup\ufe0f", "U+FE0F"),
    ],
)
def test_control_and_invisible_characters_are_refused_and_named(name, shown):
    problem = name_problem(name)
    assert problem is not None and "control or invisible" in problem and shown in problem


@pytest.mark.parametrize("name", ["Dup\udc00", "\ud800", "Dup\ufffd", "Dup\uffff"])
def test_text_that_is_not_valid_text_is_refused(name):
    assert name_problem(name) == "Display name contains characters that are not valid text"


def test_a_name_whose_characters_expand_too_far_is_refused():
    name = "\ufdfa" * 120  # 120 characters, 2160 once NFKC spells them out
    assert len(name_key(name)) > MAX_KEY_LENGTH
    assert "too long" in name_problem(name)


def test_descriptions_refuse_only_surrogates():
    assert text_problem("line one\nline two\u200b", "Description") is None
    assert text_problem("bad \udc00", "Description") == (
        "Description contains characters that are not valid text"
    )


# -- JSON depth, found without recursion


def _reference_depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_reference_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_reference_depth(v) for v in value), default=0)
    return 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ ab\u00e9\n', max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet='[]{}"\\ k', max_size=4), inner, max_size=4)
    ),
    max_leaves=30,
)


@given(_JSON)
@settings(max_examples=300, deadline=None)
def test_json_depth_equals_the_structure_depth(value):
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert json_depth(text.encode()) == _reference_depth(value)


def test_brackets_inside_strings_do_not_count():
    assert json_depth(b'{"a": "[[[[{{{{", "b\\"[": ["\\\\", "]]]"]}') == 2


def test_load_json_refuses_deep_nesting_and_takes_the_limit():
    assert load_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    for depth in (MAX_DEPTH + 1, 1_000, 500_000):
        with pytest.raises(InputRefused, match="nesting is too deep"):
            load_json(b'{"a": ' + b"[" * depth + b"]" * depth + b"}")


def test_unterminated_strings_are_read_once():
    # Every quote opens a string that never closes: linear, not one rescan per quote.
    assert json_depth(b'"\\"' * 200_000) == 0
    with pytest.raises(ValueError):
        load_json(b'["\\"' * 100_000)


def test_invalid_text_names_every_place_with_a_lone_surrogate():
    body = {
        "displayName": "ok",
        "password": "p\udc00",
        "x": [1, {"y": "\ud800"}],
        "bad\udc00key": 1,
    }
    found = list(invalid_text(body))
    assert (("password",), False) in found and (("x", 1, "y"), False) in found
    assert (("bad\udc00key",), True) in found and len(found) == 3
    assert describe_path(("sources", 0, "bad\udc00key")) == "sources[0].bad\\udc00key"


def test_invalid_text_walks_deep_values_without_recursion():
    value: list = []
    for _ in range(100_000):
        value = [value]
    value = [value, "\udc00"]
    assert list(invalid_text(value)) == [((1,), False)]


# -- YAML shape: depth (aliases counted as what they repeat), size, loops


def test_yaml_with_anchors_and_merge_keys_is_read():
    text = (
        "defaults: &d {dialect: POSTGRES, port: 5432}\nsources:\n  - <<: *d\n    displayName: A\n"
    )
    assert load_yaml(text)["sources"][0]["port"] == 5432


def test_deep_yaml_is_refused_before_it_is_composed():
    with pytest.raises(InputRefused, match="nesting is too deep"):
        load_yaml("a: " + "[" * 5_000 + "]" * 5_000)
    with pytest.raises(InputRefused, match="nesting is too deep"):
        load_yaml("a:\n" + "".join("  " * i + "- \n" for i in range(1, 200)))


def test_aliases_count_as_deep_as_what_they_repeat():
    lines = ["l0: &l0 [x]"] + [f"l{i}: &l{i} [*l{i - 1}]" for i in range(1, 40)]
    with pytest.raises(InputRefused, match="aliases count"):
        check_yaml_shape("\n".join(lines))


def test_alias_expansion_is_bounded():
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1},"
        f" *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    with pytest.raises(InputRefused, match=f"more than {MAX_YAML_NODES}"):
        check_yaml_shape("\n".join(lines))


def test_an_alias_inside_its_own_anchor_is_refused():
    assert isinstance(yaml.safe_load("a: &x [1, *x]")["a"][1], list)  # PyYAML builds a loop
    with pytest.raises(InputRefused, match="loop"):
        load_yaml("a: &x [1, *x]")
