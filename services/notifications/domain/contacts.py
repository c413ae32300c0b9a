"""A worker's contact points: checked, masked for every output. Plain Python."""

from __future__ import annotations

import re

MOBILE = re.compile(r"1[3-9][0-9]{9}")
WECHAT_OPENID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def is_mobile(text: object) -> bool:
    """A mainland mobile number, 11 digits starting 13 to 19."""
    return isinstance(text, str) and MOBILE.fullmatch(text) is not None


def is_openid(text: object) -> bool:
    return isinstance(text, str) and WECHAT_OPENID.fullmatch(text) is not None


def mask_mobile(mobile: str) -> str:
    """``13800001234`` → ``138****1234``."""
    return mobile[:3] + "****" + mobile[-4:]


def mask_openid(openid: str) -> str:
    """Only its first and last four characters: enough for staff to tell two apart."""
    return openid[:4] + "****" + openid[-4:]
