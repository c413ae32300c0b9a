"""The console's only way in: the gateway's /api/v1, with the signed-in person's token."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

ERROR_TEXT = {
    400: "输入有误",
    401: "登录已失效，请重新登录",
    403: "无权限（超出您的角色或组织范围）",
    404: "未找到（或不在您的组织范围内）",
    409: "与当前状态冲突",
    413: "内容过大",
    422: "不符合业务规则",
    429: "请求过于频繁，请稍后再试",
    503: "后台服务暂不可用",
}


@dataclass
class Answer:
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)
    content: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> dict:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"]
        return {}

    @property
    def message(self) -> str:
        base = ERROR_TEXT.get(self.status, f"请求失败（{self.status}）")
        detail = self.error.get("message")
        return f"{base}：{detail}" if detail else base

    @property
    def fields(self) -> dict[str, str]:
        """The API's ``fields``, flattened to dotted names (``members.0.id_number``)."""
        out: dict[str, str] = {}

        def walk(prefix: str, value) -> None:
            if isinstance(value, dict):
                for key, inner in value.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), inner)
            elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                out[prefix] = "；".join(value)
            elif isinstance(value, list):
                for index, inner in enumerate(value):
                    walk(f"{prefix}.{index}", inner)
            elif value is not None:
                out[prefix] = str(value)

        walk("", self.error.get("fields") or {})
        return out


class Gateway:
    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url
        self.timeout = timeout
        self.http = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        json=None,
        params=None,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> Answer:
        assert path.startswith("/api/v1/") or path in ("/health", "/alive"), path
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if request_id:
            headers["X-Request-Id"] = request_id
        try:
            response = self.http.request(
                method,
                self.base_url + path,
                json=json,
                params={k: v for k, v in (params or {}).items() if v not in (None, "")},
                headers=headers,
                timeout=timeout or self.timeout,
            )
        except requests.RequestException:
            return Answer(503, {"error": {"code": "unavailable", "message": "网关无法连接。"}})
        kind = response.headers.get("Content-Type", "")
        body = None
        if kind.startswith("application/json"):
            try:
                body = response.json()
            except ValueError:
                body = None
        return Answer(response.status_code, body, dict(response.headers), response.content)
