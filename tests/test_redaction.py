"""One redaction for every output: a key is masked wherever it stands in the text, and the
assertion helpers' failure text (which quotes stored events) passes through it too."""

from __future__ import annotations

import json

import httpx
import pytest

from ctph_harness.posthog.server import FakePostHog
from ctph_harness.redact import printable

PROJECT = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
PERSONAL = "phx_9fK2mQ7xLp4sT8vW1yZ3bN6cR0dH5jEq"


@pytest.mark.parametrize(
    "text",
    [
        f"user_{PERSONAL}",  # glued to a word
        f'{{"note": "line\\n{PERSONAL}"}}',  # after a JSON escape
        f"data=token%3D{PERSONAL}%26x",  # URL-encoded
        f"Bearer {PERSONAL}",
    ],
)
def test_a_personal_key_is_masked_wherever_it_stands(text: str) -> None:
    shown = printable(text)
    assert PERSONAL not in shown
    assert f"phx_…{PERSONAL[-4:]}" in shown


def test_a_project_key_glued_to_a_word_is_masked() -> None:
    assert PROJECT not in printable(f"user_{PROJECT}")


def test_assert_event_failure_text_masks_the_token_posthog_js_sends() -> None:
    body = {
        "event": "$pageview",
        "distinct_id": "u-1",
        "properties": {"token": PROJECT, "leak": PERSONAL, "$current_url": "https://a.example"},
    }
    with FakePostHog() as fake:
        assert httpx.post(fake.url + "/e/", content=json.dumps(body)).status_code == 200
        with pytest.raises(AssertionError) as failed:
            fake.assert_event("$pageview", properties={"plan": "pro"})
        with pytest.raises(AssertionError) as no_person:
            fake.assert_person("u-1", properties={"plan": "pro"})
    for text in (str(failed.value), str(no_person.value)):
        assert PROJECT not in text and PERSONAL not in text
    assert "phc_Tq7…2xZ4a" in str(failed.value)
