"""The web simulator's form: a grappe typed or pasted as one line per ESSMS."""

from __future__ import annotations

from typing import Any

from django import forms
from dsfr.forms import DsfrBaseForm

from esms_numerique.registry.models import LegalEntity
from esms_numerique.rules.checklist import REFERENCING, SITUATIONS
from esms_numerique.rules.context import available_campaigns
from esms_numerique.rules.finess import KeyStatus, check_key, normalize
from esms_numerique.sons.models import OrderItem
from esms_numerique.sons.services import ItemRequest
from esms_numerique.workflow.engine import MAX_AMOUNT_EUR, Input, Transition

OPERATIONS = {
    "acquisition": "acquisition",
    "acq": "acquisition",
    "upgrade": "upgrade",
    "montée de version": "upgrade",
    "montee de version": "upgrade",
    "mdv": "upgrade",
}
ESSMS_HELP = (
    "Une ligne par ESSMS : FINESS ET ; secteur (PA, PH, DOM, PDS, PDE, AHI, PJM) ; opération (acquisition ou "
    "montée de version) ; et, si vous les connaissez : département ; nombre d'ESSMS de l'OG ; heures SAAD "
    "médico-sociales ; heures SAAD totales. Séparateur « ; » ou tabulation (copier-coller d'un tableur). "
    "Un FINESS connu du répertoire peut être donné seul : le secteur, le département et l'OG en sont repris."
)


def parse_essms_lines(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Lines of the textarea → ESSMS objects of the simulator's input, and French errors by line."""
    essms, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        cells = [c.strip() for c in raw.replace("\t", ";").split(";")]
        cells += [""] * (7 - len(cells))
        finess, sector, operation, department, og_count, hours_ms, hours_total = cells[:7]
        entry: dict[str, Any] = {"finess_et": finess, "_line": number}
        if sector:
            entry["sector"] = sector.upper()
        if operation:
            op = OPERATIONS.get(operation.lower())
            if op is None:
                errors.append(f"ligne {number} : opération « {operation} » inconnue (acquisition ou montée de version)")
                continue
            entry["operation"] = op
        if department:
            entry["department"] = department
        try:
            if og_count:
                entry["og_essms_count"] = int(og_count)
            if hours_ms or hours_total:
                entry["saad_hours"] = {
                    "medico_social": float(hours_ms.replace(",", ".")),
                    "total": float(hours_total.replace(",", ".")),
                }
        except ValueError:
            errors.append(f"ligne {number} : nombre d'ESSMS de l'OG ou heures SAAD illisibles")
            continue
        essms.append(entry)
    if not essms and not errors:
        errors.append("indiquez au moins un ESSMS")
    return essms, errors


class SimulationForm(DsfrBaseForm):
    campaign = forms.ChoiceField(label="Campagne", choices=[])
    filed_on = forms.DateField(label="Date de dépôt", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    porteur_finess_ej = forms.CharField(label="FINESS EJ du porteur", required=False, max_length=9)
    vat_regime = forms.ChoiceField(
        label="Régime de TVA du porteur",
        required=False,
        choices=[("", "Non indiqué"), ("HT", "HT (récupère la TVA)"), ("TTC", "TTC")],
    )
    is_ght = forms.BooleanField(label="Le porteur est un GHT", required=False)
    segur_referenced = forms.BooleanField(label="Solution DUI référencée Ségur (vague 1)", required=False)
    sad_referenced = forms.BooleanField(label="Solution référencée au SAD (RESAH)", required=False)
    referencing = forms.ChoiceField(
        label="Si elle n'est pas référencée : état du référencement",
        required=False,
        choices=[("", "—"), ("in_progress", "En cours"), ("engaged", "Éditeur engagé"), ("none", "Aucun")],
    )
    operation = forms.ChoiceField(
        label="Opération des ESSMS qui n'en indiquent pas",
        required=False,
        choices=[("", "—"), ("acquisition", "Acquisition"), ("upgrade", "Montée de version")],
    )
    essms = forms.CharField(label="ESSMS de la grappe", help_text=ESSMS_HELP, widget=forms.Textarea(attrs={"rows": 8}))
    equipment_quotes_eur = forms.IntegerField(label="Matériel : devis (€)", required=False, min_value=0)
    equipment_spent_eur = forms.IntegerField(label="Matériel : dépense réelle (€)", required=False, min_value=0)
    amoa_eur = forms.IntegerField(label="AMOA demandée (€)", required=False, min_value=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        campaigns = available_campaigns()
        self.fields["campaign"].choices = [(c, c) for c in reversed(campaigns)]

    def simulation_input(self) -> tuple[dict[str, Any], list[str]]:
        """The simulator's JSON input built from the cleaned form, and line errors."""
        data = self.cleaned_data
        essms, errors = parse_essms_lines(data["essms"])
        payload: dict[str, Any] = {
            "campaign": data["campaign"],
            "porteur": {"is_ght": data["is_ght"]},
            "solution": {"segur_referenced": data["segur_referenced"], "sad_referenced": data["sad_referenced"]},
            "essms": essms,
        }
        if data["filed_on"]:
            payload["filed_on"] = data["filed_on"].isoformat()
        if data["porteur_finess_ej"]:
            payload["porteur"]["finess_ej"] = data["porteur_finess_ej"]
        if data["vat_regime"]:
            payload["porteur"]["vat_regime"] = data["vat_regime"]
        if data["operation"]:
            payload["operation"] = data["operation"]
        if data["referencing"]:
            payload["solution"]["referencing"] = data["referencing"]
        if data["equipment_quotes_eur"]:
            payload["equipment"] = {"quotes_eur": data["equipment_quotes_eur"]}
            if data["equipment_spent_eur"] is not None:
                payload["equipment"]["spent_eur"] = data["equipment_spent_eur"]
        if data["amoa_eur"]:
            payload["amoa_eur"] = data["amoa_eur"]
        return payload, errors


HOSTING = [
    ("", "Non indiqué"),
    ("hds", "Hébergement externalisé chez un hébergeur HDS (SaaS)"),
    ("site", "Hébergement sur site"),
]
SCHEMES = {"esms_numerique", "sons", "feder", "fse"}


class DossierForm(SimulationForm):
    """A dossier's grappe: the simulator's fields, with a title, the solution, the member OGs, the ESSMS
    attached to a national entity and previous fundings; the porteur is the user's OG and the filing date the
    day it is filed."""

    title = forms.CharField(label="Intitulé du projet", max_length=255)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    solution_name = forms.CharField(label="Solution DUI (nom et version)", required=False, max_length=255)
    editor = forms.CharField(label="Éditeur", required=False, max_length=255)
    hosting = forms.ChoiceField(
        label="Mode d'hébergement (le même pour tous les ESSMS)", required=False, choices=HOSTING
    )
    members = forms.CharField(
        label="OG membres de la grappe (FINESS EJ, un par ligne)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    national_entity = forms.CharField(
        label="ESSMS rattachés à une entité nationale, dont l'accord écrit est joint (FINESS ET, un par ligne)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    saad_table = forms.CharField(
        label="Heures SAAD de l'année N-1 (annexe 1) : FINESS ET ; heures totales ; heures APA ; heures PCH ; "
        "autres heures médico-sociales ; financeur de ces autres heures",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    previous_fundings = forms.CharField(
        label="Financements antérieurs : FINESS ET ; programme (esms_numerique, sons, feder, fse) ; opération ; année",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    field_order = ["title", "campaign"]

    def clean_members(self) -> list[str]:
        numbers = [normalize(n) for n in self.cleaned_data["members"].split() if n.strip()]
        for number in numbers:
            if check_key(number) != KeyStatus.VALID:
                raise forms.ValidationError(f"FINESS EJ « {number} » invalide.")
            if not LegalEntity.objects.filter(finess_ej=number).exists():
                raise forms.ValidationError(f"FINESS EJ {number} inconnu du répertoire.")
        return numbers

    def clean_saad_table(self) -> dict[str, dict]:
        """AAP24 Annexe 1, columns c–h: médico-social hours are APA + PCH + other hours funded by départements
        or caisses; their share of the total is what E-SAAD funds."""
        rows = {}
        for number, line in enumerate(self.cleaned_data["saad_table"].splitlines(), start=1):
            if not line.strip():
                continue
            cells = [c.strip() for c in line.replace("\t", ";").split(";")] + [""] * 6
            finess, total, apa, pch, other, funder = cells[:6]
            try:
                hours = [float((v or "0").replace(",", ".")) for v in (total, apa, pch, other)]
            except ValueError:
                raise forms.ValidationError(f"ligne {number} : heures illisibles.") from None
            rows[finess.upper()] = {
                "total": hours[0],
                "apa": hours[1],
                "pch": hours[2],
                "other": hours[3],
                "other_funder": funder,
                "medico_social": sum(hours[1:]),
            }
        return rows

    def clean_previous_fundings(self) -> list[dict]:
        fundings = []
        for number, line in enumerate(self.cleaned_data["previous_fundings"].splitlines(), start=1):
            if not line.strip():
                continue
            cells = [c.strip() for c in line.replace("\t", ";").split(";")] + ["", "", ""]
            finess, scheme, operation, year = cells[:4]
            if scheme not in SCHEMES:
                raise forms.ValidationError(
                    f"ligne {number} : programme « {scheme} » inconnu ({', '.join(sorted(SCHEMES))})."
                )
            entry = {"finess_et": finess, "scheme": scheme}
            if operation:
                entry["operation"] = OPERATIONS.get(operation.lower(), operation)
            if year:
                if not year.isdigit():
                    raise forms.ValidationError(f"ligne {number} : année « {year} » illisible.")
                entry["year"] = int(year)
            fundings.append(entry)
        return fundings

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["filed_on"]
        del self.fields["porteur_finess_ej"]
        self.order_fields(["title", "campaign"])

    def simulation_input(self) -> tuple[dict[str, Any], list[str]]:
        data = self.cleaned_data
        data.setdefault("filed_on", None)
        data.setdefault("porteur_finess_ej", "")
        payload, errors = super().simulation_input()
        national = {n.strip().upper() for n in data.get("national_entity", "").split() if n.strip()}
        saad = data.get("saad_table") or {}
        for entry in payload["essms"]:
            entry.pop("_line", None)
            if entry["finess_et"].upper() in national:
                entry["national_entity"] = True
            if entry["finess_et"].upper() in saad:
                entry["saad_hours"] = saad[entry["finess_et"].upper()]
        for key in ("solution_name", "editor", "hosting"):
            if data.get(key):
                payload["solution"][key.removeprefix("solution_")] = data[key]
        if data.get("members"):
            payload["members"] = data["members"]
        if data.get("previous_fundings"):
            payload["previous_fundings"] = data["previous_fundings"]
        return payload, errors


def _number(value: Any) -> str:
    """Hours as the porteur typed them: 800, not 800.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def initial_from_grappe(title: str, grappe: dict[str, Any], version: int) -> dict[str, Any]:
    """The form as the porteur left it, from the stored grappe."""
    lines = []
    for e in grappe.get("essms", []):
        hours = e.get("saad_hours") or {}
        cells = [
            e.get("finess_et", ""),
            e.get("sector", ""),
            e.get("operation", ""),
            e.get("department", ""),
            e.get("og_essms_count", ""),
            hours.get("medico_social", ""),
            hours.get("total", ""),
        ]
        lines.append(";".join(_number(c) for c in cells).rstrip(";"))
    porteur, solution = grappe.get("porteur", {}), grappe.get("solution", {})
    equipment = grappe.get("equipment") or {}
    return {
        "title": title,
        "campaign": grappe.get("campaign"),
        "version": version,
        "vat_regime": porteur.get("vat_regime", ""),
        "is_ght": porteur.get("is_ght", False),
        "segur_referenced": solution.get("segur_referenced", False),
        "sad_referenced": solution.get("sad_referenced", False),
        "referencing": solution.get("referencing", ""),
        "operation": grappe.get("operation", ""),
        "essms": "\n".join(lines),
        "equipment_quotes_eur": equipment.get("quotes_eur"),
        "equipment_spent_eur": equipment.get("spent_eur"),
        "amoa_eur": grappe.get("amoa_eur"),
        "solution_name": solution.get("name", ""),
        "editor": solution.get("editor", ""),
        "hosting": solution.get("hosting", ""),
        "members": "\n".join(grappe.get("members", [])),
        "national_entity": "\n".join(e["finess_et"] for e in grappe.get("essms", []) if e.get("national_entity")),
        "saad_table": "\n".join(
            ";".join(
                _number(v)
                for v in (
                    e["finess_et"],
                    h.get("total"),
                    h.get("apa", ""),
                    h.get("pch", ""),
                    h.get("other", h.get("medico_social", "")),
                    h.get("other_funder", ""),
                )
            )
            for e in grappe.get("essms", [])
            if (h := e.get("saad_hours"))
        ),
        "previous_fundings": "\n".join(
            ";".join(str(f.get(k, "")) for k in ("finess_et", "scheme", "operation", "year"))
            for f in grappe.get("previous_fundings", [])
        ),
    }


def _input_field(item: Input) -> forms.Field:
    """The form field for an input a transition declares (workflow/engine.py)."""
    common = {"label": item.label, "required": item.required, "help_text": item.help}
    if item.kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if item.kind == "amount":
        return forms.IntegerField(min_value=0, max_value=MAX_AMOUNT_EUR, **common)
    if item.kind == "checkbox":
        return forms.BooleanField(**common)
    return forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), **common)


def transition_form(transition: Transition, data=None, initial=None) -> forms.Form:
    """A form with exactly the inputs the transition declares, plus the transition's name and the version read."""
    fields = {
        "transition": forms.CharField(widget=forms.HiddenInput),
        "version": forms.IntegerField(widget=forms.HiddenInput),
        **{item.name: _input_field(item) for item in transition.inputs},
    }
    form_class = type(f"{transition.name.title()}Form", (DsfrBaseForm,), fields)
    return form_class(data, initial=initial)


class MessageForm(DsfrBaseForm):
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 3}))
    private = forms.BooleanField(label="Annotation privée (instructeurs seulement)", required=False)


class PieceForm(DsfrBaseForm):
    code = forms.ChoiceField(label="Type de pièce", choices=[])
    file = forms.FileField(label="Fichier (PDF, DOCX, XLSX, ODT, ODS, DOC, XLS)")

    def __init__(self, *args, piece_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].choices = list(piece_types)


class CommitteeForm(DsfrBaseForm):
    label = forms.CharField(label="Intitulé", max_length=255)
    date = forms.DateField(label="Date du comité", widget=forms.DateInput(attrs={"type": "date"}))
    cutoff_date = forms.DateField(label="Dossiers déposés jusqu'au", widget=forms.DateInput(attrs={"type": "date"}))


class DecisionForm(DsfrBaseForm):
    decision = forms.ChoiceField(label="Décision", choices=[("retenu", "Retenu"), ("non_retenu", "Non retenu")])
    reason = forms.CharField(label="Motif", widget=forms.Textarea(attrs={"rows": 2}))


class AmountRevisionForm(DsfrBaseForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    amount_eur = forms.IntegerField(label="Nouveau montant engagé (€)", min_value=0, max_value=MAX_AMOUNT_EUR)
    reason = forms.CharField(label="Motif de la révision", widget=forms.Textarea(attrs={"rows": 2}))


class OrderForm(DsfrBaseForm):
    og = forms.CharField(label="FINESS juridique de l'OG client", max_length=9)
    other_ogs = forms.CharField(
        label="Autres OG clients de la même commande — cas B (FINESS EJ, un par ligne)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    solution = forms.ModelChoiceField(label="Solution", queryset=None)
    sector = forms.ChoiceField(
        label="Secteur (pour le calendrier du couloir)",
        required=False,
        choices=[("", "—")] + [(s, s) for s in ("PA", "PH", "DOM", "PDS", "PDE", "AHI", "PJM")],
    )
    ordered_on = forms.DateField(
        label="Date de signature du bon de commande", widget=forms.DateInput(attrs={"type": "date"})
    )
    items = forms.CharField(
        label="ESSMS commandés : FINESS ET ; version installée ; version cible (une ligne chacun)",
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def __init__(self, *args, solutions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["solution"].queryset = solutions

    def clean_og(self):
        number = normalize(self.cleaned_data["og"])
        entity = LegalEntity.objects.filter(finess_ej=number).first()
        if entity is None:
            raise forms.ValidationError(f"FINESS EJ {number} inconnu du répertoire.")
        return entity

    def clean_other_ogs(self):
        numbers = [normalize(n) for n in self.cleaned_data["other_ogs"].split() if n.strip()]
        entities = list(LegalEntity.objects.filter(finess_ej__in=numbers))
        unknown = set(numbers) - {e.finess_ej for e in entities}
        if unknown:
            raise forms.ValidationError(f"FINESS EJ inconnu(s) du répertoire : {', '.join(sorted(unknown))}.")
        return tuple(entities)

    def clean_items(self):
        requests = []
        for number, line in enumerate(self.cleaned_data["items"].splitlines(), start=1):
            if not line.strip():
                continue
            cells = [c.strip() for c in line.replace("\\t", ";").split(";")] + ["", ""]
            if not cells[0]:
                raise forms.ValidationError(f"ligne {number} : FINESS ET manquant.")
            requests.append(ItemRequest(normalize(cells[0]), cells[1], cells[2]))
        if not requests:
            raise forms.ValidationError("indiquez au moins un ESSMS")
        return requests


# The OG's answer to one VA question. « — » keeps the question unanswered: never read a missing answer as « oui ».
VA_ANSWERS = (("", "—"), ("oui", "oui"), ("non", "non"))


class VaForm(DsfrBaseForm):
    """The four VA questions of one ESSMS of an order, named « {item pk}-{field} » as on the order's page."""

    def __init__(self, *args, item: OrderItem, **kwargs):
        super().__init__(*args, prefix=str(item.pk), **kwargs)
        self.item = item
        for name in OrderItem.VA_FIELDS:
            self.fields[name] = forms.TypedChoiceField(
                label=f"{OrderItem._meta.get_field(name).verbose_name} ({item.establishment.finess_et})",
                choices=VA_ANSWERS,
                coerce=lambda answer: answer == "oui",
                empty_value=None,
                required=False,
                error_messages={"invalid_choice": "réponse « %(value)s » inconnue (—, oui ou non)"},
            )

    def clean(self):
        cleaned = super().clean()
        # record_va stores « oui » or « non » only: « — » cannot erase a saved answer (a page opened before the
        # answer was saved shows « — »), so it is refused rather than silently ignored.
        for name in OrderItem.VA_FIELDS:
            saved = getattr(self.item, name)
            if name in cleaned and cleaned[name] is None and saved is not None:
                self.add_error(
                    name,
                    f"la réponse enregistrée « {'oui' if saved else 'non'} » ne s'efface pas : choisissez oui ou non",
                )
        return cleaned

    def answers(self) -> dict[str, bool]:
        """The questions answered, « oui » or « non »; those left at « — » (never answered) stay unanswered."""
        return {name: value for name, value in self.cleaned_data.items() if value is not None}


class ChecklistForm(DsfrBaseForm):
    situation = forms.ChoiceField(
        label="Quelle est ma situation concernant le DUI ?", widget=forms.RadioSelect, choices=[]
    )
    referencing = forms.ChoiceField(
        label="Le DUI proposé par mon éditeur est-il référencé Ségur ?",
        widget=forms.RadioSelect,
        choices=[],
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["situation"].choices = list(SITUATIONS.items())
        self.fields["referencing"].choices = list(REFERENCING.items())
