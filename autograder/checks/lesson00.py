"""Lesson 00: ``test`` and ``test_eq``."""
from __future__ import annotations

from autograder import messages
from autograder.checks import check, operator_arg


def _expect_assertion(t, reply, function, when):
    raised = reply["raised"]
    t.expect(raised is not None, "raises", messages.SHOULD_RAISE.format(
        function=function, expected="AssertionError", when=when))
    if raised["type"] != "AssertionError":
        raise t.raised(function, raised)
    return raised["message"]


@check("0.1")
def check_test(t):
    small = int(t.randint(0, 1000))
    big = small + int(t.randint(1, 1000))
    cname = f"same_as_{int(t.randint(10, 99))}"
    t.call("test", small, small, operator_arg("eq"), cname)
    reply = t.call("test", small, big, operator_arg("eq"), cname, expect_raise=True)
    message = _expect_assertion(t, reply, "test", f"when cmp({small}, {big}) is False")
    t.expect(cname in message and str(small) in message and str(big) in message, "message",
             f"test's AssertionError message should name the comparison ({cname!r}) and show both "
             f"values ({small} and {big}); it was {message!r}")
    t.call("test", small, big, operator_arg("lt"))
    reply = t.call("test", big, small, operator_arg("lt"), expect_raise=True)
    _expect_assertion(t, reply, "test", f"when cmp({big}, {small}) is False and cname is not given")


@check("0.2")
def check_test_eq(t):
    value, other = int(t.randint(0, 100)), int(t.randint(100, 200))
    reply = t.call("test_eq", value, value, spy="test")
    t.expect(reply["spy_calls"] > 0, "built on test", "test_eq should call test (with operator.eq)")
    t.call("test_eq", [value, other], [value, other])
    t.call("test_eq", "abc", "abc")
    reply = t.call("test_eq", value, other, expect_raise=True)
    _expect_assertion(t, reply, "test_eq", f"for {value} and {other}")
    reply = t.call("test_eq", [value], [other], expect_raise=True)
    _expect_assertion(t, reply, "test_eq", f"for [{value}] and [{other}]")
