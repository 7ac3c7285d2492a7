"""`kaoping signoff replies`: the replies to sign-off emails and what became of them."""

from __future__ import annotations

from tests.factories import ask_signer, scored_cycle, signoff_reply


def test_the_replies_are_listed_with_their_fate(initialized, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    code, request_id, _ = ask_signer(settings)
    signoff_reply(settings, "同意", to=request_id, sender="mishu@baotou.example")  # (a code it showed would be spent)
    signoff_reply(settings, f"同意 {code}", to=request_id)
    result = initialized("signoff", "replies", "--cycle", "2022H1")
    assert result.exit_code == 0, result.output
    assert "mishu@baotou.example" in result.output and "未签字" in result.output and "已签字" in result.output
