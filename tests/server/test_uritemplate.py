"""Tests for ssemcp.server.uritemplate: RFC 6570 expansion, and matching URIs back safely."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssemcp.errors import LocalProtocolError
from ssemcp.server.uritemplate import (
    DEFAULT_MAX_URI_LENGTH,
    ExpansionValue,
    UriTemplate,
    is_template,
)

# RFC 6570 section 3.2, the variables all its examples use.
RFC_VALUES: Mapping[str, ExpansionValue] = {
    "count": ["one", "two", "three"],
    "dom": ["example", "com"],
    "dub": "me/too",
    "hello": "Hello World!",
    "half": "50%",
    "var": "value",
    "who": "fred",
    "base": "http://example.com/home/",
    "path": "/foo/bar",
    "list": ["red", "green", "blue"],
    "keys": {"semi": ";", "dot": ".", "comma": ","},
    "v": "6",
    "x": "1024",
    "y": "768",
    "empty": "",
    "empty_keys": {},
    "undef": None,
}

# RFC 6570 section 1.2, the examples of levels 1 to 3.
RFC_LEVEL_EXAMPLES = [
    # Level 1
    ("{var}", "value"),
    ("{hello}", "Hello%20World%21"),
    # Level 2
    ("{+var}", "value"),
    ("{+hello}", "Hello%20World!"),
    ("{+path}/here", "/foo/bar/here"),
    ("here?ref={+path}", "here?ref=/foo/bar"),
    ("X{#var}", "X#value"),
    ("X{#hello}", "X#Hello%20World!"),
    # Level 3
    ("map?{x,y}", "map?1024,768"),
    ("{x,hello,y}", "1024,Hello%20World%21,768"),
    ("{+x,hello,y}", "1024,Hello%20World!,768"),
    ("{+path,x}/here", "/foo/bar,1024/here"),
    ("{#x,hello,y}", "#1024,Hello%20World!,768"),
    ("{#path,x}/here", "#/foo/bar,1024/here"),
    ("X{.var}", "X.value"),
    ("X{.x,y}", "X.1024.768"),
    ("{/var}", "/value"),
    ("{/var,x}/here", "/value/1024/here"),
    ("{;x,y}", ";x=1024;y=768"),
    ("{;x,y,empty}", ";x=1024;y=768;empty"),
    ("{?x,y}", "?x=1024&y=768"),
    ("{?x,y,empty}", "?x=1024&y=768&empty="),
    ("?fixed=yes{&x}", "?fixed=yes&x=1024"),
    ("{&x,y,empty}", "&x=1024&y=768&empty="),
]

# RFC 6570 sections 3.2.1 to 3.2.9, every example except the few that name one variable twice
# ({.who,who}, {/who,who}, {/var:1,var}), which this module refuses on purpose.
RFC_SECTION_3_2_EXAMPLES = [
    # 3.2.1 Variable Expansion
    ("{count}", "one,two,three"),
    ("{count*}", "one,two,three"),
    ("{/count}", "/one,two,three"),
    ("{/count*}", "/one/two/three"),
    ("{;count}", ";count=one,two,three"),
    ("{;count*}", ";count=one;count=two;count=three"),
    ("{?count}", "?count=one,two,three"),
    ("{?count*}", "?count=one&count=two&count=three"),
    ("{&count*}", "&count=one&count=two&count=three"),
    # 3.2.2 Simple String Expansion
    ("{var}", "value"),
    ("{hello}", "Hello%20World%21"),
    ("{half}", "50%25"),
    ("O{empty}X", "OX"),
    ("O{undef}X", "OX"),
    ("{x,y}", "1024,768"),
    ("{x,hello,y}", "1024,Hello%20World%21,768"),
    ("?{x,empty}", "?1024,"),
    ("?{x,undef}", "?1024"),
    ("?{undef,y}", "?768"),
    ("{var:3}", "val"),
    ("{var:30}", "value"),
    ("{list}", "red,green,blue"),
    ("{list*}", "red,green,blue"),
    ("{keys}", "semi,%3B,dot,.,comma,%2C"),
    ("{keys*}", "semi=%3B,dot=.,comma=%2C"),
    # 3.2.3 Reserved Expansion
    ("{+var}", "value"),
    ("{+hello}", "Hello%20World!"),
    ("{+half}", "50%25"),
    ("{base}index", "http%3A%2F%2Fexample.com%2Fhome%2Findex"),
    ("{+base}index", "http://example.com/home/index"),
    ("O{+empty}X", "OX"),
    ("O{+undef}X", "OX"),
    ("{+path}/here", "/foo/bar/here"),
    ("here?ref={+path}", "here?ref=/foo/bar"),
    ("up{+path}{var}/here", "up/foo/barvalue/here"),
    ("{+x,hello,y}", "1024,Hello%20World!,768"),
    ("{+path,x}/here", "/foo/bar,1024/here"),
    ("{+path:6}/here", "/foo/b/here"),
    ("{+list}", "red,green,blue"),
    ("{+list*}", "red,green,blue"),
    ("{+keys}", "semi,;,dot,.,comma,,"),
    ("{+keys*}", "semi=;,dot=.,comma=,"),
    # 3.2.4 Fragment Expansion
    ("{#var}", "#value"),
    ("{#hello}", "#Hello%20World!"),
    ("{#half}", "#50%25"),
    ("foo{#empty}", "foo#"),
    ("foo{#undef}", "foo"),
    ("{#x,hello,y}", "#1024,Hello%20World!,768"),
    ("{#path,x}/here", "#/foo/bar,1024/here"),
    ("{#path:6}/here", "#/foo/b/here"),
    ("{#list}", "#red,green,blue"),
    ("{#list*}", "#red,green,blue"),
    ("{#keys}", "#semi,;,dot,.,comma,,"),
    ("{#keys*}", "#semi=;,dot=.,comma=,"),
    # 3.2.5 Label Expansion with Dot-Prefix
    ("{.who}", ".fred"),
    ("{.half,who}", ".50%25.fred"),
    ("www{.dom*}", "www.example.com"),
    ("X{.var}", "X.value"),
    ("X{.empty}", "X."),
    ("X{.undef}", "X"),
    ("X{.var:3}", "X.val"),
    ("X{.list}", "X.red,green,blue"),
    ("X{.list*}", "X.red.green.blue"),
    ("X{.keys}", "X.semi,%3B,dot,.,comma,%2C"),
    ("X{.keys*}", "X.semi=%3B.dot=..comma=%2C"),
    ("X{.empty_keys}", "X"),
    ("X{.empty_keys*}", "X"),
    # 3.2.6 Path Segment Expansion
    ("{/who}", "/fred"),
    ("{/half,who}", "/50%25/fred"),
    ("{/who,dub}", "/fred/me%2Ftoo"),
    ("{/var}", "/value"),
    ("{/var,empty}", "/value/"),
    ("{/var,undef}", "/value"),
    ("{/var,x}/here", "/value/1024/here"),
    ("{/list}", "/red,green,blue"),
    ("{/list*}", "/red/green/blue"),
    ("{/list*,path:4}", "/red/green/blue/%2Ffoo"),
    ("{/keys}", "/semi,%3B,dot,.,comma,%2C"),
    ("{/keys*}", "/semi=%3B/dot=./comma=%2C"),
    # 3.2.7 Path-Style Parameter Expansion
    ("{;who}", ";who=fred"),
    ("{;half}", ";half=50%25"),
    ("{;empty}", ";empty"),
    ("{;v,empty,who}", ";v=6;empty;who=fred"),
    ("{;v,bar,who}", ";v=6;who=fred"),
    ("{;x,y}", ";x=1024;y=768"),
    ("{;x,y,empty}", ";x=1024;y=768;empty"),
    ("{;x,y,undef}", ";x=1024;y=768"),
    ("{;hello:5}", ";hello=Hello"),
    ("{;list}", ";list=red,green,blue"),
    ("{;list*}", ";list=red;list=green;list=blue"),
    ("{;keys}", ";keys=semi,%3B,dot,.,comma,%2C"),
    ("{;keys*}", ";semi=%3B;dot=.;comma=%2C"),
    # 3.2.8 Form-Style Query Expansion
    ("{?who}", "?who=fred"),
    ("{?half}", "?half=50%25"),
    ("{?x,y}", "?x=1024&y=768"),
    ("{?x,y,empty}", "?x=1024&y=768&empty="),
    ("{?x,y,undef}", "?x=1024&y=768"),
    ("{?var:3}", "?var=val"),
    ("{?list}", "?list=red,green,blue"),
    ("{?list*}", "?list=red&list=green&list=blue"),
    ("{?keys}", "?keys=semi,%3B,dot,.,comma,%2C"),
    ("{?keys*}", "?semi=%3B&dot=.&comma=%2C"),
    # 3.2.9 Form-Style Query Continuation
    ("{&who}", "&who=fred"),
    ("{&half}", "&half=50%25"),
    ("?fixed=yes{&x}", "?fixed=yes&x=1024"),
    ("{&x,y,empty}", "&x=1024&y=768&empty="),
    ("{&var:3}", "&var=val"),
    ("{&list}", "&list=red,green,blue"),
    ("{&list*}", "&list=red&list=green&list=blue"),
    ("{&keys}", "&keys=semi,%3B,dot,.,comma,%2C"),
    ("{&keys*}", "&semi=%3B&dot=.&comma=%2C"),
]

# The resource templates MCP servers register, with a URI each serves.
MCP_MATCHES = [
    ("greeting://{name}", "greeting://Alice", {"name": "Alice"}),
    ("hn://item/{id}", "hn://item/8863", {"id": "8863"}),
    ("hn://stories/{feed}", "hn://stories/top", {"feed": "top"}),
    ("hn://user/{username}", "hn://user/dang", {"username": "dang"}),
    ("test://template/{id}/data", "test://template/42/data", {"id": "42"}),
    ("file:///{+path}", "file:///home/user/notes.txt", {"path": "home/user/notes.txt"}),
    ("file:///{+path}", "file:///README.md", {"path": "README.md"}),
    (
        "repo://{owner}/{repo}/issues{?state,page}",
        "repo://octo/hello-world/issues?state=open&page=2",
        {"owner": "octo", "repo": "hello-world", "state": "open", "page": "2"},
    ),
    (
        "repo://{owner}/{repo}/issues{?state,page}",
        "repo://octo/hello-world/issues",
        {"owner": "octo", "repo": "hello-world"},
    ),
    (
        "weather://{city}/forecast{?days}",
        "weather://Paris/forecast?days=3",
        {"city": "Paris", "days": "3"},
    ),
    ("weather://{city}/forecast{?days}", "weather://Paris/forecast", {"city": "Paris"}),
    (
        "weather://{city}/forecast{?days}",
        "weather://San%20Francisco/forecast",
        {"city": "San Francisco"},
    ),
]

MALFORMED_TEMPLATES = {
    "unclosed brace": "greeting://{name",
    "unclosed brace before another": "greeting://{name/{id}",
    "stray closing brace": "greeting://name}",
    "closing before opening": "a}{b}",
    "empty expression": "greeting://{}",
    "operator without variable": "file:///{+}",
    "empty variable in list": "{a,}",
    "leading comma": "{,a}",
    "hyphen in name": "{user-name}",
    "space in name": "{user name}",
    "leading dot in name": "{.}",
    "double dot in name": "{a..b}",
    "trailing dot in name": "{a.}",
    "bad pct-encoding in name": "{a%zz}",
    "prefix zero": "{var:0}",
    "prefix too long": "{var:10000}",
    "prefix not a number": "{var:x}",
    "prefix and explode": "{var*:3}",
    "reserved operator =": "{=var}",
    "reserved operator ,": "{,var}",
    "reserved operator !": "{!var}",
    "reserved operator @": "{@var}",
    "reserved operator |": "{|var}",
    "space in literal": "greeting:// {name}",
    "lone percent in literal": "half://50%/{id}",
    "bad pct-encoding in literal": "x://%zz/{id}",
    "backslash in literal": "x://a\\{id}",
    "quote in literal": "x://'{id}'",
    "control character in literal": "x://a\n{id}",
    "duplicate variable": "repo://{name}/{name}",
    "duplicate within an expression": "{x,x}",
    "duplicate across operators": "{id}{?id}",
}


# --- parsing --------------------------------------------------------------------------------


def test_variables_are_listed_in_order_of_appearance() -> None:
    template = UriTemplate("repo://{owner}/{repo}/issues{?state,page}")
    assert template.variables == ("owner", "repo", "state", "page")


def test_template_keeps_its_source_text() -> None:
    template = UriTemplate("hn://item/{id}")
    assert template.template == "hn://item/{id}"
    assert repr(template) == "UriTemplate('hn://item/{id}')"


def test_templates_with_the_same_text_are_equal_and_hash_alike() -> None:
    assert UriTemplate("hn://item/{id}") == UriTemplate("hn://item/{id}")
    assert hash(UriTemplate("hn://item/{id}")) == hash(UriTemplate("hn://item/{id}"))
    assert UriTemplate("hn://item/{id}") != UriTemplate("hn://user/{id}")


@pytest.mark.parametrize(
    "template", list(MALFORMED_TEMPLATES.values()), ids=list(MALFORMED_TEMPLATES)
)
def test_malformed_template_raises_local_protocol_error(template: str) -> None:
    with pytest.raises(LocalProtocolError):
        UriTemplate(template)


@pytest.mark.parametrize(
    ("template", "message_part"),
    [
        ("greeting://{name", "unclosed '{'"),
        ("greeting://name}", "'}' without a matching '{'"),
        ("greeting://{}", "empty expression"),
        ("{user-name}", "bad variable 'user-name'"),
        ("{=var}", "reserved"),
        ("repo://{name}/{name}", "name"),
        ("x://a b/{id}", "offset 5"),
    ],
)
def test_malformed_template_error_says_what_and_where(template: str, message_part: str) -> None:
    with pytest.raises(LocalProtocolError) as raised:
        UriTemplate(template)
    assert message_part in str(raised.value)
    assert repr(template) in str(raised.value)


def test_rfc_repeated_variable_examples_are_refused() -> None:
    # RFC 6570 allows {.who,who}; match() could not give "who" one value, so we refuse it.
    for template in ("{.who,who}", "{/who,who}", "{/var:1,var}"):
        with pytest.raises(LocalProtocolError, match="more than once"):
            UriTemplate(template)


@pytest.mark.parametrize(
    "template",
    [
        "{%41b}",
        "{a.b}",
        "{a_1}",
        "{A9}",
        "{var:9999}",
        "{list*}",
        "x://%7Euser/{id}",
        "wiki://Straße/{page}",
    ],
)
def test_well_formed_templates_are_accepted(template: str) -> None:
    UriTemplate(template)


def test_template_without_expressions_matches_only_itself() -> None:
    template = UriTemplate("config://app")
    assert template.variables == ()
    assert template.expand({}) == "config://app"
    assert template.match("config://app") == {}
    assert template.match("config://app/") is None


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("greeting://{name}", True),
        ("file:///{+path}", True),
        ("repo://x{?page}", True),
        ("file:///{path", True),  # malformed, so UriTemplate reports it
        ("file:///etc/hosts", False),
        ("config://app?x=1#top", False),
        ("", False),
    ],
)
def test_is_template_tells_templates_from_plain_uris(uri: str, expected: bool) -> None:
    assert is_template(uri) is expected


# --- expansion ------------------------------------------------------------------------------


@pytest.mark.parametrize(("template", "expected"), RFC_LEVEL_EXAMPLES)
def test_expand_gives_rfc6570_section_1_2_level_examples(template: str, expected: str) -> None:
    assert UriTemplate(template).expand(RFC_VALUES) == expected


@pytest.mark.parametrize(("template", "expected"), RFC_SECTION_3_2_EXAMPLES)
def test_expand_gives_rfc6570_section_3_2_examples(template: str, expected: str) -> None:
    assert UriTemplate(template).expand(RFC_VALUES) == expected


def test_expand_writes_integers_in_decimal() -> None:
    assert UriTemplate("hn://item/{id}").expand({"id": 8863}) == "hn://item/8863"
    assert UriTemplate("{?page}").expand({"page": 0}) == "?page=0"


def test_expand_pct_encodes_non_ascii_as_utf8() -> None:
    assert UriTemplate("greeting://{name}").expand({"name": "José"}) == "greeting://Jos%C3%A9"


def test_expand_pct_encodes_non_ascii_literals() -> None:
    # RFC 6570 section 3.1: a literal not allowed in a URI is copied pct-encoded.
    template = UriTemplate("wiki://Straße/{page}")
    assert template.expand({"page": "x"}) == "wiki://Stra%C3%9Fe/x"


def test_expand_keeps_pct_encoded_triplets_only_in_reserved_expansion() -> None:
    assert UriTemplate("{+value}").expand({"value": "a%2Fb"}) == "a%2Fb"
    assert UriTemplate("{value}").expand({"value": "a%2Fb"}) == "a%252Fb"


def test_expand_leaves_out_unknown_and_missing_names() -> None:
    template = UriTemplate("repo://{owner}/{repo}/issues{?state,page}")
    values: dict[str, ExpansionValue] = {"owner": "octo", "repo": "hello", "page": 2, "x": "y"}
    assert template.expand(values) == "repo://octo/hello/issues?page=2"


def test_expand_refuses_prefix_on_a_list() -> None:
    # RFC 6570 section 2.4.1: prefix modifiers do not apply to composite values.
    with pytest.raises(LocalProtocolError, match="prefix"):
        UriTemplate("{list:3}").expand({"list": ["red", "green"]})


@pytest.mark.parametrize(
    "value",
    [True, 1.5, b"bytes", ["red", 7], {"key": 7}],
    ids=["bool", "float", "bytes", "list with int", "mapping to int"],
)
def test_expand_refuses_values_of_unsupported_types(value: object) -> None:
    with pytest.raises(LocalProtocolError):
        # The cast lies on purpose: the check under test is the one at run time.
        UriTemplate("{name}").expand({"name": cast(ExpansionValue, value)})


def test_expand_refuses_a_lone_surrogate() -> None:
    with pytest.raises(LocalProtocolError, match="UTF-8"):
        UriTemplate("{name}").expand({"name": "\ud800"})


# --- matching: what matches -----------------------------------------------------------------


@pytest.mark.parametrize(("template", "uri", "expected"), MCP_MATCHES)
def test_mcp_resource_templates_match_their_uris(
    template: str, uri: str, expected: dict[str, str]
) -> None:
    assert UriTemplate(template).match(uri) == expected


def test_match_returns_variables_in_template_order() -> None:
    matched = UriTemplate("repo://{owner}/{repo}/issues{?state,page}").match(
        "repo://octo/hello/issues?page=2&state=open"
    )
    assert matched is not None
    assert list(matched) == ["owner", "repo", "state", "page"]


def test_query_parameters_match_in_any_order() -> None:
    template = UriTemplate("repo://{owner}/{repo}/issues{?state,page}")
    assert template.match("repo://o/r/issues?page=2&state=open") == {
        "owner": "o",
        "repo": "r",
        "state": "open",
        "page": "2",
    }


def test_missing_query_parameter_is_absent_from_the_result() -> None:
    template = UriTemplate("repo://{owner}/{repo}/issues{?state,page}")
    assert template.match("repo://o/r/issues?page=2") == {"owner": "o", "repo": "r", "page": "2"}


def test_empty_query_value_matches_as_empty_string() -> None:
    # RFC 6570 section 3.2.8 expands an empty string to "name=".
    assert UriTemplate("weather://{city}/forecast{?days}").match(
        "weather://Oslo/forecast?days="
    ) == {"city": "Oslo", "days": ""}


def test_form_query_and_continuation_read_as_one_query() -> None:
    template = UriTemplate("search://{index}{?q}{&page,size}")
    assert template.match("search://books?size=10&q=dune&page=3") == {
        "index": "books",
        "q": "dune",
        "page": "3",
        "size": "10",
    }


def test_query_continuation_after_a_fixed_query() -> None:
    template = UriTemplate("search://books?fixed=yes{&x}")
    assert template.match("search://books?fixed=yes&x=1024") == {"x": "1024"}
    assert template.match("search://books?fixed=yes") == {}


def test_path_style_parameters_match_in_any_order_and_may_be_bare() -> None:
    template = UriTemplate("map://tiles{;x,y,empty}")
    assert template.match("map://tiles;y=768;empty;x=1024") == {
        "x": "1024",
        "y": "768",
        "empty": "",
    }
    assert template.match("map://tiles") == {}


def test_plus_in_a_query_value_stays_a_plus() -> None:
    # RFC 6570 encodes a space as %20, so "+" is not read as a space.
    assert UriTemplate("search://x{?q}").match("search://x?q=a+b") == {"q": "a+b"}


def test_values_are_pct_decoded_once() -> None:
    template = UriTemplate("greeting://{name}")
    assert template.match("greeting://Jos%C3%A9") == {"name": "José"}
    assert template.match("greeting://Jos%c3%a9") == {"name": "José"}
    assert template.match("greeting://Hello%20World%21") == {"name": "Hello World!"}
    assert template.match("greeting://50%2525") == {"name": "50%25"}


def test_raw_non_ascii_value_is_accepted() -> None:
    assert UriTemplate("greeting://{name}").match("greeting://José") == {"name": "José"}


def test_non_ascii_literal_matches_raw_or_pct_encoded() -> None:
    template = UriTemplate("wiki://Straße/{page}")
    assert template.match("wiki://Straße/x") == {"page": "x"}
    assert template.match("wiki://Stra%C3%9Fe/x") == {"page": "x"}
    assert template.match("wiki://Stra%c3%9fe/x") == {"page": "x"}
    assert template.match("wiki://Strasse/x") is None


def test_reserved_variable_spans_slashes() -> None:
    template = UriTemplate("file:///{+path}")
    assert template.match("file:///a/b/c.txt") == {"path": "a/b/c.txt"}
    assert template.match("file:///a/b%20c/d") == {"path": "a/b c/d"}


def test_reserved_variable_may_start_with_slash_when_template_has_no_path_slash_before_it() -> None:
    assert UriTemplate("local:{+path}").match("local:/etc/hosts") == {"path": "/etc/hosts"}
    # "file://" ends the scheme and an empty authority: the value is the whole absolute path.
    assert UriTemplate("file://{+path}").match("file:///etc/hosts") == {"path": "/etc/hosts"}
    assert UriTemplate("file://{+path}").match("file:////etc/hosts") is None


def test_fragment_variable_spans_slashes_and_question_marks() -> None:
    template = UriTemplate("doc://{name}{#section}")
    assert template.match("doc://guide#install/linux?x") == {
        "name": "guide",
        "section": "install/linux?x",
    }


def test_label_and_path_segment_operators_match() -> None:
    assert UriTemplate("file://{name}{.ext}").match("file://notes.txt") == {
        "name": "notes",
        "ext": "txt",
    }
    assert UriTemplate("x:{/a,b}").match("x:/one/two") == {"a": "one", "b": "two"}
    assert UriTemplate("X{.x,y}").match("X.1024.768") == {"x": "1024", "y": "768"}


def test_simple_variable_may_hold_sub_delimiters() -> None:
    assert UriTemplate("greeting://{name}").match("greeting://a,b;c=d") == {"name": "a,b;c=d"}


def test_ambiguous_boundaries_resolve_greedily_leftmost_first() -> None:
    assert UriTemplate("{a}{b}").match("abc") == {"a": "ab", "b": "c"}
    assert UriTemplate("file://{name}{.ext}").match("file://notes.tar.gz") == {
        "name": "notes.tar",
        "ext": "gz",
    }
    assert UriTemplate("x:{+dir}/{name}").match("x:a/b/c") == {"dir": "a/b", "name": "c"}


def test_multi_variable_expression_matches_by_position() -> None:
    assert UriTemplate("map?{x,y}").match("map?1024,768") == {"x": "1024", "y": "768"}


def test_explode_and_prefix_do_not_change_matching() -> None:
    assert UriTemplate("x:{/segments*}").match("x:/one") == {"segments": "one"}
    assert UriTemplate("x:{/segments*}").match("x:/one/two") is None
    assert UriTemplate("x:{?var:3}").match("x:?var=value") == {"var": "value"}


# --- matching: what does not match ----------------------------------------------------------


def test_simple_variable_never_matches_a_slash() -> None:
    template = UriTemplate("hn://item/{id}")
    assert template.match("hn://item/1/2") is None
    assert template.match("hn://item/../secret") is None


@pytest.mark.parametrize("separator", ["?", "#"])
def test_simple_variable_never_matches_query_or_fragment(separator: str) -> None:
    assert UriTemplate("hn://item/{id}").match(f"hn://item/1{separator}x") is None


@pytest.mark.parametrize("encoded", ["%2F", "%2f", "%5C", "%5c", "%00"])
def test_encoded_separator_in_simple_variable_is_rejected(encoded: str) -> None:
    assert UriTemplate("hn://item/{id}").match(f"hn://item/a{encoded}b") is None
    assert UriTemplate("hn://item/{id}").match(f"hn://item/{encoded}") is None


@pytest.mark.parametrize("value", [".", "..", "%2e", "%2E", "%2e%2e", "%2E%2E", ".%2e", "%2e."])
def test_dot_segment_in_simple_variable_is_rejected(value: str) -> None:
    assert UriTemplate("hn://item/{id}").match(f"hn://item/{value}") is None


def test_dots_inside_a_simple_value_are_fine() -> None:
    template = UriTemplate("hn://item/{id}")
    assert template.match("hn://item/...") == {"id": "..."}
    assert template.match("hn://item/a..b") == {"id": "a..b"}


@pytest.mark.parametrize(
    ("template", "uri"),
    [
        ("x:{.name}", "x:.%2e%2e"),
        ("x:{/name}", "x:/%2e%2e"),
        ("x:{/name}", "x:/a%2Fb"),
        ("x:{;name}", "x:;name=.."),
        ("x:{;name}", "x:;name=a%2Fb"),
        ("weather://{city}/forecast{?days}", "weather://Oslo/forecast?days=.."),
        ("weather://{city}/forecast{?days}", "weather://Oslo/forecast?days=%2e%2e"),
        ("weather://{city}/forecast{?days}", "weather://Oslo/forecast?days=a%2Fb"),
        ("weather://{city}/forecast{?days}", "weather://Oslo/forecast?days=a%5Cb"),
        ("weather://{city}/forecast{?days}", "weather://Oslo/forecast?days=a%00"),
        ("weather://{city}/forecast{?days}", "weather://Oslo/forecast?days=a/b"),
    ],
)
def test_label_path_and_query_values_follow_segment_rules(template: str, uri: str) -> None:
    assert UriTemplate(template).match(uri) is None


@pytest.mark.parametrize(
    "path",
    [
        "../etc/passwd",
        "a/../../etc/passwd",
        "a/..",
        "a/.",
        "./a",
        "a/./b",
        "%2e%2e/etc/passwd",
        "%2E%2E/etc/passwd",
        "a/%2e%2e/b",
        "a%2F..%2Fb",
        "a/%2e%2e%2fetc",
        "..%5Cwindows",
        "a%5Cb",
        "a%00.txt",
    ],
)
def test_traversal_in_reserved_variable_is_rejected(path: str) -> None:
    assert UriTemplate("file:///{+path}").match(f"file:///{path}") is None


@pytest.mark.parametrize("uri", ["file:////etc/passwd", "file:///%2Fetc/passwd", "file:///%2fetc"])
def test_reserved_variable_cannot_become_an_absolute_path(uri: str) -> None:
    assert UriTemplate("file:///{+path}").match(uri) is None


@pytest.mark.parametrize("uri", ["proxy:////evil.example/x", "proxy:/%2Fevil.example/x"])
def test_reserved_variable_never_starts_with_two_slashes(uri: str) -> None:
    assert UriTemplate("proxy:{+target}").match(uri) is None


@pytest.mark.parametrize("uri", ["file:///a/b?x=1", "file:///a/b#top"])
def test_reserved_variable_stops_at_query_and_fragment(uri: str) -> None:
    assert UriTemplate("file:///{+path}").match(uri) is None


@pytest.mark.parametrize("raw", ["%zz", "%2", "a%", "%g0", "%%41"])
def test_invalid_percent_encoding_never_matches(raw: str) -> None:
    assert UriTemplate("greeting://{name}").match(f"greeting://{raw}") is None
    assert UriTemplate("file:///{+path}").match(f"file:///a/{raw}") is None
    assert UriTemplate("x:{?q}").match(f"x:?q={raw}") is None


@pytest.mark.parametrize(
    "raw",
    ["%C3", "%FF", "%C0%AF", "%E0%80%AF", "%ED%A0%80", "%C3%28"],
    ids=[
        "truncated",
        "invalid byte",
        "overlong slash",
        "overlong slash 3",
        "surrogate",
        "bad tail",
    ],
)
def test_invalid_utf8_never_matches(raw: str) -> None:
    assert UriTemplate("greeting://{name}").match(f"greeting://a{raw}") is None
    assert UriTemplate("file:///{+path}").match(f"file:///a/{raw}") is None


def test_lone_surrogate_in_uri_never_matches() -> None:
    assert UriTemplate("greeting://{name}").match("greeting://a\ud800") is None


@pytest.mark.parametrize(
    "raw",
    [
        "a b",
        "a\nb",
        "a\tb",
        "a\x00",
        "a\\b",
        'a"b',
        "a<b",
        "a>b",
        "a^b",
        "a`b",
        "a{b",
        "a|b",
        "a\x7f",
        "a\x85",
    ],
)
def test_characters_a_uri_cannot_hold_never_match(raw: str) -> None:
    assert UriTemplate("greeting://{name}").match(f"greeting://{raw}") is None
    assert UriTemplate("file:///{+path}").match(f"file:///{raw}") is None


@pytest.mark.parametrize(
    "value",
    ["\uff0f", "%EF%BC%8F", "a\uff3cb", "\u2025", "\u2024\u2024", "%E2%80%A5", "\uff0e\uff0e"],
    ids=[
        "fullwidth solidus",
        "fullwidth solidus encoded",
        "fullwidth reverse solidus",
        "two dot leader",
        "one dot leaders",
        "two dot leader encoded",
        "fullwidth full stops",
    ],
)
def test_look_alike_separator_in_simple_variable_is_rejected(value: str) -> None:
    # NFKC folds each of these into "/", "\\" or "..".
    assert UriTemplate("hn://item/{id}").match(f"hn://item/{value}") is None


@pytest.mark.parametrize(
    "value",
    ["a/\u2025/b", "a/%E2%80%A5/b", "\uff0e\uff0e/etc", "a\uff3cb", "\uff0fetc", "%EF%BC%8Fetc"],
)
def test_look_alike_traversal_in_reserved_variable_is_rejected(value: str) -> None:
    assert UriTemplate("file:///{+path}").match(f"file:///{value}") is None


@pytest.mark.parametrize(
    "uri",
    [
        "hn://item/",  # the variable is missing
        "hn://item",  # prefix only
        "hn://item/1/extra",  # trailing junk
        "hn://item/1?x=1",
        "hn://item/1#top",
        "xhn://item/1",  # leading junk
        "HN://item/1",  # literals match exactly
        "",
    ],
)
def test_match_is_anchored_at_both_ends(uri: str) -> None:
    assert UriTemplate("hn://item/{id}").match(uri) is None


def test_empty_simple_value_does_not_match() -> None:
    assert UriTemplate("test://template/{id}/data").match("test://template//data") is None
    assert UriTemplate("file:///{+path}").match("file:///") is None


def test_multi_variable_expression_needs_every_variable() -> None:
    template = UriTemplate("map?{x,y}")
    assert template.match("map?1024") is None
    assert template.match("map?1024,") is None


def test_query_with_unknown_parameter_does_not_match() -> None:
    template = UriTemplate("weather://{city}/forecast{?days}")
    assert template.match("weather://Oslo/forecast?days=3&units=metric") is None


def test_repeated_query_parameter_does_not_match() -> None:
    template = UriTemplate("weather://{city}/forecast{?days}")
    assert template.match("weather://Oslo/forecast?days=3&days=4") is None


@pytest.mark.parametrize("query", ["?days", "?", "?&days=3", "?days=3&", "?days=3?x=1"])
def test_malformed_query_does_not_match(query: str) -> None:
    assert (
        UriTemplate("weather://{city}/forecast{?days}").match(f"weather://Oslo/forecast{query}")
        is None
    )


@pytest.mark.parametrize(
    ("template", "uri"),
    [
        ("{a}{b}", "a" * 8000 + " "),
        ("{a}{b}{c}", "a" * 8000 + "?"),
        ("{+a}/{+b}", "a/" * 4000 + "#"),
        ("repo://{owner}/{repo}/issues{?state,page}", "repo://" + "a/" * 4000 + "x"),
    ],
)
def test_near_miss_on_a_long_uri_does_not_match(template: str, uri: str) -> None:
    # Without the character prefilter and possessive values these backtrack for seconds or more.
    assert UriTemplate(template).match(uri) is None


def test_uri_longer_than_the_limit_does_not_match() -> None:
    template = UriTemplate("greeting://{name}", max_uri_length=20)
    assert template.match("greeting://" + "a" * 9) == {"name": "a" * 9}
    assert template.match("greeting://" + "a" * 10) is None
    assert (
        UriTemplate("greeting://{name}").match("greeting://" + "a" * DEFAULT_MAX_URI_LENGTH) is None
    )


# --- properties -----------------------------------------------------------------------------

_UNSAFE_IN_SEGMENT = frozenset("/\\\x00")


def _is_plain_segment(text: str) -> bool:
    """A value the segment rules accept: no separator and no dot segment, NFKC form too."""
    forms = {text, unicodedata.normalize("NFKC", text)}
    return all(form not in {".", ".."} and _UNSAFE_IN_SEGMENT.isdisjoint(form) for form in forms)


_segment_values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/\\\x00"),
    min_size=1,
).filter(_is_plain_segment)


@settings(deadline=None)
@given(name=_segment_values)
def test_simple_variable_round_trips(name: str) -> None:
    template = UriTemplate("greeting://{name}")
    assert template.match(template.expand({"name": name})) == {"name": name}


@settings(deadline=None)
@given(
    owner=_segment_values,
    repo=_segment_values,
    state=st.none() | _segment_values,
    page=st.none() | st.integers(min_value=0, max_value=10**6).map(str),
)
def test_repository_template_round_trips(
    owner: str, repo: str, state: str | None, page: str | None
) -> None:
    template = UriTemplate("repo://{owner}/{repo}/issues{?state,page}")
    values = {"owner": owner, "repo": repo, "state": state, "page": page}
    expected = {name: value for name, value in values.items() if value is not None}
    assert template.match(template.expand(values)) == expected


# Reserved expansion keeps "?", "#" and pct-encoded triplets as they are, so a path holding them
# reads back differently; the property covers the paths a file server would hand out.
_path_segment_values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/\\\x00?#%"),
    min_size=1,
).filter(_is_plain_segment)


@settings(deadline=None)
@given(segments=st.lists(_path_segment_values, min_size=1, max_size=5))
def test_reserved_path_round_trips(segments: list[str]) -> None:
    template = UriTemplate("file:///{+path}")
    path = "/".join(segments)
    assert template.match(template.expand({"path": path})) == {"path": path}


@settings(deadline=None)
@given(name=st.text(alphabet=st.characters(codec="utf-8")))
def test_match_never_yields_a_value_other_than_the_one_expanded(name: str) -> None:
    template = UriTemplate("greeting://{name}")
    matched = template.match(template.expand({"name": name}))
    assert matched is None or matched == {"name": name}
    if matched is not None:
        assert _is_plain_segment(name)


@settings(deadline=None)
@given(uri=st.text())
def test_whatever_matches_a_simple_variable_is_a_safe_segment(uri: str) -> None:
    matched = UriTemplate("hn://item/{id}").match("hn://item/" + uri)
    if matched is not None:
        assert matched["id"]
        assert _is_plain_segment(matched["id"])
