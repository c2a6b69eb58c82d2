"""Python code that loses data, read from its syntax tree: metadata.drop_all (called or
handed to run_sync), Table.drop(), SQL that loses data handed to execute() and friends,
Core delete()/update() with no where(), query(...).delete()/update() with no filter, a
database file removed, and shell commands run through subprocess or os.system (judged as
commands). Code that does not parse is read as SQL text."""

from __future__ import annotations

import ast

from . import sql

SQL_CALLS = {
    "execute",
    "exec_driver_sql",
    "executescript",
    "executemany",
    "text",
    "fetch",
    "fetchrow",
    "fetchval",
    "exec",
}
FILTERS = {"where", "filter", "filter_by", "whereclause"}
RUNNERS = {
    "run",
    "call",
    "check_call",
    "check_output",
    "Popen",
    "system",
    "getoutput",
    "getstatusoutput",
    "create_subprocess_exec",
    "create_subprocess_shell",
}
REMOVERS = {"remove", "unlink", "rmtree"}


def data_loss(code: str, judge_command) -> str | None:
    """Why running `code` loses data, or None. `judge_command(words | text)` judges a shell
    command the code runs."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        found = sql.data_loss(code)
        return f"runs `{short(found)}`" if found else None
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    for node in ast.walk(tree):
        reason = judge_node(node, parents, judge_command)
        if reason:
            return f"line {getattr(node, 'lineno', '?')}: {reason}"
    return None


def judge_node(node: ast.AST, parents: dict, judge_command) -> str | None:
    if isinstance(node, ast.Attribute) and node.attr == "drop_all":
        return "metadata.drop_all drops every table it knows, with its rows"
    if not isinstance(node, ast.Call):
        return None
    name = call_name(node)
    if name in SQL_CALLS:
        text = string_value(node.args[0]) if node.args else None
        found = sql.data_loss(text) if text else None
        if found:
            return f"runs `{short(found)}`"
    if name == "drop" and is_table(node):
        return "Table.drop() drops the table with its rows"
    if name in ("delete", "update") and isinstance(node.func, ast.Name) and node.args:
        if not chained(node, parents, FILTERS):
            return f"{name}({unparse(node.args[0])}) with no where() {verb(name)} every row"
    if name in ("delete", "update") and isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        if isinstance(receiver, ast.Call) and call_name(receiver) == "query":
            if not chained_below(receiver, FILTERS):
                return f"query(...).{name}() with no filter {verb(name)} every row"
    if name in RUNNERS and node.args:
        argument = node.args[0]
        words = string_list(argument)
        if words is not None:
            return judge_command(words)
        text = string_value(argument)
        if text is not None:
            return judge_command(text)
    if name in REMOVERS:
        target = string_value(node.args[0]) if node.args else None
        if target is None and isinstance(node.func, ast.Attribute):
            receiver = node.func.value  # Path("app.db").unlink()
            if isinstance(receiver, ast.Call) and receiver.args:
                target = string_value(receiver.args[0])
        if target is not None:
            return judge_command(["rm", "-rf", target])
    return None


def verb(name: str) -> str:
    return "deletes" if name == "delete" else "overwrites"


def call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def is_table(call: ast.Call) -> bool:
    """x.__table__.drop(engine), users_table.drop(engine), metadata.tables["t"].drop(...):
    not pandas' df.drop("column")."""
    func = call.func
    if not isinstance(func, ast.Attribute) or any(string_value(a) is not None for a in call.args):
        return False
    receiver = func.value
    if isinstance(receiver, ast.Attribute) and receiver.attr == "__table__":
        return True
    if isinstance(receiver, ast.Subscript):
        return isinstance(receiver.value, ast.Attribute) and receiver.value.attr == "tables"
    return isinstance(receiver, ast.Name) and receiver.id.lower().endswith("table")


def chained(node: ast.AST, parents: dict, names: set[str]) -> bool:
    """Whether a method in `names` is called on the chain built from `node`."""
    current = node
    while True:
        parent = parents.get(id(current))
        if isinstance(parent, ast.Attribute) and parent.value is current:
            if parent.attr in names:
                return True
            grand = parents.get(id(parent))
            if isinstance(grand, ast.Call) and grand.func is parent:
                current = grand
                continue
        return False


def chained_below(node: ast.AST, names: set[str]) -> bool:
    """Whether `node` is built on a call to one of `names` (query(X).filter(...))."""
    current = node
    while isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
        if current.func.attr in names:
            return True
        current = current.func.value
    return False


def string_value(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    if isinstance(node, ast.Call) and node.args:  # text("..."), sa.text("...")
        if call_name(node) == "text":
            return string_value(node.args[0])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = string_value(node.left), string_value(node.right)
        if left is not None or right is not None:
            return (left or "") + (right or "")
    return None


def string_list(node: ast.AST) -> list[str] | None:
    if isinstance(node, (ast.List, ast.Tuple)):
        words = [string_value(element) for element in node.elts]
        if words and all(w is not None for w in words):
            return words
    return None


def unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except AttributeError:  # Python 3.8
        return getattr(node, "id", getattr(node, "attr", "..."))


def short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
