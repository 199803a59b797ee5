"""A FINESS extract imported from the registry page: the same all-or-nothing import as `esms finess import`, its
progress (lines read, establishments written) on the job's page (DECISION D-JOBS (docs/decisions.md))."""

from __future__ import annotations

from esms_numerique.registry.extract import ExtractError
from esms_numerique.registry.services import import_extracts

from .models import Job, jobs_storage
from .services import JobError, Outcome, Progress


def _read(stored: dict | None) -> tuple[str | None, bytes | None]:
    if stored is None:
        return None, None
    with jobs_storage().open(stored["path"], "rb") as file:
        return stored["name"], file.read()


def _n(count: int) -> str:
    return f"{count:,d}".replace(",", "\u202f")


def run(job: Job, progress: Progress) -> Outcome:
    inputs = job.params["inputs"]
    et_name, et_data = _read(inputs["et"])
    ej_name, ej_data = _read(inputs.get("ej"))
    lines = et_data.count(b"\n") + (ej_data.count(b"\n") if ej_data else 0) or 1
    count = 0

    def step(n: int) -> None:
        # import_extracts counts the lines it reads, then the establishments it writes (as the CLI's bar does).
        nonlocal count
        count += n
        if count <= lines:
            progress(count * 50 / lines, f"Lecture : {_n(count)} ligne(s) lue(s) sur {_n(lines)}.")
        else:
            written = count - lines
            progress(50 + written * 50 / lines, f"Écriture dans le répertoire : {_n(written)} établissement(s).")

    progress(0, f"Lecture de {et_name}.")
    try:
        report = import_extracts(et_name, et_data, ej_name, ej_data, actor=job.owner.get_username(), progress=step)
    except ExtractError as error:
        raise JobError(f"Import refusé, le répertoire est inchangé : {error}") from error
    return Outcome(summary=report.summary())
