"""Input errors in French, naming the field: what the CLI prints (exit status 2) and the API returns (400)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# Pydantic names the member of a union an error comes from; users know only the field.
UNION_MEMBERS = {"date", "datetime", "int", "float", "str", "bool", "list", "dict", "none"}


# Bounds on any JSON the platform reads (API, CLI, measurement uploads): DECISION D-LIMITS (docs/decisions.md).
# No input of the programme nests deeper than a handful of levels; no number of it needs more than 64 bits.
MAX_JSON_DEPTH = 32
MAX_JSON_INTEGER = 2**63 - 1


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
    if kind == "string_too_long":
        return f"texte trop long, au plus {ctx.get('max_length')} caractères"
    if kind.startswith("string_"):
        return f"texte trop court{got}"
    if kind == "list_type":
        return f"liste attendue{got}"
    if kind == "too_short":
        return f"au moins {ctx.get('min_length')} élément(s) attendu(s)"
    if kind == "too_long":
        return f"au plus {ctx.get('max_length')} élément(s) attendu(s)"
    if kind == "finite_number":
        return f"nombre fini attendu (ni NaN ni Infinity){got}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"doit être supérieur ou égal à {ctx.get('ge', ctx.get('gt'))}{got}"
    if kind in ("less_than_equal", "less_than"):
        return f"doit être inférieur ou égal à {ctx.get('le', ctx.get('lt'))}{got}"
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


def _shown(value: object) -> str:
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return f"{str(value)[:20]}… ({len(str(value))} chiffres)"


def _bounds_errors(data: object) -> list[str]:
    """Where a decoded JSON value breaks the platform's bounds: nesting, non-finite or oversized numbers, NUL
    characters (which PostgreSQL cannot store). Walked without recursion, whatever the depth."""
    messages: list[str] = []
    stack: list[tuple[object, str, int]] = [(data, "", 0)]
    while stack and len(messages) < 20:
        value, path, depth = stack.pop()
        where = f"champ « {path or '(racine)'} »"
        if isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return [f"JSON trop imbriqué : au plus {MAX_JSON_DEPTH} niveaux d'objets et de listes"]
            if isinstance(value, dict):
                for key, item in value.items():
                    if "\x00" in key:
                        messages.append(f"{where} : caractère nul (\\u0000) interdit dans un nom de champ")
                        continue
                    stack.append((item, f"{path}.{key}" if path else key, depth + 1))
            else:
                stack.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            messages.append(f"{where} : nombre fini attendu (ni NaN ni Infinity), reçu {_shown(value)}")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_JSON_INTEGER:
            messages.append(f"{where} : nombre trop grand, au plus {MAX_JSON_INTEGER} ; reçu {_shown(value)}")
        elif isinstance(value, str) and "\x00" in value:
            messages.append(f"{where} : caractère nul (\\u0000) interdit")
    return sorted(messages)


def decode_json(text: str | bytes) -> dict[str, Any]:
    """A JSON object within the platform's bounds (DECISION D-LIMITS), or InputError in French."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError([f"JSON illisible, ligne {error.lineno}, colonne {error.colno} : {error.msg}"]) from None
    except UnicodeDecodeError:
        raise InputError(["le JSON doit être encodé en UTF-8"]) from None
    except RecursionError:
        raise InputError([f"JSON trop imbriqué : au plus {MAX_JSON_DEPTH} niveaux d'objets et de listes"]) from None
    except ValueError:
        # Python refuses to read an integer of more than 4 300 digits (int_max_str_digits).
        raise InputError([f"JSON : nombre trop long (plus de 4 300 chiffres) ; au plus {MAX_JSON_INTEGER}"]) from None
    if not isinstance(data, dict):
        raise InputError(["un objet JSON est attendu à la racine"])
    errors = _bounds_errors(data)
    if errors:
        raise InputError(errors)
    return data


def parse(model: type[M], data: str | bytes | dict[str, Any]) -> M:
    """Validates JSON text or an already decoded object, or raises InputError in French."""
    if isinstance(data, str | bytes):
        data = decode_json(data)
    if not isinstance(data, dict):
        raise InputError(["un objet JSON est attendu à la racine"])
    errors = _bounds_errors(data)
    if errors:
        raise InputError(errors)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InputError(french_messages(error.errors())) from None
