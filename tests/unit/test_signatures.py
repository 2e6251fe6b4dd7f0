"""Webhook signatures: the README's verification example (run as printed) accepts what the
delivery job signs and refuses a changed body, another secret and an old timestamp."""

from __future__ import annotations

import re
import time
from pathlib import Path

from webapp.core.signatures import sign, verify

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_checker():
    """The `datadock_signed` function exactly as the README prints it."""
    text = README.read_text()
    block = re.search(r"```python\n(import hashlib, hmac, time\n.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 10
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    return namespace["datadock_signed"]


def test_the_readme_example_checks_what_datadock_signs():
    checker = readme_checker()
    body = b'{"id":"x","type":"test"}'
    header = sign("whsec_secret", body)
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert checker("whsec_secret", header, body)
    assert verify("whsec_secret", header, body)
    assert not checker("whsec_secret", header, body + b" ")
    assert not checker("whsec_other", header, body)
    old = sign("whsec_secret", body, int(time.time()) - 3600)
    assert not checker("whsec_secret", old, body) and not verify("whsec_secret", old, body)
    assert not checker("whsec_secret", "garbage", body) and not verify("s", "garbage", body)
