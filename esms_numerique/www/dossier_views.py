"""Dossier pages: thin views over dossiers.services and dossiers.access."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, IntegerField
from django.db.models.expressions import RawSQL
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from esms_numerique import caching, clock
from esms_numerique.accounts.access import access_of
from esms_numerique.audit.models import DOSSIER as AUDITED_DOSSIER
from esms_numerique.audit.models import AuditEntry
from esms_numerique.dossiers import decision_documents, services
from esms_numerique.dossiers import documents as dossier_documents
from esms_numerique.dossiers.access import (
    acting_role,
    allowed_transitions,
    is_instructor_of,
    is_porteur_of,
    sees_annotations,
    visible_dossiers,
)
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import AmountVersion, Dossier, GrappeVersion, PaymentRequest, Piece
from esms_numerique.dossiers.pieces import SIGNATURES, all_piece_types, pieces_context
from esms_numerique.dossiers.workflow import EDITABLE, WORKFLOW
from esms_numerique.indicators.models import UsageMeasurement
from esms_numerique.indicators.services import (
    OPEN_STATES,
    MeasurementError,
    final_status,
    funded_essms,
    record_measurements,
)
from esms_numerique.indicators.trajectory import LABELS, targets_caption, trajectory
from esms_numerique.indicators.trajectory import targets as usage_targets
from esms_numerique.instruction.models import ExpertOpinion, HandOver
from esms_numerique.ledger.models import Recovery
from esms_numerique.notifications.models import Follow
from esms_numerique.registry.models import Establishment, LegalEntity
from esms_numerique.registry.queries import FINESS_SHAPE
from esms_numerique.registry.simulation import simulate_with_registry
from esms_numerique.rules.errors import InputError, decode_json
from esms_numerique.rules.explain import DESKS
from esms_numerique.rules.geography import geography

from . import dossier_rows
from .charts import svg_response, trajectory_svg
from .forms import (
    AmountRevisionForm,
    DossierForm,
    MessageForm,
    PieceForm,
    initial_from_grappe,
    transition_form,
)
from .views import pdf_response, render_preview

MEASUREMENT_MAX_BYTES = 2 * 1024 * 1024
# How many rows « Trajectoire par ESSMS » shows before « Afficher toutes les mesures » (DECISION D-DOSSIER-PAGE-SCALE).
MEASUREMENT_ROWS_SHOWN = 200


def per_dossier(model, select: str = "EXISTS", output_field=None) -> RawSQL:
    """`EXISTS`, `COUNT(*)` or `MAX(id)` of `model`'s rows of the dossier being read, as a column of the dossier's
    query. Written as SQL rather than `Exists(Model.objects.filter(dossier_id=OuterRef("pk")))`: Django took 0,3 ms to
    build and compile each of the page's seven such sub-queries, more than the database took to answer them all
    (issue 16). `model` has a `dossier` foreign key; the dossier's table is the query's own (visible_dossiers)."""
    table, column, dossiers = model._meta.db_table, model._meta.get_field("dossier").column, Dossier._meta.db_table
    where = f'FROM "{table}" WHERE "{table}"."{column}" = "{dossiers}"."id"'
    if select == "EXISTS":
        return RawSQL(f"EXISTS (SELECT 1 {where})", [], output_field=BooleanField())
    return RawSQL(f"(SELECT {select} {where})", [], output_field=output_field or IntegerField())


def visible_or_404(user, reference: str, **annotations) -> Dossier:
    """A dossier the user may not see does not exist for them. Whether its instruction was handed over to the
    national desk is read in the same query (dossiers.access.handed_over), and what the caller `annotations` asks."""
    dossiers = visible_dossiers(user).filter(reference=reference)
    dossier = dossiers.annotate(handed_over_flag=per_dossier(HandOver), **annotations).first()
    if dossier is None:
        raise Http404("Dossier introuvable")
    return dossier


def _porteur_payload(request, form: DossierForm) -> tuple[dict, list[str]]:
    payload, errors = form.simulation_input()
    payload["porteur"]["finess_ej"] = LegalEntity.objects.get(pk=request.access.og_id).finess_ej
    return payload, errors


@login_required
def dossier_create(request):
    if not request.access.may_create_dossier:
        raise PermissionDenied("Seul un porteur crée un dossier.")
    form = DossierForm(request.POST or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        payload, errors = _porteur_payload(request, form)
        if not errors:
            campaign = payload.pop("campaign")
            dossier = services.create_dossier(request.user, form.cleaned_data["title"], campaign, payload)
            messages.success(request, f"Dossier {dossier.reference} créé.")
            return redirect("www:dossier_detail", reference=dossier.reference)
    return render(request, "www/dossiers/form.html", {"form": form, "errors": errors, "dossier": None})


@require_POST
@login_required
def dossier_preview(request):
    """What the rules say of the grappe being typed, before it is saved (htmx)."""
    if not request.access.may_create_dossier:
        raise PermissionDenied("Seul un porteur construit une grappe.")
    form = DossierForm(request.POST)
    if not form.is_valid():
        return render_preview(request, None, [])
    payload, errors = _porteur_payload(request, form)
    if errors:
        return render_preview(request, None, errors)
    try:
        return render_preview(request, simulate_with_registry(payload), [])
    except InputError as error:
        return render_preview(request, None, error.messages)


@login_required
def dossier_edit(request, reference: str):
    dossier = visible_or_404(request.user, reference)
    if not is_porteur_of(request.user, dossier) or dossier.state not in EDITABLE:
        raise PermissionDenied("Vous ne pouvez pas modifier cette grappe.")
    initial = initial_from_grappe(dossier.title, dossier.grappe, dossier.version)
    form = DossierForm(request.POST or None, initial=initial)
    errors = []
    if request.method == "POST" and form.is_valid():
        payload, errors = _porteur_payload(request, form)
        if not errors:
            payload.pop("campaign")
            try:
                services.update_grappe(
                    request.user, dossier, form.cleaned_data["version"] or 0, form.cleaned_data["title"], payload
                )
            except services.DossierError as error:
                errors = [str(error)]
            else:
                messages.success(request, "Grappe enregistrée ; constats et montants recalculés.")
                return redirect("www:dossier_detail", reference=dossier.reference)
    return render(request, "www/dossiers/form.html", {"form": form, "errors": errors, "dossier": dossier})


def _shown_measurements(measurements: list, everything: bool) -> list:
    """What « Trajectoire par ESSMS » lists (DECISION D-DOSSIER-PAGE-SCALE): every measurement when asked
    (`?mesures=toutes`) or when they fit in MEASUREMENT_ROWS_SHOWN rows, else those of the latest dates that fit
    (whole dates, the last one always). The project's table above keeps every date."""
    if everything or len(measurements) <= MEASUREMENT_ROWS_SHOWN:
        return measurements
    per_date = Counter(m.measurement_date for m in measurements)
    kept, rows = set(), 0
    for on in sorted(per_date, reverse=True):
        if kept and rows + per_date[on] > MEASUREMENT_ROWS_SHOWN:
            break
        kept.add(on)
        rows += per_date[on]
    return [m for m in measurements if m.measurement_date in kept]


def _measurement_parts(dossier, everything: bool) -> dict:
    measurements = list(dossier.measurements.all())
    points = trajectory(dossier)
    shown = _shown_measurements(measurements, everything)
    return {
        "measurements_count": len(measurements),
        "measurement_rows": str(dossier_rows.measurement_rows(shown)),
        "measurements_shown": len(shown),
        "measurement_dates_shown": len({m.measurement_date for m in shown}),
        "measurement_status": final_status(dossier),
        "project_points": points,
        "targets_caption": targets_caption(usage_targets(dossier, points[-1].date)),
        "measured_essms": sorted({m.finess_et for m in measurements}),
    }


def _measurement_context(request, dossier) -> dict:
    """The trajectory part of the dossier page: the project's table, the chart's scope, the ESSMS' table. Built from
    the measurements (insert-only: their number and last id say whether any came), the funded ESSMS, the campaign and
    the day (parameters in force), and kept in the cache under those (DECISION D-DOSSIER-PAGE-SCALE)."""
    stamp = {"n": dossier.measurement_count, "last": dossier.measurement_last}
    if not stamp["n"]:
        return {"measurements_count": 0, "measurements_shown": 0, "measurement_status": None}
    funded = funded_essms(dossier)
    chart_essms = request.GET.get("essms", "")
    chart_essms = chart_essms if chart_essms in funded else ""
    everything = request.GET.get("mesures") == "toutes"
    day = clock.today().isoformat()
    parts = caching.cached(
        f"dossier-measurements:{dossier.pk}",
        [stamp, funded, dossier.campaign, day, everything, MEASUREMENT_ROWS_SHOWN],
        lambda: _measurement_parts(dossier, everything),
        dossier_rows.RESULT_CACHE_SECONDS,
    )
    return {
        **parts,
        "measurement_rows": mark_safe(parts["measurement_rows"]),  # built escaped by dossier_rows
        "rate_labels": list(LABELS.values()),
        "chart_essms": chart_essms,
        "measured_essms_options": dossier_rows.essms_options(parts["measured_essms"], chart_essms),
    }


def _summary_context(request, dossier: Dossier, result: dict) -> dict:
    """The « Résumé » of the dossier's page: its ESSMS with their names from the registry (one query; for the other
    ARS of a multiregional dossier, theirs highlighted), the DUI solution, the member OGs and the amounts."""
    essms = result.get("essms", [])
    names = dict(
        Establishment.objects.filter(finess_et__in=[e["finess_et"] for e in essms]).values_list("finess_et", "name")
    )
    own_region = request.access.read_region
    highlight = own_region if own_region and own_region != dossier.pivot_region else ""
    rows = [
        {**e, "name": names.get(e["finess_et"], ""), "highlighted": bool(highlight) and e.get("region") == highlight}
        for e in essms
    ]
    regions = sorted({e.get("region") for e in essms if e.get("region")})
    multiregional = len(regions) > 1
    return {
        "essms_rows": rows,
        "essms_rows_html": dossier_rows.essms_rows(rows, multiregional),
        "highlighted_count": sum(1 for r in rows if r["highlighted"]),
        "regions": [(code, geography().region_name(code)) for code in regions],
        "multiregional": multiregional,
        "solution": dossier.grappe.get("solution", {}),
        "operations": sorted({e.get("operation") for e in essms if e.get("operation")}),
        "members": list(dossier.members.only("name", "finess_ej")),
    }


def _actions(request, dossier: Dossier) -> tuple[list, list]:
    """The actions of the current state, each with its own inputs; the decisions against the porteur (`danger`)
    apart, as a button that leads to a confirmation step where their inputs are typed (one comment box;
    DECISION D-DOSSIER-PAGE)."""
    usual, danger = [], []
    for t in allowed_transitions(request.user, dossier):
        form = transition_form(t, initial={"transition": t.name, "version": dossier.version})
        (danger if t.danger else usual).append((t, form))
    return usual, danger


def page_stamp(user, reference: str) -> list | None:
    """What the dossier's page is made from, in one query through the door (None: a dossier the user may not see).
    The dossier's row and its last audited change (every service that changes a dossier, its messages, pieces,
    instruction, payments or measurements, audits it under its reference); the last audited change that is not a
    dossier's (registry, committees, roles, experts, accounts in the admin, the ledger's rebuild); the user's own
    choice to follow it (not audited); the accounts that could be named in its forms, created outside the admin too
    (DECISION D-DOSSIER-PAGE-CACHE)."""
    audit, dossiers = AuditEntry._meta.db_table, Dossier._meta.db_table
    follows, users = Follow._meta.db_table, User._meta.db_table
    last = f"SELECT digest FROM {audit} WHERE"
    others, others_params = caching.last_change_sql(other_than=AUDITED_DOSSIER)
    found = (
        visible_dossiers(user)
        .select_related(None)
        .filter(reference=reference)
        .annotate(
            dossier_change=RawSQL(
                f'({last} object_type = %s AND object_id = "{dossiers}"."reference" ORDER BY id DESC LIMIT 1)',
                [AUDITED_DOSSIER],
            ),
            other_change=RawSQL(f"({others})", others_params),
            following=RawSQL(
                f'(SELECT following FROM {follows} WHERE user_id = %s AND dossier_id = "{dossiers}"."id")', [user.pk]
            ),
            last_account=RawSQL(f"(SELECT MAX(id) FROM {users})", []),
            active_accounts=RawSQL(f"(SELECT COUNT(*) FROM {users} WHERE is_active)", []),
        )
    )
    columns = ("pk", "version", "updated_at", "dossier_change", "other_change", "following", "last_account")
    found = found.values_list(*columns, "active_accounts")
    row = next(iter(found[:1]), None)
    return None if row is None else list(row)


@login_required
def dossier_detail(request, reference: str):
    """The dossier's page: its content made once for this reader, this state of what it reads and this day, then
    kept (DECISION D-DOSSIER-PAGE-CACHE); each request puts its own CSRF token in the forms."""
    stamp = page_stamp(request.user, reference)
    if stamp is None:
        raise Http404("Dossier introuvable")
    access = repr(access_of(request.user))  # the scope's fields (request.access is a lazy object)
    # The query string's two parameters the page reads (_measurement_context), not the others: an unknown parameter,
    # or an ESSMS that is no FINESS, is not a new page to make and keep.
    essms = request.GET.get("essms", "")
    shown = [essms if FINESS_SHAPE.fullmatch(essms) else "", request.GET.get("mesures") == "toutes"]
    seen = [reference, stamp, access, request.user.pk, clock.today(), shown]
    content = caching.cached(
        "dossier-page", seen, lambda: _detail_content(request, reference), cache=caching.dossier_pages()
    )
    return render(
        request, "www/dossiers/detail.html", {"reference": reference, "content": caching.with_csrf(request, content)}
    )


def _detail_content(request, reference: str) -> str:
    from .after_decision_views import after_decision_context
    from .instruction_views import instruction_context
    from .notification_views import follow_state

    dossier = visible_or_404(
        request.user,
        reference,
        # The stamp of the measurements (_measurement_context), in the dossier's query.
        measurement_count=per_dossier(UsageMeasurement, "COUNT(*)"),
        measurement_last=per_dossier(UsageMeasurement, "MAX(id)"),
        # Whether the lists after the decision and the experts' opinions have rows: an empty one is not asked for.
        has_amounts=per_dossier(AmountVersion),
        has_payments=per_dossier(PaymentRequest),
        has_recoveries=per_dossier(Recovery),
        has_grappe_versions=per_dossier(GrappeVersion),
        has_opinions=per_dossier(ExpertOpinion),
    )
    annotations = sees_annotations(request.user, dossier, seen=True)  # visible_or_404 read it through the door
    thread = list(dossier.messages.select_related("author"))
    if not annotations:
        thread = [m for m in thread if not m.private]
    result = dossier.filed_result or dossier.result
    actions, danger_actions = _actions(request, dossier)
    instruction = instruction_context(request, dossier)
    pieces = pieces_context(dossier, request.user)
    public = [m for m in thread if not m.private]
    result_title = "Résultat figé au dépôt" if dossier.filed_result else "Résultat de la grappe"
    desk_label = DESKS.get(result.get("desk"))
    can_revise = is_instructor_of(request.user, dossier) and dossier.state in services.DECIDED_OPEN
    return render_to_string(
        "www/dossiers/_detail_content.html",
        {
            "csrf_token": caching.CSRF_MARKER,
            "dossier": dossier,
            "transitions": actions,
            "danger_transitions": danger_actions,
            "can_edit": is_porteur_of(request.user, dossier) and dossier.state in EDITABLE,
            "can_write": acting_role(request.user, dossier) is not None,
            "sees_annotations": annotations,
            "thread": public,
            "annotations": [m for m in thread if m.private],
            "exchanges_count": len(public) + len(instruction["opinions"]),
            "message_form": MessageForm(),
            "log": [
                (t, _transition_label(t.transition), _state_label(t.from_state), _state_label(t.to_state))
                for t in dossier.transitions.select_related("actor")
            ],
            "pieces_missing": sum(1 for item in pieces["pieces_checklist"] if not item.ticked),
            "amounts": dossier.amount_versions.select_related("actor") if dossier.has_amounts else (),
            "deadline": services.deadline(dossier),
            **pieces,
            "pieces_checklist_rows": [
                (item, dossier_rows.sources_html(str(item.source or ""))) for item in pieces["pieces_checklist"]
            ],
            "piece_limits": piece_limits(),
            **_measurement_context(request, dossier),
            **after_decision_context(request.user, dossier),
            **instruction,
            **_summary_context(request, dossier, result),
            "follows": follow_state(request.user, dossier),
            "can_measure": is_porteur_of(request.user, dossier) and dossier.state in OPEN_STATES,
            "can_revise": can_revise,
            "revision_bounds": services.revision_bounds(dossier),
            "revision_form": dossier_rows.form_html(
                AmountRevisionForm(initial={"version": dossier.version, "amount_eur": dossier.engaged_eur})
            )
            if can_revise
            else None,
            "result": result,
            "result_detail": dossier_rows.result_detail(result, result_title, desk_label)
            if result and not result.get("errors")
            else "",
            "result_title": result_title,
            "desk_label": desk_label,
        },
        request,
    )


def _state_label(state: str) -> str:
    return State(state).label if state in State.values else state


def _transition_label(name: str) -> str:
    """The history says what was done (« Déclarer recevable »), not only the states it went through."""
    transition = WORKFLOW.get(name)
    return transition.label if transition else name


def piece_limits() -> dict:
    """What the upload form says before the upload: the size limit (setting PIECE_MAX_BYTES) and the types the
    pieces' check accepts (dossiers.pieces.SIGNATURES)."""
    return {
        "max_mb": settings.PIECE_MAX_BYTES // (1024 * 1024),
        "types": ", ".join(ext[1:].upper() for ext in sorted(SIGNATURES)),
        "accept": ",".join(sorted(SIGNATURES)),
    }


@require_POST
@login_required
def dossier_transition(request, reference: str):
    """Takes an action of the dossier's page. A decision against the porteur (`danger`) is first shown on a
    confirmation step, which works without JavaScript; it is taken once confirmed (`confirmer=oui`)."""
    dossier = visible_or_404(request.user, reference)
    transition = WORKFLOW.get(request.POST.get("transition", ""))
    if transition is not None and transition.danger and request.POST.get("confirmer") != "oui":
        if transition not in allowed_transitions(request.user, dossier):
            raise PermissionDenied("Vous ne pouvez pas prendre cette décision sur ce dossier.")
        form = transition_form(transition, initial={"transition": transition.name, "version": dossier.version})
        return render(
            request, "www/dossiers/confirm.html", {"dossier": dossier, "transition": transition, "form": form}
        )
    form = transition_form(transition, request.POST) if transition else None
    if form is None or not form.is_valid():
        problems = "" if form is None else " ; ".join(f"{e}" for errors in form.errors.values() for e in errors)
        messages.error(request, f"Action refusée : formulaire incomplet. {problems}".strip())
        return redirect("www:dossier_detail", reference=reference)
    data = {k: v for k, v in form.cleaned_data.items() if k not in ("transition", "version")}
    try:
        services.apply_transition(
            request.user, dossier, transition.name, form.cleaned_data["version"], data.pop("comment", "") or "", data
        )
    except services.DossierError as error:
        messages.error(request, f"Action refusée : {error}")
    else:
        dossier.refresh_from_db()
        messages.success(request, f"« {transition.label} » : fait. Dossier désormais « {dossier.state_label} ».")
    return redirect("www:dossier_detail", reference=reference)


@require_POST
@login_required
def dossier_message(request, reference: str):
    dossier = visible_or_404(request.user, reference)
    form = MessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Message non envoyé : écrivez un message.")
        return redirect("www:dossier_detail", reference=reference)
    private = form.cleaned_data["private"]
    try:
        services.post_message(request.user, dossier, form.cleaned_data["body"], private)
    except services.DossierError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Annotation privée enregistrée." if private else "Message envoyé.")
    return redirect("www:dossier_detail", reference=reference)


@require_POST
@login_required
def dossier_piece_upload(request, reference: str):
    dossier = visible_or_404(request.user, reference)
    # Every type of the campaign is a valid choice: whether the dossier's state allows it, add_piece says in French.
    form = PieceForm(request.POST, request.FILES, piece_types=all_piece_types(dossier.campaign))
    if not form.is_valid():
        messages.error(request, "Pièce refusée : choisissez un type et un fichier.")
    else:
        try:
            piece = services.add_piece(request.user, dossier, form.cleaned_data["code"], form.cleaned_data["file"])
        except services.DossierError as error:
            messages.error(request, f"Pièce refusée : {error}")
        else:
            messages.success(request, f"Pièce « {piece.original_name} » jointe.")
    return redirect("www:dossier_detail", reference=reference)


@login_required
def dossier_piece_download(request, reference: str, piece_id: int):
    dossier = visible_or_404(request.user, reference)
    # Any version, previous or removed, stays readable by whoever sees the dossier (D-PIECE-VERSIONS).
    piece = Piece.versions.filter(dossier=dossier, pk=piece_id).first()
    if piece is None:
        raise Http404("Pièce introuvable")
    return FileResponse(piece.file.open("rb"), as_attachment=True, filename=piece.original_name)


@login_required
def dossier_notification(request, reference: str):
    """The notification letter of the decision, as PDF: retained (with the amounts engaged), not retained, not
    admissible, classé sans suite or désistement, with the reason given."""
    dossier = visible_or_404(request.user, reference)
    try:
        letter = decision_documents.notification_letter(dossier)
    except decision_documents.NoDocument:
        raise Http404("Aucune décision à notifier") from None
    return pdf_response(letter, f"{dossier.reference}-notification.pdf")


@require_POST
@login_required
def dossier_revise_amount(request, reference: str):
    dossier = visible_or_404(request.user, reference)
    form = AmountRevisionForm(request.POST)
    if not form.is_valid():
        problems = " ; ".join(f"{e}" for errors in form.errors.values() for e in errors)
        messages.error(request, f"Révision refusée : montant (en euros, entier) et motif sont obligatoires. {problems}")
    else:
        try:
            services.revise_amount(
                request.user,
                dossier,
                form.cleaned_data["version"],
                form.cleaned_data["amount_eur"],
                form.cleaned_data["reason"],
            )
        except services.DossierError as error:
            messages.error(request, f"Révision refusée : {error}")
        else:
            messages.success(request, "Nouvelle version du montant engagé enregistrée.")
    return redirect("www:dossier_detail", reference=reference)


@login_required
def dossier_document(request, reference: str, document: str):
    """AAP24 Annexe 1 (SAAD hours declaration) and Annexe 2 (pieces list) of the dossier, as PDF."""
    dossier = visible_or_404(request.user, reference)
    builders = {"annexe-1": dossier_documents.saad_declaration, "annexe-2": dossier_documents.pieces_list}
    if document not in builders:
        raise Http404("Document inconnu")
    return pdf_response(builders[document](dossier), f"{dossier.reference}-{document}.pdf")


@login_required
def dossier_trajectory_svg(request, reference: str):
    """The trajectory chart of the dossier (or of one of its funded ESSMS, `?essms=`), as an SVG image."""
    dossier = visible_or_404(request.user, reference)
    finess = request.GET.get("essms") or None
    if finess is not None and finess not in funded_essms(dossier):
        raise Http404("ESSMS hors du dossier")
    points = trajectory(dossier, finess)
    title = f"ESSMS {finess}" if finess else f"Projet {dossier.reference}"
    return svg_response(trajectory_svg(points, usage_targets(dossier, points[-1].date if points else None), title))


@require_POST
@login_required
def dossier_measurements(request, reference: str):
    """The porteur uploads the JSON result of `esms indicateurs calculer` for its dossier's ESSMS."""
    dossier = visible_or_404(request.user, reference)
    upload = request.FILES.get("result")
    if upload is None or upload.size > MEASUREMENT_MAX_BYTES:
        messages.error(request, "Mesures refusées : joignez le fichier JSON du calcul (2 Mo au plus).")
        return redirect("www:dossier_detail", reference=reference)
    try:
        data = decode_json(upload.read())
        recorded = record_measurements(request.user, dossier, data)
    except (InputError, MeasurementError) as error:
        messages.error(request, f"Mesures refusées, rien n'est enregistré : {error}")
    else:
        messages.success(request, recorded.message())
    return redirect("www:dossier_detail", reference=reference)


@login_required
def dossier_convention(request, reference: str):
    """The convention to sign, as PDF, generated from the amount engaged (404 before a retained decision)."""
    dossier = visible_or_404(request.user, reference)
    try:
        document = decision_documents.convention(dossier)
    except decision_documents.NoDocument:
        raise Http404("Aucun montant engagé") from None
    return pdf_response(document, f"{dossier.reference}-convention.pdf")
