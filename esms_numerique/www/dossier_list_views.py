"""The dossier list and its exports (issue 12), in the manner of Démarches Simplifiées: a search, filters, tabs with
their counts, a sort by column and pages, all in the query string; the export holds exactly the dossiers the list
filters (every page), with the same query string. The list reads the columns the services keep on the dossier row
(dossiers.listing; DECISION D-LIST-COLUMNS), never the grappe's JSON."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cached_property, wraps
from html import escape
from urllib.parse import urlencode

from django.apps import apps as django_apps
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from esms_numerique import clock
from esms_numerique.accounts.access import Access, access_of
from esms_numerique.accounts.enums import Role
from esms_numerique.dossiers.access import national_desk, regional_desk, visible_dossiers
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.listing import searchable
from esms_numerique.dossiers.models import Dossier, DossierRead, Message
from esms_numerique.dossiers.workflow import DECIDED, ENDED, TRANSITIONS
from esms_numerique.ledger.models import FundedEssms, Recovery
from esms_numerique.notifications.models import Follow
from esms_numerique.rules.geography import geography
from esms_numerique.rules.money import format_eur
from esms_numerique.rules.parameters import default_tree

from .exports import Column, table_response
from .links import row_link

PER_PAGE = 50
FINESS = re.compile(r"\d[0-9AB]\d{7}")
DEADLINE_FILTERS = ("depassee", "proche")
TABS = {"tous": "Tous", "a_traiter": "À traiter", "suivis": "Suivis", "traites": "Traités", "archives": "Archivés"}
# Column → the fields it sorts on (a tie broken by the reference); `-` first in the query string: descending.
SORTS = {
    "reference": ("reference",),
    "porteur": ("porteur__name", "reference"),
    "etat": ("state", "reference"),
    "montant": ("amount", "reference"),
    "modifie": ("updated_at", "reference"),
    "echeance": ("deadline_on", "reference"),
}
DEFAULT_SORT = "-modifie"
# DECISION D-LIST-TABS: « traités » are the dossiers decided (retained or refused), « archivés » those ended before
# their term (ENDED); « à traiter » takes precedence over « traités ».
DONE = DECIDED | {State.NON_RETENU, State.NON_RECEVABLE}


def action_states(role: Role) -> frozenset[str]:
    """DECISION D-LIST-TABS: the states where `role` has a step of the workflow to take — not counting the steps
    against the porteur (`danger`: withdrawal, classement sans suite, abandon), which are always open and not work
    waiting; the ended states are archived whatever their steps."""
    return frozenset(s for t in TRANSITIONS if role in t.roles and not t.danger for s in t.sources) - ENDED


def instruction_desk(access: Access) -> Q | None:
    """The dossiers whose instruction is `access`'s desk's, whatever their state: the pivot ARS' regional dossiers
    not handed over; for CNSA/DNS and the administrators, the national ones and those handed over (DECISION
    D-HAND-OVER)."""
    if access.instructed_region:
        return regional_desk(access.instructed_region)
    if access.is_national or access.is_admin:
        return national_desk()
    return None


def acting_filter(access: Access) -> Q | None:
    """The dossiers `access` acts on (dossiers.access.acting_role, as a filter), in a state where it has a step."""
    if access.og_id is not None:
        return Q(porteur_id=access.og_id, state__in=action_states(Role.PORTEUR))
    if access.instructed_region:
        return instruction_desk(access) & Q(state__in=action_states(Role.ARS))
    if access.is_national:
        return instruction_desk(access) & Q(state__in=action_states(Role.NATIONAL))
    return None


def _assigned(user) -> Q | None:
    """The dossiers whose current assignment (the last one, instruction.services.current_assignment) names `user`;
    None while the instruction app is not installed."""
    if not django_apps.is_installed("esms_numerique.instruction"):
        return None
    assignments = django_apps.get_model("instruction", "Assignment").objects
    # The user's assignments that no later one replaced, as one set the database makes once (a hashed sub-plan),
    # rather than each dossier's last assignment looked up row by row (1 400 sorts for CNSA/DNS's counts).
    later = assignments.filter(dossier_id=OuterRef("dossier_id")).filter(
        Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), id__gt=OuterRef("id"))
    )
    current = assignments.filter(instructor_id=user.pk).exclude(Exists(later)).values("dossier_id")
    return Q(pk__in=current)


def tab_filters(user, access: Access) -> dict[str, Q]:
    todo = acting_filter(access)
    nothing = Q(pk__isnull=True)
    followed = Q(pk__in=Follow.objects.filter(user=user, following=True).values("dossier_id"))
    assigned = _assigned(user)
    if assigned is not None:
        followed |= assigned
    archived = Q(state__in=ENDED)
    done = Q(state__in=DONE) & ~todo if todo is not None else Q(state__in=DONE)
    return {
        "tous": Q(),
        "a_traiter": todo or nothing,
        "suivis": followed,
        "traites": done,
        "archives": archived,
    }


def desk_label(dossier: Dossier) -> str:
    """« National », « Régional — Bretagne »: the guichet in words, never its code."""
    if dossier.desk == "national":
        return "National"
    if dossier.pivot_region:
        return f"Régional — {geography().region_name(dossier.pivot_region)}"
    return "Régional" if dossier.desk else ""


def deadline_soon_days(today: dt.date) -> int:
    return default_tree().get("follow_up.deadline_soon_days").in_force(today).value


def deadline_filter_labels(today: dt.date) -> dict[str, str]:
    return {"depassee": "Échéance dépassée", "proche": f"Échéance dans les {deadline_soon_days(today)} jours"}


@dataclass
class ListQuery:
    """What the query string asks: read once, each value checked (an unknown one is ignored, never an error)."""

    q: str = ""
    state: str = ""
    due: str = ""
    tab: str = "tous"
    sort: str = DEFAULT_SORT
    page: str = "1"
    today: dt.date = field(default_factory=clock.today)

    @classmethod
    def of(cls, params) -> ListQuery:
        sort = params.get("tri", "")
        return cls(
            q=" ".join(str(params.get("q", "")).split())[:200],
            state=params.get("etat", "") if params.get("etat", "") in State.values else "",
            due=params.get("echeance", "") if params.get("echeance", "") in DEADLINE_FILTERS else "",
            tab=params.get("onglet", "") if params.get("onglet", "") in TABS else "tous",
            sort=sort if sort.lstrip("-") in SORTS else DEFAULT_SORT,
            page=str(params.get("page", "1")),
        )

    def params(self, **changes) -> dict[str, str]:
        values = {"q": self.q, "etat": self.state, "echeance": self.due, "onglet": self.tab, "tri": self.sort}
        values.update(changes)
        return {k: v for k, v in values.items() if v and not (k == "onglet" and v == "tous")}

    def url(self, **changes) -> str:
        return "?" + urlencode(self.params(**changes))

    def search(self) -> Q:
        """A FINESS (EJ of the porteur or a member OG, ET of an ESSMS) is looked up exactly, through the indexes;
        any other text in the stored search text, every word."""
        term = self.q.strip().upper()
        if FINESS.fullmatch(term):
            members = Dossier.members.through.objects.filter(dossier_id=OuterRef("pk"), legalentity__finess_ej=term)
            return (
                Q(porteur__finess_ej=term)
                | Q(Exists(FundedEssms.objects.filter(dossier_id=OuterRef("pk"), finess_et=term)))
                | Q(Exists(members))
            )
        found = Q()
        for word in searchable(self.q).split():
            found &= Q(search_text__contains=word)
        return found

    def filters(self) -> Q:
        found = self.search() if self.q else Q()
        if self.state:
            found &= Q(state=self.state)
        if self.due == "depassee":
            found &= Q(deadline_on__lt=self.today)
        elif self.due == "proche":
            found &= Q(
                deadline_on__gte=self.today, deadline_on__lte=self.today + dt.timedelta(deadline_soon_days(self.today))
            )
        return found

    def ordering(self) -> list[str]:
        fields = SORTS[self.sort.lstrip("-")]
        if self.sort.startswith("-"):
            return [f"-{fields[0]}", *fields[1:]]
        return list(fields)


def filtered(user, query: ListQuery) -> tuple[QuerySet[Dossier], dict[str, Q]]:
    """The dossiers the user sees that the search and filters keep (all tabs), and each tab's filter."""
    access = access_of(user)
    dossiers = visible_dossiers(user).select_related(None).filter(query.filters())
    dossiers = dossiers.annotate(amount=Coalesce("engaged_eur", "total_eur"))
    return dossiers, tab_filters(user, access)


def listed(user, query: ListQuery) -> QuerySet[Dossier]:
    """The tab's dossiers in the asked order, without the JSON fields."""
    dossiers, tabs = filtered(user, query)
    return (
        dossiers.filter(tabs[query.tab])
        .select_related("porteur")
        .defer("grappe", "result", "filed_result")
        .order_by(*query.ordering())
    )


def _unread(user, access: Access):
    """DECISION D-LIST-UNREAD: the messages of others written since the user last opened the dossier's page (all
    of them if never opened); the instructors' private annotations count only for who reads them
    (dossiers.access.sees_annotations: the pivot ARS, CNSA/DNS, administrators — not the other ARS of a multiregional
    dossier, not an OG)."""
    read = DossierRead.objects.filter(user=user, dossier=OuterRef(OuterRef("pk"))).values("at")[:1]
    messages = Message.objects.filter(dossier=OuterRef("pk")).exclude(author=user)
    messages = messages.filter(Q(at__gt=Subquery(read)) | ~Q(Exists(read)))
    if access.instructed_region:
        messages = messages.filter(Q(private=False) | Q(dossier__pivot_region=access.instructed_region))
    elif not access.reads_everything:
        messages = messages.filter(private=False)
    counted = messages.order_by().values("dossier").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


@dataclass(frozen=True, slots=True)
class Porteur:
    finess_ej: str
    name: str


@dataclass(frozen=True, slots=True)
class ListedDossier:
    """A row of the list: the columns it shows, read as values — 50 model instances and their porteurs' took 2 ms,
    a third of the list's time (issue 16)."""

    FIELDS = (
        "reference",
        "title",
        "state",
        "desk",
        "pivot_region",
        "essms_count",
        "amount",
        "updated_at",
        "deadline_on",
        "deadline_label",
        "unread",
        "porteur__finess_ej",
        "porteur__name",
    )

    reference: str
    title: str
    state: str
    desk: str
    pivot_region: str
    essms_count: int | None
    amount: int | None
    updated_at: dt.datetime
    deadline_on: dt.date | None
    deadline_label: str
    unread: int
    porteur: Porteur

    @classmethod
    def of(cls, values: dict) -> ListedDossier:
        porteur = Porteur(values.pop("porteur__finess_ej"), values.pop("porteur__name"))
        return cls(**values, porteur=porteur)

    @property
    def state_label(self) -> str:
        return State(self.state).label


class KnownCountPaginator(Paginator):
    """The tab's count is already known from the tabs' counts: no second COUNT query."""

    def __init__(self, object_list, per_page, known: int):
        super().__init__(object_list, per_page)
        self.known = known

    @cached_property
    def count(self) -> int:
        return self.known


def page_links(page, query: ListQuery) -> list[dict]:
    """The DSFR pagination's links: first, last, the current one and its neighbours, « … » between."""
    last = page.paginator.num_pages
    shown = sorted({1, last, page.number - 1, page.number, page.number + 1} & set(range(1, last + 1)))
    links, previous = [], 0
    for number in shown:
        if number - previous > 1:
            links.append({"ellipsis": True})
        links.append({"number": number, "url": query.url(page=str(number)), "current": number == page.number})
        previous = number
    return links


def sort_headers(query: ListQuery) -> list[dict]:
    labels = {
        "reference": "Référence",
        "porteur": "Porteur",
        "etat": "État",
        "montant": "Montant",
        "modifie": "Modifié le",
        "echeance": "Échéance",
    }
    current, descending = query.sort.lstrip("-"), query.sort.startswith("-")
    headers = []
    for key, label in labels.items():
        active = key == current
        aria = ("descending" if descending else "ascending") if active else "none"
        following = f"-{key}" if active and not descending else key
        headers.append({"key": key, "label": label, "aria_sort": aria, "url": query.url(tri=following)})
    return headers


@login_required
def dossier_list(request):
    query = ListQuery.of(request.GET)
    access = request.access
    dossiers, tabs = filtered(request.user, query)
    counts = dossiers.aggregate(**{code: Count("pk", filter=tab) for code, tab in tabs.items()})
    rows = (
        dossiers.filter(tabs[query.tab])
        .annotate(unread=_unread(request.user, access))
        .order_by(*query.ordering())
        .values(*ListedDossier.FIELDS)
    )
    paginator = KnownCountPaginator(rows, PER_PAGE, counts[query.tab])
    page = paginator.get_page(query.page)  # not a number: the first page; past the end: the last
    listed = [ListedDossier.of(values) for values in page.object_list]
    return render(
        request,
        "www/dossiers/list.html",
        {
            "page": page,
            "dossiers": listed,
            "rows": list_rows(listed, query.today),
            "count": counts[query.tab],
            "page_links": page_links(page, query),
            "tabs": [
                {
                    "code": code,
                    "label": label,
                    "count": counts[code],
                    "url": query.url(onglet=code, page=""),
                    "current": code == query.tab,
                }
                for code, label in TABS.items()
            ],
            "headers": sort_headers(query),
            "query": query,
            "states": State.choices,
            "deadline_filters": deadline_filter_labels(query.today).items(),
            "export_query": urlencode(query.params()),
            "can_create": access.may_create_dossier,
        },
    )


def list_rows(dossiers, today: dt.date) -> SafeString:
    """The table's rows, written here with the markup the template's loop had and escaped as it escaped (`html.escape`,
    what `django.utils.html.escape` calls): a template costs about 0.1 ms a row, a third of the list's time (issue 16,
    DECISION D-DOSSIER-PAGE-SCALE)."""
    detail = row_link("www:dossier_detail")
    out = []
    for d in dossiers:
        reference = escape(d.reference)
        unread = ""
        if d.unread:
            s = "s" if d.unread != 1 else ""
            unread = (
                f'<br><span class="fr-badge fr-badge--sm fr-badge--new" data-unread="{d.unread}">{d.unread} '
                f"message{s} non lu{s}</span>"
            )
        deadline = ""
        if d.deadline_on:
            late = d.deadline_on < today
            badge = ' <span class="fr-badge fr-badge--sm fr-badge--error">dépassée</span>' if late else ""
            deadline = (
                f"{d.deadline_on.strftime('%d/%m/%Y')}{badge}<br>"
                f'<span class="fr-text--xs">{escape(d.deadline_label)}</span>'
            )
        count = "" if d.essms_count is None else d.essms_count
        updated = timezone.localtime(d.updated_at).strftime("%d/%m/%Y %H:%M")
        out.append(
            f'<tr><td><a href="{escape(detail(d.reference))}">{reference}</a>{unread}</td>'
            f"<td>{escape(d.title)}</td><td>{escape(d.porteur.name or d.porteur.finess_ej)}</td>"
            f"<td>{escape(desk_label(d))}</td><td>{count}</td>"
            f'<td><span class="fr-badge fr-badge--sm">{escape(str(d.state_label))}</span></td>'
            f"<td>{escape(format_eur(d.amount))}</td><td>{updated}</td><td>{deadline}</td></tr>\n"
        )
    return mark_safe("".join(out))  # every value above is escaped


def _local(moment):
    """A spreadsheet has no time zones: the time in France, without its zone."""
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


EXPORT_COLUMNS = [
    Column("Référence", lambda d: d.reference, 18),
    Column("Intitulé", lambda d: d.title, 40),
    Column("Campagne", lambda d: d.campaign, 10),
    Column("Porteur (FINESS EJ)", lambda d: d.porteur.finess_ej, 14),
    Column("Porteur", lambda d: d.porteur.name, 36),
    Column("État", lambda d: d.state_label, 22),
    Column("Guichet", desk_label, 28),
    Column("ARS pivot", lambda d: geography().region_name(d.pivot_region) if d.pivot_region else "", 24),
    Column("ESSMS", lambda d: d.essms_count, 8),
    Column("Total calculé (€)", lambda d: d.total_eur, 14, "eur"),
    Column("Montant engagé (€)", lambda d: d.engaged_eur, 14, "eur"),
    Column("Avance versée (€)", lambda d: d.advance_paid_eur, 14, "eur"),
    Column("Solde versé (€)", lambda d: d.balance_paid_eur, 14, "eur"),
    Column("Déposé le", lambda d: _local(d.filed_at).date() if d.filed_at else None, 12, "date"),
    Column("Modifié le", lambda d: _local(d.updated_at), 17, "datetime"),
    Column("Référence d'engagement", lambda d: d.engagement_reference, 20),
    Column("Prochaine échéance", lambda d: d.deadline_on, 12, "date"),
    Column("Nature de l'échéance", lambda d: d.deadline_label, 30),
    Column("À reverser (€)", lambda d: d.recovery_due or None, 14, "eur"),
    Column("Reversé (€)", lambda d: d.recovery_received or None, 14, "eur"),
]


def export_rows(user, params) -> list[Dossier]:
    """The dossiers of the list with `params` (its query string), every page, in its order: what the export holds."""
    issued, received = Recovery.State.ISSUED, Recovery.State.RECEIVED
    recoveries = Recovery.objects.filter(dossier=OuterRef("pk")).order_by().values("dossier")

    def total(state):
        summed = recoveries.filter(state=state).annotate(s=Sum("amount_eur")).values("s")
        return Subquery(summed, output_field=IntegerField())

    return list(
        listed(user, ListQuery.of(params)).annotate(recovery_due=total(issued), recovery_received=total(received))
    )


@login_required
def dossier_export(request, fmt: str):
    dossiers = export_rows(request.user, request.GET)
    return table_response(fmt, "dossiers-esms-numerique", {"Dossiers": (EXPORT_COLUMNS, dossiers)})


def marks_read(view):
    """Wraps the dossier's page: once it is shown to a signed-in user, « lu le » moves to now for that user and
    dossier, in one statement (DECISION D-LIST-UNREAD). The page's own view stays as it is."""

    @wraps(view)
    def wrapper(request, reference: str, *args, **kwargs):
        response = view(request, reference, *args, **kwargs)
        if request.method == "GET" and response.status_code == 200 and request.user.is_authenticated:
            mark_read(request.user, reference)
        return response

    return wrapper


def mark_read(user, reference: str) -> None:
    """An upsert by reference: the dossier's row is not read again (the page's query count grows by one). Written
    only when a message came after the last reading (or on the first): a page read again writes nothing, and no
    transaction is committed for it (the unread count compares messages with « lu le » only)."""
    table, dossiers = DossierRead._meta.db_table, Dossier._meta.db_table
    messages = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, dossier_id, at) SELECT %s, d.id, %s FROM {dossiers} d "
            f"WHERE d.reference = %s AND NOT EXISTS (SELECT 1 FROM {table} r WHERE r.user_id = %s "
            f"AND r.dossier_id = d.id AND NOT EXISTS (SELECT 1 FROM {messages} m WHERE m.dossier_id = d.id "
            "AND m.at > r.at)) ON CONFLICT (user_id, dossier_id) DO UPDATE SET at = excluded.at",
            [user.pk, connection.ops.adapt_datetimefield_value(clock.now()), reference, user.pk],
        )
