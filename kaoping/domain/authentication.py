"""Whether the office's own mail server vouches for a message's sender (Authentication-Results, RFC 8601).

Anyone can write any address in ``From:``. What proves it is the receiving server's verdict: the
office's mail server checks SPF, DKIM and DMARC as the message arrives and writes the outcome in an
``Authentication-Results`` header that starts with its own name (the authserv-id, set in
``KAOPING_MAIL_AUTHSERV_ID``). Only that server's header counts — a sender can write such headers
too, so the topmost one (the last added, by the office's server) with the configured name is read,
and one of another name is ignored.

A message is vouched for when DMARC passed, or when SPF or DKIM passed for a domain aligned with the
``From:`` domain (the same domain, or one a subdomain of the other), or when the server's own login
(``auth=pass``) was for an address of that domain. It is not when DMARC failed, when the office's
server left no verdict, or when nothing aligned passed (an SPF or DKIM fail, or none at all). An
unvouched message is held for the team: it never signs, objects or returns a form in anyone's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SenderCheck:
    vouched: bool
    reason: str  # why not, in the team's words ("" when vouched)
    results: tuple[tuple[str, str, str], ...] = ()  # (method, result, domain) as read


def _strip_comments(text: str) -> str:
    out, depth = [], 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


def _domain(value: str) -> str:
    value = value.strip().strip('"<>').lower()
    return value.rpartition("@")[2].strip(".")


def aligned(one: str, other: str) -> bool:
    """The same domain, or one a subdomain of the other (relaxed alignment)."""
    one, other = one.lower().strip("."), other.lower().strip(".")
    return bool(one and other) and (one == other or one.endswith("." + other) or other.endswith("." + one))


def parse_results(header: str) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
    """(authserv-id, [(method, result, properties)]) of one Authentication-Results header."""
    parts = [p.strip() for p in _strip_comments(header).replace("\r", " ").replace("\n", " ").split(";")]
    serv = parts[0].split()[0].lower() if parts and parts[0].split() else ""
    results = []
    for part in parts[1:]:
        match = re.match(r"\s*([\w.-]+)\s*=\s*([\w-]+)(.*)$", part)
        if not match:
            continue
        props = {k.lower(): v.strip('"') for k, v in re.findall(r"([\w.-]+)\s*=\s*(\"[^\"]*\"|\S+)", match.group(3))}
        results.append((match.group(1).lower(), match.group(2).lower(), props))
    return serv, results


def _checked_domain(method: str, props: dict[str, str]) -> str:
    for key in {"spf": ("smtp.mailfrom", "smtp.helo"), "dkim": ("header.d", "header.i"),
                "auth": ("smtp.auth", "smtp.mailfrom"), "dmarc": ("header.from",)}.get(method, ()):
        if props.get(key):
            return _domain(props[key])
    return ""


def check_sender(headers: list[str], authserv_id: str, from_address: str) -> SenderCheck:
    """The verdict of the server named ``authserv_id`` on a message from ``from_address``
    (``headers``: the Authentication-Results headers, topmost first)."""
    wanted = authserv_id.strip().lower()
    mine = next((h for h in headers if parse_results(h)[0] == wanted), None)
    if mine is None:
        return SenderCheck(False, f"邮件没有专用邮箱服务器（{authserv_id}）写入的认证结果（Authentication-Results），无法确认发件人")
    _, results = parse_results(mine)
    read = tuple((method, result, _checked_domain(method, props)) for method, result, props in results)
    from_domain = _domain(from_address)
    failed = [f"{m}={r}" for m, r, _ in read if m in ("spf", "dkim", "dmarc") and r in ("fail", "softfail", "permerror")]
    if any(m == "dmarc" and r == "fail" for m, r, _ in read):
        return SenderCheck(False, f"发件人域名 {from_domain} 的 DMARC 认证未通过（{'，'.join(failed)}）：发件人可能是伪造的", read)
    if any(m == "dmarc" and r == "pass" for m, r, _ in read):
        return SenderCheck(True, "", read)
    if any(r == "pass" and m in ("spf", "dkim", "auth") and aligned(d, from_domain) for m, r, d in read):
        return SenderCheck(True, "", read)
    why = f"认证未通过（{'，'.join(failed)}）" if failed else "SPF、DKIM 均未能证明发件人"
    return SenderCheck(False, f"发件人域名 {from_domain} {why}：发件人可能是伪造的", read)
