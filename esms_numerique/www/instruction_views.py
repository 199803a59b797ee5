"""Who instructs a dossier and who is asked about it, on the dossier's page: assignment (« s'attribuer », to a
colleague of the same ARS), hand-over to the national desk (AAP24 §7 nota), « demander un avis » and the expert's
answer. Thin views over instruction.services; access through the one door (dossiers.access)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from dsfr.forms import DsfrBaseForm

from esms_numerique.dossiers.access import is_instructor_of
from esms_numerique.instruction import services
from esms_numerique.instruction.models import ExpertOpinion, HandOver

from .dossier_views import visible_or_404

User = get_user_model()


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


class AssignForm(DsfrBaseForm):
    instructor = forms.TypedChoiceField(label="Attribuer à", coerce=int, choices=())

    def __init__(self, *args, colleagues=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instructor"].choices = [(u.pk, _person(u)) for u in colleagues]


class HandOverForm(DsfrBaseForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Motif de la demande au national",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Par exemple : projet impliquant de nombreuses régions.",
    )


class OpinionForm(DsfrBaseForm):
    expert = forms.TypedChoiceField(label="Expert sollicité", coerce=int, choices=())
    question = forms.CharField(label="Question posée", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, experts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expert"].choices = [("", "Choisir un expert"), *((e.user_id, str(e)) for e in experts)]


class AnswerForm(DsfrBaseForm):
    answer = forms.CharField(label="Votre avis", widget=forms.Textarea(attrs={"rows": 4}))


def instruction_context(request, dossier) -> dict:
    """The instruction part of the dossier's page: current assignment and its history, the forms an instructor
    may use (assign, hand over, ask an opinion) and the opinions the user may read."""
    user = request.user
    instructor = is_instructor_of(user, dossier)
    readers = instructor or request.access.read_region or request.access.reads_everything
    history = list(dossier.assignments.select_related("group", "instructor", "assigned_by")) if readers else []
    colleagues = list(services.colleagues(user, dossier)) if instructor else []
    experts = list(services.experts_for(dossier)) if instructor else []
    hand_over = None
    if dossier.handed_over_flag:
        hand_over = HandOver.objects.select_related("by").filter(dossier=dossier).first()
    # The dossier's page reads whether it has opinions with the dossier (has_opinions): none, none asked for.
    opinions = services.opinions_for(user, dossier) if getattr(dossier, "has_opinions", True) else []
    return {
        "assignment": history[-1] if history else None,
        "assignment_history": history,
        "assign_form": AssignForm(colleagues=colleagues) if colleagues else None,
        "assigned_to_me": bool(history) and history[-1].instructor_id == user.pk,
        "hand_over": hand_over,
        "hand_over_form": (
            HandOverForm(initial={"version": dossier.version}) if services.may_hand_over(user, dossier) else None
        ),
        "opinions": [(o, AnswerForm() if o.expert_id == user.pk and not o.answered else None) for o in opinions],
        "opinion_form": OpinionForm(experts=experts) if experts else None,
    }


def _integer(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _back(reference: str, anchor: str = ""):
    response = redirect("www:dossier_detail", reference=reference)
    response["Location"] += anchor
    return response


@require_POST
@login_required
def dossier_assign(request, reference: str):
    """« S'attribuer » (`instructor=moi`) or give the dossier to a colleague of the same ARS."""
    dossier = visible_or_404(request.user, reference)
    if not is_instructor_of(request.user, dossier):
        raise PermissionDenied("Seuls les instructeurs du dossier l'attribuent.")
    if request.POST.get("instructor") == "moi":
        target = request.user
    else:
        # Any user may be named here: whether they instruct for the same ARS, services.assign says in French.
        target = User.objects.filter(pk=_integer(request.POST.get("instructor"))).first()
        if target is None:
            messages.error(request, "Attribution refusée : choisissez un instructeur.")
            return _back(reference, "#instruction")
    try:
        services.assign(request.user, dossier, target)
    except services.InstructionError as error:
        messages.error(request, f"Attribution refusée : {error}")
    else:
        who = "vous" if target.pk == request.user.pk else _person(target)
        messages.success(request, f"Dossier attribué à {who}.")
    return _back(reference, "#instruction")


@require_POST
@login_required
def dossier_hand_over(request, reference: str):
    """The pivot ARS hands a multiregional dossier's instruction over to CNSA/DNS, with a reason."""
    dossier = visible_or_404(request.user, reference)
    form = HandOverForm(request.POST)
    if not form.is_valid():
        if not services.may_hand_over(request.user, dossier):
            raise PermissionDenied("Seule l'ARS pivot d'un projet multirégional confie son instruction au national.")
        messages.error(request, "Demande refusée : indiquez le motif de la demande au national.")
        return _back(reference, "#instruction")
    try:
        services.hand_over(request.user, dossier, form.cleaned_data["version"], form.cleaned_data["reason"])
    except services.InstructionError as error:
        messages.error(request, f"Demande refusée : {error}")
    else:
        messages.success(
            request,
            "Instruction confiée au national (CNSA/DNS) : le guichet de dépôt ne change pas pour le porteur ; "
            "votre ARS garde la lecture du dossier.",
        )
    return _back(reference)


@require_POST
@login_required
def dossier_ask_opinion(request, reference: str):
    """« Demander un avis » to a named expert, who is told by e-mail and answers on the dossier's page."""
    dossier = visible_or_404(request.user, reference)
    if not is_instructor_of(request.user, dossier):
        raise PermissionDenied("Seuls les instructeurs du dossier demandent un avis.")
    form = OpinionForm(request.POST, experts=services.experts_for(dossier))
    if not form.is_valid():
        messages.error(request, "Demande d'avis refusée : choisissez un expert et posez votre question.")
        return _back(reference, "#echanges")
    expert = User.objects.get(pk=form.cleaned_data["expert"])
    try:
        opinion = services.ask_opinion(request.user, dossier, expert, form.cleaned_data["question"])
    except services.InstructionError as error:
        messages.error(request, f"Demande d'avis refusée : {error}")
    else:
        messages.success(request, f"Avis demandé à {_person(opinion.expert)} ; il ou elle est prévenu(e) par courriel.")
    return _back(reference, "#echanges")


@require_POST
@login_required
def dossier_answer_opinion(request, reference: str, pk: int):
    """The expert asked answers, once, in the dossier's thread."""
    dossier = visible_or_404(request.user, reference)
    opinion = ExpertOpinion.objects.filter(dossier=dossier, pk=pk).select_related("dossier", "asked_by").first()
    if opinion is None:
        raise Http404("Avis introuvable")
    if opinion.expert_id != request.user.pk:
        raise PermissionDenied("Seul l'expert sollicité rend cet avis.")
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Avis non enregistré : écrivez votre avis.")
        return _back(reference, "#echanges")
    try:
        services.answer_opinion(request.user, opinion, form.cleaned_data["answer"])
    except services.InstructionError as error:
        messages.error(request, f"Avis non enregistré : {error}")
    else:
        messages.success(request, "Avis rendu ; l'instructeur qui l'a demandé est prévenu.")
    return _back(reference, "#echanges")
