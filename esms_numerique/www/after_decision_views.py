"""After the decision, on the dossier's page: payment requests (approve, pay, refuse), orders to pay back, an ESSMS
withdrawn from the grappe, a transfer to another OG, an extended deadline. Thin views over dossiers.payments and
dossiers.changes."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from dsfr.forms import DsfrBaseForm

from esms_numerique.dossiers import changes, payments
from esms_numerique.dossiers.access import is_instructor_of
from esms_numerique.dossiers.workflow import DossierError
from esms_numerique.ledger.models import Recovery
from esms_numerique.rules.money import format_eur

from .dossier_rows import QuickSelect, form_html
from .dossier_views import visible_or_404
from .forms import transition_form


class WithdrawForm(DsfrBaseForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    finess_et = forms.ChoiceField(label="ESSMS qui quitte la grappe", choices=[], widget=QuickSelect)
    replaced_by = forms.CharField(label="Remplacé par (FINESS ET du même OG, facultatif)", max_length=9, required=False)
    reason = forms.CharField(label="Motif (décision de l'ARS)", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, essms=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["finess_et"].choices = [(f, f) for f in essms]


class JoinForm(DsfrBaseForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    finess_et = forms.CharField(label="FINESS ET de l'ESSMS isolé qui rejoint la grappe", max_length=9)
    agreement = forms.BooleanField(label="Le porteur a donné son accord", required=False)
    timetable = forms.CharField(label="Calendrier de déploiement de l'ESSMS", widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(label="Motif (décision de l'ARS)", widget=forms.Textarea(attrs={"rows": 2}))


class TransferForm(DsfrBaseForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    finess_ej = forms.CharField(label="FINESS EJ du nouvel OG porteur", max_length=9)
    reason = forms.CharField(label="Motif (fusion, reprise…)", widget=forms.Textarea(attrs={"rows": 2}))


class ExtendForm(DsfrBaseForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    until = forms.DateField(label="Nouvelle fin de déploiement", widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label="Motif de la prolongation", widget=forms.Textarea(attrs={"rows": 2}))


class RecoveryForm(DsfrBaseForm):
    received_on = forms.DateField(
        label="Reversement reçu le", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reference = forms.CharField(label="Référence de l'encaissement", max_length=64)


def after_decision_context(user, dossier) -> dict:
    """What the dossier page shows after the decision, and the forms the instructors may use."""
    instructor = is_instructor_of(user, dossier)
    grappe_essms = [e.get("finess_et") for e in dossier.grappe.get("essms", []) if e.get("finess_et")]
    # The dossier's page says which lists are empty (has_…, read with the dossier); other callers ask.
    payment_requests = dossier.payment_requests.all() if getattr(dossier, "has_payments", True) else ()
    recoveries = dossier.recoveries.all() if getattr(dossier, "has_recoveries", True) else ()
    has_versions = getattr(dossier, "has_grappe_versions", True)
    grappe_versions = dossier.grappe_versions.select_related("actor") if has_versions else ()
    requests = []
    for request in payment_requests:
        actions = [
            (t, transition_form(t, initial={"transition": t.name, "version": request.version}))
            for t in payments.PAYMENT.from_state(request.state)
        ]
        requests.append((request, actions if instructor else []))
    return {
        "payment_requests": requests,
        "recoveries": [(r, RecoveryForm(prefix=f"r{r.pk}") if instructor else None) for r in recoveries],
        "grappe_versions": grappe_versions,
        "next_deadline": changes.next_deadline(dossier),
        # Each form's markup, rendered once for its version and choices (DECISION D-DOSSIER-PAGE-SCALE).
        "withdraw_form": form_html(WithdrawForm(initial={"version": dossier.version}, essms=grappe_essms))
        if instructor and dossier.state in changes.CHANGEABLE and len(grappe_essms) > 1
        else None,
        "transfer_form": form_html(TransferForm(initial={"version": dossier.version})) if instructor else None,
        "join_form": form_html(JoinForm(initial={"version": dossier.version}))
        if instructor and dossier.state in changes.CHANGEABLE
        else None,
        "extend_form": form_html(ExtendForm(initial={"version": dossier.version}))
        if instructor and dossier.convention_signed_on
        else None,
    }


def _errors(form) -> str:
    return " ; ".join(str(e) for errors in form.errors.values() for e in errors)


def _apply(request, reference: str, action, success: str):
    try:
        action()
    except DossierError as error:
        messages.error(request, f"Refusé : {error}")
    else:
        messages.success(request, success)
    return redirect("www:dossier_detail", reference=reference)


@require_POST
@login_required
def payment_action(request, reference: str, pk: int):
    dossier = visible_or_404(request.user, reference)
    payment = dossier.payment_requests.filter(pk=pk).first()
    transition = payments.PAYMENT.get(request.POST.get("transition", ""))
    if payment is None or transition is None:
        raise Http404("Demande de paiement introuvable")
    if transition.danger and request.POST.get("confirmer") != "oui":
        # A refusal is confirmed first, with its reason, like the dossier's decisions (DECISION D-DOSSIER-PAGE).
        if not is_instructor_of(request.user, dossier) or payment.state not in transition.sources:
            raise PermissionDenied("Seuls les instructeurs du dossier refusent une demande de paiement ouverte.")
        return render(
            request,
            "www/dossiers/confirm.html",
            {
                "dossier": dossier,
                "transition": transition,
                "form": transition_form(
                    transition, initial={"transition": transition.name, "version": payment.version}
                ),
                "action_url": reverse("www:dossier_payment_action", args=[reference, payment.pk]),
                "subject": f"la demande de paiement ({payment.get_kind_display()}, {format_eur(payment.amount_eur)})",
            },
        )
    form = transition_form(transition, request.POST)
    if not form.is_valid():
        messages.error(request, f"Refusé : {_errors(form)}")
        return redirect("www:dossier_detail", reference=reference)
    data = {k: v for k, v in form.cleaned_data.items() if k not in ("transition", "version")}
    return _apply(
        request,
        reference,
        lambda: payments.apply_payment_transition(
            request.user, payment, transition.name, form.cleaned_data["version"], data
        ),
        f"Demande de paiement : « {transition.label} » enregistré.",
    )


@require_POST
@login_required
def recovery_received(request, reference: str, pk: int):
    dossier = visible_or_404(request.user, reference)
    recovery = Recovery.objects.filter(pk=pk, dossier=dossier).first()
    if recovery is None:
        raise Http404("Ordre de reversement introuvable")
    form = RecoveryForm(request.POST, prefix=f"r{pk}")
    if not form.is_valid():
        messages.error(request, f"Refusé : {_errors(form)}")
        return redirect("www:dossier_detail", reference=reference)
    return _apply(
        request,
        reference,
        lambda: payments.record_recovery_received(
            request.user, recovery, form.cleaned_data["received_on"], form.cleaned_data["reference"]
        ),
        "Reversement enregistré.",
    )


def _change(request, reference: str, form, action, success):
    """A change after the decision from its form: refused in French when the form is not valid, otherwise
    `action(data)` through `_apply` with the message `success(data)`."""
    if not form.is_valid():
        messages.error(request, f"Refusé : {_errors(form)}")
        return redirect("www:dossier_detail", reference=reference)
    data = form.cleaned_data
    return _apply(request, reference, lambda: action(data), success(data))


@require_POST
@login_required
def withdraw_essms(request, reference: str):
    dossier = visible_or_404(request.user, reference)
    form = WithdrawForm(request.POST, essms=[e.get("finess_et") for e in dossier.grappe.get("essms", [])])

    def action(data):
        if data["replaced_by"]:
            return changes.replace_essms(
                request.user, dossier, data["version"], data["finess_et"], data["replaced_by"], data["reason"]
            )
        return changes.withdraw_essms(request.user, dossier, data["version"], data["finess_et"], data["reason"])

    def success(data):
        if data["replaced_by"]:
            return f"ESSMS {data['finess_et']} remplacé par {data['replaced_by']} : montants recalculés."
        return f"ESSMS {data['finess_et']} retiré : montants recalculés (nouvelle version de la grappe)."

    return _change(request, reference, form, action, success)


@require_POST
@login_required
def transfer_dossier(request, reference: str):
    dossier = visible_or_404(request.user, reference)
    return _change(
        request,
        reference,
        TransferForm(request.POST),
        lambda data: changes.transfer(request.user, dossier, data["version"], data["finess_ej"], data["reason"]),
        lambda data: f"Dossier transféré à l'OG {data['finess_ej']}.",
    )


@require_POST
@login_required
def extend_deadline(request, reference: str):
    dossier = visible_or_404(request.user, reference)
    return _change(
        request,
        reference,
        ExtendForm(request.POST),
        lambda data: changes.extend_deadline(request.user, dossier, data["version"], data["until"], data["reason"]),
        lambda data: f"Fin de déploiement prolongée au {data['until']:%d/%m/%Y}.",
    )


@require_POST
@login_required
def join_essms(request, reference: str):
    dossier = visible_or_404(request.user, reference)
    return _change(
        request,
        reference,
        JoinForm(request.POST),
        lambda data: changes.join_essms(
            request.user,
            dossier,
            data["version"],
            data["finess_et"],
            data["agreement"],
            data["timetable"],
            data["reason"],
        ),
        lambda data: f"L'ESSMS {data['finess_et']} rejoint la grappe : montants recalculés (E-JOIN).",
    )
