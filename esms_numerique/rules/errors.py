"""Input errors in French, naming the field: what the CLI prints (exit status 2) and the API returns (400)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# Pydantic names the member of a union an error comes from; users know only the field.
UNION_MEMBERS = {"date", "datetime", "int", "float", "str", "bool", "list", "dict", "none"}


class InputError(ValueError):
    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


def _path(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part) in UNION_MEMBERS or str(part).startswith(("function-", "literal[")):
            continue
        else:
            path += ("." if path else "") + str(part)
    return path or "(racine)"


def _message(error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    # The API's validation errors do not carry the input; then the message names the field only.
    value = f" {json.dumps(error['input'], ensure_ascii=False, default=str)}" if "input" in error else ""
    got = f", reçu{value}" if value else ""
    if kind == "missing":
        return "champ obligatoire manquant"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", " ou ")
        return f"valeur{value} inconnue (valeurs possibles : {expected})"
    if kind.startswith("int_"):
        return f"nombre entier attendu{got}"
    if kind.startswith("float_"):
        return f"nombre attendu{got}"
    if kind.startswith("bool_"):
        return f"true ou false attendu{got}"
    if kind.startswith(("date_", "datetime_")):
        return f"date attendue (AAAA-MM-JJ ou AAAA-MM-JJTHH:MM+01:00){got}"
    if kind == "string_type":
        return f"texte attendu{got}"
    if kind.startswith("string_"):
        return f"texte trop court{got}"
    if kind == "list_type":
        return f"liste attendue{got}"
    if kind in ("too_short", "too_long"):
        return f"au moins {ctx.get('min_length')} élément(s) attendu(s)"
    if kind in ("greater_than_equal", "greater_than"):
        return f"doit être supérieur ou égal à {ctx.get('ge', ctx.get('gt'))}{got}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"objet JSON attendu{got}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


def french_messages(errors: list[dict[str, Any]], skip: int = 0) -> list[str]:
    """One French line per faulty field; `skip` drops leading location parts (e.g. the API's body)."""
    messages: dict[str, str] = {}
    for error in errors:
        path = _path(error["loc"][skip:])
        messages.setdefault(path, f"champ « {path} » : {_message(error)}")
    return list(messages.values())


def decode_json(text: str | bytes) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError([f"JSON illisible, ligne {error.lineno}, colonne {error.colno} : {error.msg}"]) from None
    except UnicodeDecodeError:
        raise InputError(["le JSON doit être encodé en UTF-8"]) from None
    if not isinstance(data, dict):
        raise InputError(["un objet JSON est attendu à la racine"])
    return data


def parse(model: type[M], data: str | bytes | dict[str, Any]) -> M:
    """Validates JSON text or an already decoded object, or raises InputError in French."""
    if isinstance(data, str | bytes):
        data = decode_json(data)
    if not isinstance(data, dict):
        raise InputError(["un objet JSON est attendu à la racine"])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InputError(french_messages(error.errors())) from None
