"""A database too busy to answer gives a French 503 « réessayez » page (or JSON for the API), never a 500
(DECISION D-DATABASE-BUSY)."""

from __future__ import annotations

import sqlite3

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.test import Client

from esms_numerique.www import busy, registry_views

pytestmark = pytest.mark.django_db


def sqlite_locked_error(tmp_path) -> OperationalError:
    """A real « database is locked » from SQLite: a second writer that may not wait."""
    path = tmp_path / "verrou.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        wrapped = OperationalError(*error.args)
        wrapped.__cause__ = error
        return wrapped
    finally:
        holder.close()
        other.close()
    raise AssertionError("SQLite aurait dû refuser le second écrivain")


def test_sqlite_lock_is_busy_and_other_errors_are_not(tmp_path):
    assert busy.is_busy(sqlite_locked_error(tmp_path))
    assert not busy.is_busy(OperationalError("no such table: registry_establishment"))
    assert not busy.is_busy(ValueError("database is locked"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_postgresql_lock_timeout_is_busy():
    import psycopg

    settings = connection.settings_dict
    params = dict(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        autocommit=True,
    )
    with psycopg.connect(**params) as holder, psycopg.connect(**params) as waiter:
        holder.execute("SELECT pg_advisory_lock(918273)")
        waiter.execute("SET lock_timeout = '20ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable) as caught:
            waiter.execute("SELECT pg_advisory_lock(918273)")
        holder.execute("SELECT pg_advisory_unlock(918273)")
    wrapped = OperationalError(str(caught.value))
    wrapped.__cause__ = caught.value
    assert busy.is_busy(wrapped)


@pytest.fixture
def locked_registry(monkeypatch, tmp_path):
    error = sqlite_locked_error(tmp_path)

    def raise_locked(*args, **kwargs):
        raise error

    monkeypatch.setattr(registry_views, "search_establishments", raise_locked)
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_user("lecteur", password="x" * 16))
    return client


def test_busy_page_is_french_503_with_retry_after(locked_registry):
    response = locked_registry.get("/repertoire/?q=35")
    assert response.status_code == 503
    assert response["Retry-After"] == str(busy.RETRY_AFTER_SECONDS)
    text = response.content.decode()
    assert "Service momentanément occupé" in text
    assert "réessayez dans 2 secondes" in text
    assert "opération en cours a été annulée" in text


def test_busy_htmx_answer_is_the_error_block(locked_registry):
    response = locked_registry.get("/repertoire/?q=35", HTTP_HX_REQUEST="true")
    assert response.status_code == 503
    assert "réessayez dans 2 secondes" in response.content.decode()
    assert "<html" not in response.content.decode()
