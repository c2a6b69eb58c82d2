"""Data blocks (dotenv, ini, toml, json, yaml): each must parse; `reads=module:object` is
then given the block as a file (a settings class must read every key of a dotenv block)."""

from __future__ import annotations

import configparser
import importlib
import json
import os
import re
import tomllib
from pathlib import Path

from ..model import Block, BlockFailure
from . import Context, handles

ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@handles("dotenv")
def run_dotenv(ctx: Context, block: Block) -> None:
    parse_dotenv(block)
    read_with(ctx, block, ".env")


def parse_ini(code: str) -> None:
    configparser.ConfigParser().read_string(code)


def parse_yaml(code: str) -> None:
    import yaml

    yaml.safe_load(code)


def yaml_errors() -> type[Exception]:
    import yaml

    return yaml.YAMLError


# kind: (parse, the exceptions it raises, suffix of the file reads= is given)
PARSERS = {
    "ini": (parse_ini, lambda: configparser.Error, ".ini"),
    "toml": (tomllib.loads, lambda: tomllib.TOMLDecodeError, ".toml"),
    "json": (json.loads, lambda: json.JSONDecodeError, ".json"),
    "yaml": (parse_yaml, yaml_errors, ".yaml"),
}


@handles(*PARSERS)
def run_data(ctx: Context, block: Block) -> None:
    parse, errors, suffix = PARSERS[block.kind]
    try:
        parse(block.code)
    except errors() as exc:
        raise BlockFailure(
            f"{where_in(block, exc)}: {block.kind} does not parse: {problem_of(exc)}"
        ) from None
    read_with(ctx, block, suffix)


def where_in(block: Block, exc: Exception) -> str:
    """The markdown line of a parse error, where the parser says which line it is."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{block.rel}:{block.line + exc.lineno}"
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{block.rel}:{block.line + mark.line + 1}"
    if hasattr(exc, "problem"):  # a YAML error without a mark
        return f"{block.rel}:{block.line + 1}"
    return block.where


def problem_of(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    return getattr(exc, "problem", None) or str(exc)


def read_with(ctx: Context, block: Block, suffix: str) -> None:
    """Hand the block, as a file of its own, to its reads= object (if it names one)."""
    target = block.attrs.get("reads")
    if not target:
        return
    path = ctx.project / f".snippet-{block.line}{suffix}"  # blocks may share a file= path
    path.write_text(block.code, encoding="utf-8")
    modname, _, attr = target.partition(":")
    if not attr:
        raise BlockFailure(f"{block.where}: reads={target} must be module:object")
    obj = getattr(importlib.import_module(modname), attr)
    if block.kind == "dotenv" and isinstance(obj, type) and hasattr(obj, "model_fields"):
        check_env_against_settings(block, obj, path)
    elif callable(obj):
        obj(path)
    else:
        raise BlockFailure(f"{block.where}: reads={target} is not callable")


def parse_dotenv(block: Block) -> dict[str, str]:
    values: dict[str, str] = {}
    for offset, raw in enumerate(block.code.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = ENV_LINE.match(line)
        if not match:
            raise BlockFailure(
                f"{block.rel}:{block.line + offset}: not a KEY=value line: {raw.strip()!r}"
            )
        key, value = match.groups()
        if not value.startswith(("'", '"')):
            value = re.sub(r"\s+#.*$", "", value).strip()
        values[key] = value.strip("'\"")
    return values


def settings_keys(settings_cls: type) -> set[str]:
    """Every variable name (lower case) a pydantic-settings class reads."""
    prefix = (getattr(settings_cls, "model_config", {}).get("env_prefix") or "").lower()
    known = set()
    for name, info in settings_cls.model_fields.items():
        known.add((prefix + name).lower())
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                known.add(alias.lower())
            elif alias is not None and hasattr(alias, "choices"):
                known.update(str(c).lower() for c in alias.choices if isinstance(c, str))
    return known


def check_env_against_settings(block: Block, settings_cls: type, path: Path) -> None:
    known = settings_keys(settings_cls)
    for offset, raw in enumerate(block.code.splitlines(), start=1):
        match = ENV_LINE.match(raw.strip())
        if match and match.group(1).lower() not in known:
            raise BlockFailure(
                f"{block.rel}:{block.line + offset}: {match.group(1)} is not read by "
                f"{settings_cls.__name__} (it reads: {', '.join(sorted(known))})"
            )
    # Judge the file alone: variables the class would read from the environment are hidden.
    hidden = {k: os.environ.pop(k) for k in list(os.environ) if k.lower() in known}
    try:
        settings_cls(_env_file=str(path))
    except Exception as exc:
        raise BlockFailure(
            f"{block.where}: {settings_cls.__name__} rejects these values: {exc}"
        ) from None
    finally:
        os.environ.update(hidden)
