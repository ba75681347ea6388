"""Which external-task topics a worker system may fetch (issue 16, security).

A system client with the scope `external_task:work` carries a list of allowed topics: exact names
(`exchange.grant`) or prefix patterns ending in `.*` (`exchange.*` allows `exchange.grant`,
`exchange.revoke`, not `exchange` itself nor `exchangeX.y`). A bare `*` is never allowed: every worker
system names what it does, so one system's credentials cannot read another's task variables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.core.errors import Forbidden, InvalidInput
from app.engine.external import TOPIC

MAX_TOPICS = 20
MAX_PATTERN = 100


def parse_topics(raw: str) -> list[str]:
    """Split the form's text (one topic a line, or separated by commas, 、 or spaces) into topics."""
    for sep in ("，", ",", "、", ";", "；", "\r", "\t", " "):
        raw = raw.replace(sep, "\n")
    return [part.strip() for part in raw.split("\n") if part.strip()]


def valid_pattern(pattern: str) -> bool:
    """Tell whether a pattern is an exact topic or a `prefix.*` whose prefix is itself a topic."""
    if len(pattern) > MAX_PATTERN:
        return False
    if pattern.endswith(".*"):
        return bool(TOPIC.match(pattern[:-2]))
    return bool(TOPIC.match(pattern))


def normalize_topics(topics: Iterable[Any]) -> list[str]:
    """Check a client's topic patterns and return them deduplicated and sorted (blank ones dropped), or raise 422."""
    found: set[str] = set()
    for item in topics:
        pattern = str(item).strip() if isinstance(item, str) else None
        if pattern == "":
            continue
        if pattern is None or not valid_pattern(pattern):
            shown = str(item)[:120]
            raise InvalidInput(f"主题“{shown}”无效：须以字母开头，由字母、数字和 . _ - 组成，最长 100 个字符；"
                               "可用“前缀.*”表示以该前缀开头的所有主题（如 exchange.*）",
                               code="client_topic_invalid", extra={"topic": shown})
        found.add(pattern)
    if len(found) > MAX_TOPICS:
        raise InvalidInput(f"可领取的主题最多 {MAX_TOPICS} 个（现有 {len(found)} 个），可用“前缀.*”合并",
                           code="client_topic_invalid", extra={"count": len(found)})
    return sorted(found)


def topic_allowed(patterns: Iterable[str], topic: str) -> bool:
    """Tell whether a topic is one of the patterns, or begins with the prefix of a `prefix.*` pattern."""
    for pattern in patterns:
        if pattern.endswith(".*"):
            if topic.startswith(pattern[:-1]) and len(topic) > len(pattern) - 1:
                return True
        elif topic == pattern:
            return True
    return False


def require_topic(patterns: Iterable[str] | None, topic: str) -> None:
    """Refuse (403 topic_not_allowed) a topic the system client may not work."""
    if not topic_allowed(patterns or [], topic):
        raise Forbidden(f"该系统凭据无权领取或办理主题“{topic}”的外部任务，请联系系统管理员在系统凭据中添加该主题",
                        code="topic_not_allowed", extra={"topic": topic})
