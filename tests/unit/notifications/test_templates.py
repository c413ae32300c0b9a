"""Every template of the current file rendered, every variant, and each text checked for
content minimisation: no diagnosis, no hardship status or cause, no tier or exit reason, no
amount of hardship aid; a mutual-aid amount in the inbox only, never by SMS or WeChat."""

from __future__ import annotations

import re

import pytest

from services.notifications.domain.templates import (
    CHANNELS,
    NoTemplate,
    TemplateError,
    current_templates,
    minimisation_problems,
    parse_templates,
    render,
)
from shared.catalogue import CATALOGUE
from shared.money import format_fen

HASH = "9f" * 32
# One payload per event, as its producer publishes it, with everything a text must not tell
# riding beside (extra keys a newer producer might add are ignored by the renderer).
PAYLOADS = {
    "mutual_aid.claim_decided": {
        "claim_id": "abcdef0123456789",
        "member_id_hash": HASH,
        "member_id_masked": "350802********1234",
        "status": "approved",
        "amount_fen": 66_012,
        "reason_code": "excluded_diagnosis",
        "period": 11,
        "policy_version": "mutual_aid/2018-v1",
        "member_org": "LY-XL-0042",
        "diagnoses": ["K80.1"],
    },
    "mutual_aid.claim_paid": {
        "claim_id": "abcdef0123456789",
        "member_id_hash": HASH,
        "member_id_masked": "350802********1234",
        "amount_fen": 66_012,
        "batch_id": "2018-06",
        "period": 11,
        "paid_on": "2018-07-05",
        "member_org": "LY-XL-0042",
    },
    "dossiers.dossier_established": {
        "dossier_id": "d0551e4a77",
        "head_id_hash": HASH,
        "county": "LY-XL",
        "revision": 2,
        "tier": "national",
        "org": "LY-XL-0042",
        "established_on": "2018-03-02",
        "mobile_encrypted": "v1.k1.sealed",
        "cause": "illness",
    },
    "dossiers.dossier_tier_changed": {
        "dossier_id": "d0551e4a77",
        "head_id_hash": HASH,
        "county": "LY-XL",
        "revision": 3,
        "tier_from": "local",
        "tier": "national",
        "changed_on": "2018-10-02",
    },
    "dossiers.verification_overdue": {
        "dossier_id": "d0551e4a77",
        "head_id_hash": HASH,
        "county": "LY-XL",
        "revision": 4,
        "campaign_id": "2018-10",
    },
    "dossiers.dossier_exited": {
        "dossier_id": "d0551e4a77",
        "head_id_hash": HASH,
        "county": "LY-XL",
        "revision": 5,
        "reason": "fraud",
        "exited_on": "2018-12-02",
    },
    "dossiers.assistance_granted": {
        "grant_id": "g0c0ffee99",
        "dossier_id": "d0551e4a77",
        "head_id_hash": HASH,
        "county": "LY-XL",
        "type": "condolence",
        "amount_fen": 80_000,
        "fund": "F2019",
        "source": "dossiers",
        "granted_on": "2019-01-20",
    },
    "student_aid.eligibility_decided": {
        "application_id": "a11ce5a1d",
        "campaign": 2018,
        "parent_id_hash": HASH,
        "org": "LY-XL",
        "status": "eligible",
        "reason_code": "not_hardship",
    },
    "student_aid.award_approved": {
        "application_id": "a11ce5a1d",
        "campaign": 2018,
        "parent_id_hash": HASH,
        "org": "LY-XL",
        "amount_fen": 500_000,
    },
    "student_aid.award_disbursed": {
        "application_id": "a11ce5a1d",
        "campaign": 2018,
        "parent_id_hash": HASH,
        "org": "LY-XL",
        "amount_fen": 500_000,
        "batch_id": "sb-2018",
        "paid_on": "2018-10-15",
    },
    "jobs.fair_registered": {
        "seeker_id": "5eeker01",
        "id_hash": HASH,
        "county": "LY-XL",
        "fair_id": "fa1r2018",
        "fair_name": "2018年春风行动专场招聘会",
        "fair_date": "2018-03-02",
    },
    "jobs.intent_recorded": {
        "seeker_id": "5eeker01",
        "id_hash": HASH,
        "county": "LY-XL",
        "intent_id": "1ntent01",
        "vacancy_id": "vac01",
        "agreed_on": "2018-03-02",
    },
    "jobs.seeker_hired": {
        "seeker_id": "5eeker01",
        "id_hash": HASH,
        "county": "LY-XL",
        "intent_id": "1ntent01",
        "vacancy_id": "vac01",
        "hired_on": "2018-03-10",
    },
    "jobs.follow_up_due": {
        "seeker_id": "5eeker01",
        "id_hash": HASH,
        "county": "LY-XL",
        "intent_id": "1ntent01",
        "day": 30,
        "due_on": "2018-04-09",
    },
}
HARDSHIP_WORDS = (
    "困难",
    "低保",
    "特困",
    "贫困",
    "帮扶",
    "救助",
    "全国级",
    "地方",
    "基层",
    "欺诈",
    "病",
)
TEMPLATES = current_templates()


def renderings():
    for key, entry in TEMPLATES.entries.items():
        for variant in entry.texts:
            payload = dict(PAYLOADS[key])
            if entry.variant:
                payload[entry.variant] = variant
            yield pytest.param(key, variant, payload, id=f"{key}.{variant}")


def test_every_template_has_a_sample_payload_valid_in_the_catalogue():
    assert set(TEMPLATES.entries) == set(PAYLOADS)
    for key, payload in PAYLOADS.items():
        event_type = key.split(".", 1)[1]
        if key == "student_aid.award_approved":  # one item of an approvals run's event
            event_type = "awards_approved"
            award = {k: payload[k] for k in ("application_id", "parent_id_hash", "org")}
            payload = {"campaign": payload["campaign"], "run": 1, "awards": [award]}
        schema = CATALOGUE[(event_type, 1)]()
        assert schema.validate(payload) == {}, key


@pytest.mark.parametrize(("key", "variant", "payload"), list(renderings()))
def test_every_rendered_text_is_minimal(key, variant, payload):
    producer, event_type = key.split(".", 1)
    notice = render(producer, event_type, payload)
    assert notice is not None and notice.recipient == HASH
    amount = format_fen(payload["amount_fen"]) if "amount_fen" in payload else None
    for channel in CHANNELS:
        text = notice.texts[channel]
        assert text and "{" not in text and "}" not in text, (channel, text)
        assert minimisation_problems(text) == [], (channel, text)
        for word in HARDSHIP_WORDS:
            assert word not in text, (channel, word, text)
        assert not re.search(r"[A-Z][0-9]{2}\.[0-9]", text)  # no ICD code
        assert HASH not in text and "350802" not in text
        for secret in ("illness", "fraud", "not_hardship", "excluded", "national", "sealed"):
            assert secret not in text
        if amount is not None and not (producer == "mutual_aid" and channel == "inbox"):
            assert amount not in text and "元" not in text, (channel, text)
        assert (
            notice.ref[:8].upper() in text
            or channel != "inbox"
            or "慰问" in text
            or key == "jobs.fair_registered"
        )


def test_a_mutual_aid_amount_is_in_the_inbox_only():
    for key in ("mutual_aid.claim_decided", "mutual_aid.claim_paid"):
        producer, event_type = key.split(".", 1)
        notice = render(producer, event_type, PAYLOADS[key])
        assert "660.12" in notice.inbox_text
        assert "660.12" not in notice.sms_text and "660.12" not in notice.wechat_text


def test_a_grant_other_than_a_condolence_tells_nobody():
    payload = {**PAYLOADS["dossiers.assistance_granted"], "type": "medical"}
    assert render("dossiers", "assistance_granted", payload) is None


def test_notice_keeps_the_org_the_event_scopes_by():
    assert render("mutual_aid", "claim_paid", PAYLOADS["mutual_aid.claim_paid"]).org == "LY-XL-0042"
    changed = render("dossiers", "dossier_tier_changed", PAYLOADS["dossiers.dossier_tier_changed"])
    assert changed.org == "LY-XL"  # no org in the event: its county


def test_an_event_without_template_is_an_error_not_silence():
    with pytest.raises(NoTemplate):
        render("mutual_aid", "something_else", {})


def base_file(texts: dict, **entry) -> dict:
    return {
        "version": "notifications-templates/test",
        "signature": "【签】",
        "portal": "平台",
        "events": {
            entry.pop("key", "student_aid.award_disbursed"): {
                "recipient": "parent_id_hash",
                "ref": "application_id",
                **entry,
                "texts": {"default": texts},
            }
        },
    }


OK = {"inbox": "已办理 {reference}", "sms": "{signature}已办理", "wechat": "已办理"}


@pytest.mark.parametrize(
    ("texts", "entry", "problem"),
    [
        ({**OK, "sms": "{signature}您的困难职工档案"}, {}, "困难"),
        ({**OK, "wechat": "诊断 K80.1"}, {}, "诊断"),
        (
            {**OK, "inbox": "{amount} 元"},
            {"amount_field": "amount_fen"},
            "only a mutual-aid amount",
        ),
        (
            {**OK, "sms": "{amount} 元"},
            {"key": "mutual_aid.claim_paid", "amount_field": "amount_fen"},
            "forbidden ['amount']",
        ),
        ({**OK, "inbox": "{tier}"}, {}, "forbidden ['tier']"),
        ({"inbox": "x", "sms": "y"}, {}, "needs exactly"),
    ],
)
def test_the_loader_refuses_a_file_that_breaks_minimisation(texts, entry, problem):
    with pytest.raises(TemplateError, match=re.escape(problem)):
        parse_templates(base_file(texts, **entry), "test.toml")


def test_the_loader_takes_a_sound_file():
    templates = parse_templates(base_file(OK), "test.toml")
    notice = templates.render(
        "student_aid", "award_disbursed", PAYLOADS["student_aid.award_disbursed"]
    )
    assert notice.sms_text == "【签】已办理" and notice.version == "notifications-templates/test"
