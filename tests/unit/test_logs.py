"""JSON logs carry the correlation id and never an ID number in clear."""

import json
import logging

from shared.identity import make_id_number
from shared.logs import JsonFormatter, set_correlation_id


def test_log_line_is_json_with_correlation_id_and_masked_id_number():
    from datetime import date

    id_number = make_id_number("350802", date(1980, 1, 1), 123)
    record = logging.makeLogRecord(
        {
            "name": "t",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "bill for %s",
            "args": (id_number,),
            "claim_id": "c1",
        }
    )
    set_correlation_id("corr-1")
    try:
        line = json.loads(JsonFormatter("mutual_aid").format(record))
    finally:
        set_correlation_id(None)
    assert line["correlation_id"] == "corr-1"
    assert line["service"] == "mutual_aid"
    assert line["claim_id"] == "c1"
    assert id_number not in line["message"]
    assert line["message"] == f"bill for {id_number[:6]}********{id_number[-4:]}"
