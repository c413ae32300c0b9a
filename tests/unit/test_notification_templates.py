"""Notification texts: Chinese, about the claim, never naming a diagnosis."""

import pytest

from services.notifications.domain.templates import NoTemplate, render

PAYLOAD = {
    "claim_id": "abcdef0123456789",
    "member_id_hash": "h1",
    "member_id_masked": "m",
    "status": "approved",
    "amount_fen": 66000,
    "reason_code": None,
    "period": 11,
    "policy_version": "v",
    "diagnoses": ["K35.8"],
}


@pytest.mark.parametrize("status", ["approved", "rejected", "needs_review"])
def test_claim_decided_texts_name_no_diagnosis(status):
    notice = render("mutual_aid", "claim_decided", {**PAYLOAD, "status": status})
    assert notice.recipient == "h1" and notice.ref == PAYLOAD["claim_id"]
    for text in (notice.inbox_text, notice.sms_text):
        assert "ABCDEF01" in text and "K35" not in text and "互助" in text


def test_amount_appears_in_the_inbox_only_when_approved():
    assert "660.00" in render("mutual_aid", "claim_decided", PAYLOAD).inbox_text
    assert "660.00" not in render("mutual_aid", "claim_decided", PAYLOAD).sms_text


def test_event_without_template_is_an_error_not_silence():
    with pytest.raises(NoTemplate):
        render("mutual_aid", "something_else", PAYLOAD)


def test_claim_paid_says_paid_with_amount_and_day_and_no_diagnosis():
    paid = {
        "claim_id": "abcdef0123456789",
        "member_id_hash": "h1",
        "member_id_masked": "m",
        "amount_fen": 66000,
        "batch_id": "payout-2018-06",
        "period": 11,
        "paid_on": "2018-06-30",
        "diagnoses": ["K35.8"],
    }
    notice = render("mutual_aid", "claim_paid", paid)
    assert notice.recipient == "h1" and notice.ref == paid["claim_id"]
    assert "660.00" in notice.inbox_text and "2018-06-30" in notice.inbox_text
    assert "发放" in notice.inbox_text and "发放" in notice.sms_text
    assert "660.00" not in notice.sms_text
    for text in (notice.inbox_text, notice.sms_text):
        assert "ABCDEF01" in text and "K35" not in text


def test_notice_keeps_the_members_org_so_reads_can_be_scoped():
    assert render("mutual_aid", "claim_decided", {**PAYLOAD, "member_org": "LY-XL-0042"}).org == (
        "LY-XL-0042"
    )
    assert render("mutual_aid", "claim_decided", PAYLOAD).org is None


AWARD = {
    "application_id": "app-0042",
    "campaign": 2018,
    "parent_id_hash": "h2",
    "org": "LY-XL-0042",
    "amount_fen": 500_000,
    "batch_id": "sb-2018",
    "paid_on": "2018-09-03",
}


def test_award_disbursed_tells_the_parent_in_chinese_without_hardship_or_amount():
    notice = render("student_aid", "award_disbursed", AWARD)
    assert notice.recipient == "h2" and notice.ref == "app-0042"
    for text in (notice.inbox_text, notice.sms_text):
        assert "金秋助学" in text and "发放" in text and "2018-09-03" in text
        for unsaid in ("5000", "5,000", "500000", "困难", "贫困", "建档", "农民工"):
            assert unsaid not in text


def test_award_notice_keeps_the_awards_org_so_reads_can_be_scoped():
    assert render("student_aid", "award_disbursed", AWARD).org == "LY-XL-0042"
