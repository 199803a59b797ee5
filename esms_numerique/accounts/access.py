"""The one door: who a user is in the programme, read once per request (AccessMiddleware, or cached on the
user object for services and commands), and the questions pages, API, exports and charts ask of it. Which rows a
scope sees is decided next to each model (dossiers/access.py, sons/access.py), from this object only
(docs/decisions.md, D-ACCESS)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import SimpleLazyObject

from .enums import Role

CACHE_ATTRIBUTE = "_esms_access"


@dataclass(frozen=True)
class Access:
    user_id: int | None = None
    role: Role | None = None
    region: str = ""
    legal_entity_id: int | None = None
    editor_id: int | None = None

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def og_id(self) -> int | None:
        """The OG a porteur acts for."""
        return self.legal_entity_id if self.role == Role.PORTEUR else None

    @property
    def editor(self) -> int | None:
        """The éditeur an éditeur's user acts for."""
        return self.editor_id if self.role == Role.EDITEUR else None

    @property
    def instructed_region(self) -> str:
        """The region whose regional dossiers an ARS instructor acts on."""
        return self.region if self.role == Role.ARS else ""

    @property
    def read_region(self) -> str:
        """The region an ARS instructor or a GRADeS observer reads."""
        return self.region if self.role in (Role.ARS, Role.OBSERVER) else ""

    @property
    def is_national(self) -> bool:
        """CNSA/DNS: instructs national dossiers, reads every filed one, records SONS payments for the ASP."""
        return self.role == Role.NATIONAL

    @property
    def reads_everything(self) -> bool:
        return self.role in (Role.NATIONAL, Role.ADMIN)

    @property
    def may_create_dossier(self) -> bool:
        return self.og_id is not None

    @property
    def may_order(self) -> bool:
        return self.editor is not None

    @property
    def follows_programme(self) -> bool:
        """The follow-up page, the per-OG view: ARS, GRADeS, national teams and administrators."""
        return bool(self.read_region) or self.reads_everything

    @property
    def committee_region(self) -> str | None:
        """The region an ARS instructor's committees sit for, "" for CNSA/DNS, None for anyone else."""
        if self.instructed_region:
            return self.instructed_region
        if self.is_national:
            return ""
        return None


ANONYMOUS = Access()


def _load(user) -> Access:
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    if user.is_superuser:
        return Access(user_id=user.pk, role=Role.ADMIN)
    from .models import Profile

    profile = Profile.objects.filter(user_id=user.pk).only("role", "region", "legal_entity_id", "editor_id").first()
    if profile is None:
        return Access(user_id=user.pk)
    return Access(
        user_id=user.pk,
        role=Role(profile.role),
        region=profile.region,
        legal_entity_id=profile.legal_entity_id,
        editor_id=profile.editor_id,
    )


def access_of(user) -> Access:
    """The user's scope, read from the database once per user object (one request, one command)."""
    if user is None:
        return ANONYMOUS
    cached = getattr(user, CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = _load(user)
        setattr(user, CACHE_ATTRIBUTE, cached)
    return cached


def forget_access(user) -> None:
    """After a change of role (admin, tests): the next question reads the profile again."""
    if user is not None and hasattr(user, CACHE_ATTRIBUTE):
        delattr(user, CACHE_ATTRIBUTE)


class AccessMiddleware:
    """Sets `request.access`, read lazily from the profile once per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.access = SimpleLazyObject(lambda: access_of(request.user))
        return self.get_response(request)
