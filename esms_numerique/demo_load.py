"""`esms demo load`: a local platform to click through — the small synthetic registry and demo accounts.
The accounts are for a local machine only; their passwords are in the README."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import Permission, User
from django.db import transaction

from esms_numerique.registry.demo import generate
from esms_numerique.registry.services import import_extracts

DEMO_USERS = [
    # username, password, superuser, may correct sectors
    ("admin", "admin-esms-demo", True, True),
    ("instructeur", "instructeur-esms-demo", False, True),
    ("porteur", "porteur-esms-demo", False, False),
]


def load_demo(directory: Path) -> list[str]:
    files = generate(directory, "small")
    report = import_extracts(
        files.et.name, files.et.read_bytes(), files.ej.name, files.ej.read_bytes(), actor="esms demo load"
    )
    lines = [report.summary()]
    change = Permission.objects.get(codename="change_establishment", content_type__app_label="registry")
    with transaction.atomic():
        for username, password, superuser, corrects in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.is_superuser = user.is_staff = superuser
                user.save()
                if corrects:
                    user.user_permissions.add(change)
                lines.append(f"Compte de démonstration créé : {username}")
    return lines
