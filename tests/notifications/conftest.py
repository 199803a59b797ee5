"""A real SMTP server on loopback (aiosmtpd, in the test process) that the platform's SMTP backend talks to, and
the users of tests/dossiers with e-mail addresses."""

from __future__ import annotations

import asyncio
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.dossiers.conftest import campaign_2024, registry, users  # noqa: F401  (fixtures)


class Inbox:
    """What the server received: one (recipients, message) per accepted DATA. `refuse` makes it answer 451 to the
    next DATA commands; `stall` makes it hold the next one without answering until `release` is set."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse = 0
        self.stall = False
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.stall:
            self.stall = False
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Interrompu"
        with self.lock:
            if self.refuse:
                self.refuse -= 1
                return "451 4.3.0 Serveur occupé, réessayez plus tard"
            message = message_from_bytes(envelope.content, policy=policy.default)
            self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for recipients, message in self.received if address in recipients]

    def subjects(self, address: str) -> list[str]:
        return [subject(message) for message in self.to(address)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    settings.SITE_URL = "https://esms.exemple.gouv.fr"
    settings.DEFAULT_FROM_EMAIL = "ESMS numérique <ne-pas-repondre@esms.exemple.gouv.fr>"
    inbox.port = controller.port
    yield inbox
    inbox.release.set()
    controller.stop()


def address(user) -> str:
    return f"{user.username}@exemple.fr"


@pytest.fixture
def people(users):  # noqa: F811  (the fixture imported above)
    """The users of tests/dossiers, each with an address « username@exemple.fr »."""
    for user in users.values():
        user.email = address(user)
        user.save(update_fields=["email"])
    return users


def subject(message: EmailMessage) -> str:
    # Django folds a non-ASCII subject after « Subject: »; the parsed header keeps the fold's space.
    return str(message["Subject"]).strip()


def body(message: EmailMessage, kind: str = "plain") -> str:
    return message.get_body(preferencelist=(kind,)).get_content()
