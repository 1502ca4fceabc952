from __future__ import annotations

import pytest

from tests.satisfaction.helpers import AskingChannel, ReplyChannel


@pytest.fixture
def asking_channels(settings):
    """Telegram asks the survey with buttons, VK publishes and asks by a reply; both record their calls."""
    AskingChannel.reset()
    ReplyChannel.published = []
    settings.OTKLIK_CHANNEL_ADAPTERS = {
        "telegram": "tests.satisfaction.helpers.AskingChannel",
        "vk": "tests.satisfaction.helpers.ReplyChannel",
    }
    yield
    AskingChannel.reset()
