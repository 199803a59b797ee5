"""Issue 15: an audit log that holds — keyed digests, serialised writers, daily anchors outside the table
(docs/decisions.md, D-AUDIT-KEY)."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import threading
import time

import pytest
from click.testing import CliRunner
from django.apps import apps
from django.db import close_old_connections, connection, transaction

from esms_numerique.audit import digests
from esms_numerique.audit.models import AuditEntry
from esms_numerique.audit.services import GENESIS, record, verify, verify_chain, write_anchor
from esms_numerique.cli import main

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def anchors(settings, tmp_path):
    """Each test its own anchor folder (the settings' one is shared by the whole run)."""
    settings.AUDIT_ANCHOR_DIR = tmp_path / "ancres"
    return settings.AUDIT_ANCHOR_DIR


def entries(count: int = 5) -> list[AuditEntry]:
    return [
        record("instructeur", "transition:instruire", "Dossier", f"ESMS-2024-{n:05d}", after={"n": n}, reason="motif")
        for n in range(count)
    ]


def recompute_without_the_key(start_id: int) -> None:
    """What an attacker with write access to the table, but not the key, can do: rewrite from an entry on, each
    digest recomputed the only way they can (plain SHA-256, as before the key)."""
    previous = AuditEntry.objects.filter(id__lt=start_id).order_by("-id").values_list("digest", flat=True).first()
    previous = previous or GENESIS
    for entry in AuditEntry.objects.filter(id__gte=start_id).order_by("id"):
        entry.previous_digest = previous
        entry.version = digests.LEGACY
        entry.digest = entry.compute_digest()
        entry.save()
        previous = entry.digest


def test_entries_are_keyed_and_the_log_verifies():
    written = entries()
    assert verify_chain() == []
    first = AuditEntry.objects.get(pk=written[0].pk)
    assert first.version == digests.KEYED and first.previous_digest == GENESIS
    expected = hmac.new(
        b"dev-only-audit-hmac-key-not-a-secret",
        digests.payload({**first.fields(), "version": 2}),
        hashlib.sha256,
    ).hexdigest()
    assert first.digest == expected
    assert [e.previous_digest for e in written[1:]] == [e.digest for e in written[:-1]]


def test_another_key_sees_every_entry_as_altered(settings):
    entries(3)
    settings.AUDIT_HMAC_KEY = "une-autre-cle-qui-n-a-pas-ecrit-le-journal"
    assert len([p for p in verify_chain() if "contenu modifié" in p]) == 3


def test_an_edited_row_is_detected():
    written = entries()
    AuditEntry.objects.filter(pk=written[2].pk).update(actor="quelqu'un d'autre")
    assert verify_chain() == [f"entrée {written[2].pk} : contenu modifié après coup (empreinte différente)"]


def test_a_row_deleted_in_the_middle_is_detected():
    written = entries()
    AuditEntry.objects.filter(pk=written[2].pk).delete()
    assert verify_chain() == [f"entrée {written[3].pk} : ne suit pas l'entrée précédente (chaîne rompue)"]


def test_an_edited_row_with_the_chain_recomputed_is_detected():
    written = entries()
    AuditEntry.objects.filter(pk=written[2].pk).update(reason="autre motif")
    recompute_without_the_key(written[2].pk)
    problems = verify_chain()
    assert problems == [
        f"entrée {e.pk} : empreinte sans clé après les entrées scellées par la clé" for e in written[2:]
    ], problems


def test_the_whole_log_recomputed_without_the_key_is_detected():
    written = entries()
    AuditEntry.objects.filter(pk=written[0].pk).update(object_id="ESMS-2024-99999")
    recompute_without_the_key(written[0].pk)
    assert verify_chain() == ["aucune entrée scellée par la clé : les entrées sans clé ont pu être réécrites"]


def test_a_chain_recomputed_with_a_guessed_key_is_detected(settings):
    written = entries()
    settings.AUDIT_HMAC_KEY = "cle-devinee-par-l-attaquant"
    AuditEntry.objects.filter(pk=written[1].pk).update(reason="réécrit")
    previous = written[0].digest
    for entry in AuditEntry.objects.filter(id__gte=written[1].pk).order_by("id"):
        entry.previous_digest = previous
        entry.digest = entry.compute_digest()
        entry.save()
        previous = entry.digest
    settings.AUDIT_HMAC_KEY = "dev-only-audit-hmac-key-not-a-secret"
    assert len([p for p in verify_chain() if "contenu modifié" in p]) == 4


# ---------------------------------------------------------------------------------------------------------------
# Anchors: truncation.


def test_the_anchor_file_is_signed_and_names_the_head(anchors):
    written = entries(3)
    path, anchor = write_anchor()
    assert path.parent == anchors and path.name.startswith("ancre-") and path.suffix == ".json"
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert on_disk == anchor
    assert (on_disk["last_id"], on_disk["digest"]) == (written[-1].pk, written[-1].digest)
    text = f"{on_disk['date']}|{on_disk['last_id']}|{on_disk['digest']}"
    assert on_disk["signature"] == digests.signature("dev-only-audit-hmac-key-not-a-secret", text)
    report = verify()
    assert (report.intact, report.entries, report.anchors, report.last_anchor) == (True, 3, 1, on_disk["date"])


def test_an_empty_log_is_anchored_too():
    _, anchor = write_anchor()
    assert (anchor["last_id"], anchor["digest"]) == (0, GENESIS)
    assert verify_chain() == []


def test_deleting_the_last_rows_is_detected_by_the_anchor():
    written = entries()
    _, anchor = write_anchor()
    AuditEntry.objects.filter(pk__gte=written[3].pk).delete()
    assert verify_chain() == [
        f"ancre du {anchor['date']} : l'entrée {written[-1].pk} qu'elle scelle n'est plus dans le journal (journal "
        "tronqué ou entrée supprimée)"
    ]


def test_deleting_the_last_row_alone_is_detected_by_the_anchor():
    written = entries()
    write_anchor()
    written[-1].delete()
    assert len(verify_chain()) == 1 and "n'est plus dans le journal" in verify_chain()[0]


def test_deleting_every_row_is_detected_by_the_anchor():
    entries()
    write_anchor()
    AuditEntry.objects.all().delete()
    assert len(verify_chain()) == 1 and "journal tronqué" in verify_chain()[0]


def test_rows_written_after_the_anchor_may_follow_it():
    entries(2)
    write_anchor()
    entries(2)
    assert verify_chain() == []


def test_the_anchored_entry_rewritten_with_the_key_is_still_caught(settings):
    """Even someone with the key who rewrites the anchored head is caught while the anchor file stands."""
    written = entries(2)
    _, anchor = write_anchor()
    AuditEntry.objects.filter(pk=written[-1].pk).update(reason="réécrit avec la clé")
    entry = AuditEntry.objects.get(pk=written[-1].pk)
    entry.digest = entry.compute_digest()
    entry.save()
    assert verify_chain() == [
        f"ancre du {anchor['date']} : l'entrée {written[-1].pk} n'est plus celle qu'elle a scellée"
    ]


def test_a_forged_or_broken_anchor_is_reported(anchors):
    entries(2)
    path, anchor = write_anchor()
    path.write_text(json.dumps({**anchor, "last_id": anchor["last_id"] - 1}), encoding="utf-8")
    (anchors / "ancre-2024-01-01.json").write_text("{pas du json", encoding="utf-8")
    assert verify_chain() == [
        "ancre ancre-2024-01-01.json : illisible",
        f"ancre {path.name} : signature invalide (ancre modifiée, ou écrite avec une autre clé)",
    ]


def test_an_altered_log_is_not_anchored(anchors):
    written = entries(2)
    AuditEntry.objects.filter(pk=written[0].pk).update(actor="x")
    with pytest.raises(ValueError, match="contenu modifié"):
        write_anchor()
    assert not list(anchors.glob("ancre-*"))


def test_the_commands_anchor_then_catch_a_truncation(anchors):
    written = entries(3)
    result = CliRunner().invoke(main, ["audit", "ancrer"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["last_id"] == written[-1].pk
    assert (anchors / f"ancre-{printed['date']}.json").exists()
    verified = CliRunner().invoke(main, ["audit", "verify"])
    assert (verified.exit_code, verified.stdout.strip()) == (0, "Journal d'audit intact.")
    assert f"3 entrée(s), 1 ancre(s) vérifiée(s), dernière ancre du {printed['date']}." in verified.stderr
    written[-1].delete()
    verified = CliRunner().invoke(main, ["audit", "verify"])
    assert verified.exit_code == 1
    assert "journal tronqué" in verified.stderr and "Journal d'audit altéré." in verified.stderr
    refused = CliRunner().invoke(main, ["audit", "ancrer"])
    assert refused.exit_code == 1 and "rien n'est ancré : ancre du" in refused.stderr


# ---------------------------------------------------------------------------------------------------------------
# Entries written before the key (migration audit 0003).


def legacy_entries(count: int) -> list[AuditEntry]:
    previous, written = GENESIS, []
    for n in range(count):
        entry = AuditEntry(
            actor="ancien",
            action="create_dossier",
            object_type="Dossier",
            object_id=f"ESMS-2022-{n:05d}",
            after={"titre": f"Grappe {n}"},
            previous_digest=previous,
            version=digests.LEGACY,
        )
        entry.digest = entry.compute_digest()
        entry.save()
        previous = entry.digest
        written.append(entry)
    return written


def seal_legacy_entries() -> None:
    migration = importlib.import_module("esms_numerique.audit.migrations.0003_seal_legacy_entries")
    migration.seal(apps, None)


def test_entries_written_before_the_key_stay_verifiable_once_sealed():
    legacy = legacy_entries(3)
    assert verify_chain() == ["aucune entrée scellée par la clé : les entrées sans clé ont pu être réécrites"]
    seal_legacy_entries()
    seal = AuditEntry.objects.order_by("id").last()
    assert (seal.action, seal.version, seal.previous_digest) == ("seal_legacy_entries", 2, legacy[-1].digest)
    assert seal.after == {"entrées sans clé": 3, "dernière": legacy[-1].pk, "empreinte": legacy[-1].digest}
    record("instructeur", "transition:instruire", "Dossier", "ESMS-2024-00001")
    assert verify_chain() == []
    seal_legacy_entries()  # run again (a second migrate): nothing to seal
    assert AuditEntry.objects.filter(action="seal_legacy_entries").count() == 1


def test_a_sealed_legacy_entry_rewritten_and_recomputed_is_detected():
    legacy = legacy_entries(3)
    seal_legacy_entries()
    AuditEntry.objects.filter(pk=legacy[1].pk).update(actor="réécrit")
    previous = legacy[0].digest
    for entry in AuditEntry.objects.filter(pk__in=[legacy[1].pk, legacy[2].pk]).order_by("id"):
        entry.previous_digest = previous
        entry.digest = entry.compute_digest()
        entry.save()
        previous = entry.digest
    seal = AuditEntry.objects.get(action="seal_legacy_entries")
    assert verify_chain() == [f"entrée {seal.pk} : ne suit pas l'entrée précédente (chaîne rompue)"]


# ---------------------------------------------------------------------------------------------------------------
# Concurrent writers (PostgreSQL: the advisory lock; SQLite serialises writers already).


@pytest.mark.django_db(transaction=True)
def test_concurrent_audited_writes_keep_one_chain():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent connections: PostgreSQL (CI)")
    workers, each = 10, 5
    barrier = threading.Barrier(workers)
    errors = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            for k in range(each):
                with transaction.atomic():
                    record(f"u{n}", "post_message", "Dossier", f"ESMS-2024-{n:05d}", after={"k": k})
                    time.sleep(0.005)  # the change the entry records, still in its transaction
        except Exception as error:
            errors.append(repr(error))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AuditEntry.objects.count() == workers * each
    previous = list(AuditEntry.objects.order_by("id").values_list("previous_digest", flat=True))
    assert len(set(previous)) == len(previous)  # no two entries chained to the same one: no fork
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert (result.exit_code, result.stdout.strip()) == (0, "Journal d'audit intact."), result.output
