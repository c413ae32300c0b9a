"""Message texts per event type (zh-CN). They never name a diagnosis, a hardship status or
an amount of hardship aid: they say something happened and where to look."""

from __future__ import annotations

from dataclasses import dataclass

from shared.money import format_fen

PORTAL = "龙岩市总工会服务平台"
SIGNATURE = "【龙岩市总工会】"


@dataclass(frozen=True)
class Notice:
    recipient: str  # the member's ID-number lookup hash; never the number itself
    org: str | None  # the member's org unit: who may read the notice; None when unknown
    ref: str  # the business object the notice is about
    inbox_text: str
    sms_text: str


class NoTemplate(LookupError):
    pass


def _claim_decided(payload: dict) -> Notice:
    reference = payload["claim_id"][:8].upper()
    status = payload["status"]
    if status == "approved":
        inbox = (
            f"您的职工医疗互助补助申请（编号 {reference}）已审核通过，"
            f"补助金额 {format_fen(payload['amount_fen'])} 元，将随当月批次发放。"
        )
    elif status == "rejected":
        inbox = (
            f"您的职工医疗互助补助申请（编号 {reference}）未获补助。"
            f"如有疑问，请联系所在单位工会或登录{PORTAL}查看原因。"
        )
    else:
        inbox = (
            f"您的职工医疗互助补助申请（编号 {reference}）已受理，正在人工复核，结果将另行通知。"
        )
    sms = f"{SIGNATURE}您的职工医疗互助补助申请（编号 {reference}）有新进展，请登录{PORTAL}查看。"
    return Notice(
        recipient=payload["member_id_hash"],
        org=payload.get("member_org"),
        ref=payload["claim_id"],
        inbox_text=inbox,
        sms_text=sms,
    )


def _claim_paid(payload: dict) -> Notice:
    reference = payload["claim_id"][:8].upper()
    inbox = (
        f"您的职工医疗互助补助（编号 {reference}）{format_fen(payload['amount_fen'])} 元"
        f"已于 {payload['paid_on']} 发放，请留意银行到账信息。"
    )
    sms = f"{SIGNATURE}您的职工医疗互助补助（编号 {reference}）已发放，请登录{PORTAL}查看。"
    # A payout is its own notice about the same claim: the ref stays the claim, the delivery
    # key (event, recipient, channel) keeps it apart from the decision notice.
    return Notice(
        recipient=payload["member_id_hash"],
        org=payload.get("member_org"),
        ref=payload["claim_id"],
        inbox_text=inbox,
        sms_text=sms,
    )


def _award_disbursed(payload: dict) -> Notice:
    # Neither the amount nor why the child was aided: the parent knows, a shared phone need not.
    text = (
        f"您子女的{payload['campaign']}年度金秋助学金已于 {payload['paid_on']} 发放，"
        f"请留意银行到账信息，详情请登录{PORTAL}查看。"
    )
    return Notice(
        recipient=payload["parent_id_hash"],
        org=payload.get("org"),
        ref=payload["application_id"],
        inbox_text=text,
        sms_text=f"{SIGNATURE}{text}",
    )


TEMPLATES = {
    ("mutual_aid", "claim_decided"): _claim_decided,
    ("mutual_aid", "claim_paid"): _claim_paid,
    ("student_aid", "award_disbursed"): _award_disbursed,
}


def render(producer: str, event_type: str, payload: dict) -> Notice:
    try:
        template = TEMPLATES[(producer, event_type)]
    except KeyError:
        raise NoTemplate(f"no notification template for {producer}.{event_type}") from None
    return template(payload)
