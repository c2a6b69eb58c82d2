"""Which SQL statements lose data, read by their grammar: statements split at top-level
semicolons, comments and quoted text set aside, CTEs and DO blocks looked into.

Data is lost by: DROP of an object that holds rows (TABLE, SCHEMA, DATABASE, MATERIALIZED
VIEW, OWNED) or any DROP ... CASCADE; TRUNCATE; DELETE or UPDATE without a WHERE (or with
one that is always true); ALTER TABLE ... DROP [COLUMN] c (not a constraint, default,
index or NOT NULL). EXPLAIN runs its statement only with ANALYZE.
"""

from __future__ import annotations

HOLDS_ROWS = {"TABLE", "SCHEMA", "DATABASE", "OWNED", "MATERIALIZED", "TABLES", "PARTITION"}
KEPT = {
    "CONSTRAINT",
    "DEFAULT",
    "NOT",
    "INDEX",
    "KEY",
    "PRIMARY",
    "FOREIGN",
    "CHECK",
    "IDENTITY",
    "EXPRESSION",
    "UNIQUE",
    "TRIGGER",
    "STATISTICS",
}
ALWAYS_TRUE = {("1",), ("TRUE",), ("1", "=", "1"), ("'1'", "=", "'1'"), ("1", "<>", "0")}


def statements(sql: str) -> list[list[tuple[str, int, str]]]:
    """Each statement as its tokens: (UPPER word or symbol, paren depth, original)."""
    found: list[list[tuple[str, int, str]]] = []
    current: list[tuple[str, int, str]] = []
    depth, i, n = 0, 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c in "'\"`":
            end = i + 1
            while end < n and sql[end] != c:
                end += 2 if sql[end] == "\\" and c == "'" else 1
            if c == "'":
                current.append(("'", depth, sql[i : end + 1]))
            else:  # a quoted name
                current.append(("NAME", depth, sql[i + 1 : end]))
            i = end + 1
        elif c == "$" and dollar_tag(sql, i):
            tag = dollar_tag(sql, i)
            end = sql.find(tag, i + len(tag))
            end = n if end < 0 else end
            current.append(("$$", depth, sql[i + len(tag) : end]))
            i = end + len(tag)
        elif c == ";":
            if current:
                found.append(current)
            current, depth = [], 0
            i += 1
        elif c == "(":
            current.append(("(", depth, c))
            depth += 1
            i += 1
        elif c == ")":
            depth = max(depth - 1, 0)
            current.append((")", depth, c))
            i += 1
        elif c.isalnum() or c == "_":
            end = i
            while end < n and (sql[end].isalnum() or sql[end] in "_.$"):
                end += 1
            current.append((sql[i:end].upper(), depth, sql[i:end]))
            i = end
        else:
            end = i + 1
            while end < n and sql[end] in "<>=!":
                end += 1
            current.append((sql[i:end], depth, sql[i:end]))
            i = end
    if current:
        found.append(current)
    return found


def dollar_tag(sql: str, i: int) -> str:
    end = i + 1
    while end < len(sql) and (sql[end].isalnum() or sql[end] == "_"):
        end += 1
    if end < len(sql) and sql[end] == "$" and not sql[i + 1 : end][:1].isdigit():
        return sql[i : end + 1]
    return ""


def data_loss(sql: str) -> str | None:
    """The first statement of `sql` that loses data, as written; None when none does."""
    for tokens in statements(sql):
        if losing(tokens, 0):
            return " ".join(original for _, _, original in tokens)
    return None


def losing(tokens: list[tuple[str, int, str]], depth: int) -> bool:
    words = [t for t in tokens if t[1] == depth]
    if not words:
        return False
    first = words[0][0]
    if first in ("BEGIN", "START", "COMMIT", "END") and len(words) == 1:
        return False
    if first == "EXPLAIN":  # runs the statement only with ANALYZE
        rest, analyze = tokens[1:], False
        if rest and rest[0][0] == "(":
            close = next((k for k, t in enumerate(rest) if t[0] == ")" and t[1] == depth), 0)
            analyze = any(w in ("ANALYZE", "ANALYSE") for w, _, _ in rest[:close])
            rest = rest[close + 1 :]
        while rest and rest[0][0] in ("ANALYZE", "ANALYSE", "VERBOSE"):
            analyze = analyze or rest[0][0] != "VERBOSE"
            rest = rest[1:]
        return analyze and losing(rest, depth)
    if first == "WITH":
        return any(losing(body, depth + 1) for body in cte_bodies(tokens, depth)) or losing(
            main_after_ctes(tokens, depth), depth
        )
    if first == "DO":
        return any(w == "$$" and data_loss(original) for w, _, original in tokens)
    if first == "TRUNCATE":
        return True
    if first == "DROP":
        kinds = {w for w, d, _ in words[1:3] if d == depth}
        return bool(kinds & HOLDS_ROWS) or words[-1][0] == "CASCADE"
    if first in ("DELETE", "UPDATE"):
        return unfiltered(words)
    if first == "ALTER" and len(words) > 1 and words[1][0] == "TABLE":
        return alter_drops(words)
    return False


def cte_bodies(tokens: list, depth: int) -> list[list]:
    bodies, current, inside = [], [], False
    for token in tokens:
        if token[1] == depth and token[0] == "(" and not inside:
            inside, current = True, []
        elif token[1] == depth and token[0] == ")" and inside:
            inside = False
            bodies.append(current)
        elif inside:
            current.append(token)
    return bodies


def main_after_ctes(tokens: list, depth: int) -> list:
    """The statement after the last CTE: the first top-level word after a ) that is not
    `,` or AS."""
    last = 0
    for index, token in enumerate(tokens):
        if token[1] == depth and token[0] == ")":
            last = index + 1
    rest = tokens[last:]
    while rest and rest[0][0] in (",",):
        rest = rest[1:]
    return rest


def unfiltered(words: list[tuple[str, int, str]]) -> bool:
    names = [w for w, _, _ in words]
    if "WHERE" not in names:
        return True
    condition = names[names.index("WHERE") + 1 :]
    for stop in ("RETURNING", "LIMIT", "ORDER"):
        if stop in condition:
            condition = condition[: condition.index(stop)]
    return tuple(condition) in ALWAYS_TRUE


def alter_drops(words: list[tuple[str, int, str]]) -> bool:
    """ALTER TABLE [ONLY] [IF EXISTS] name action [, action ...]: an action DROP that is not
    of a constraint, default, index or key drops a column (or a partition) with its data."""
    names = [w for w, _, _ in words]
    i = 2
    while i < len(names) and names[i] in ("ONLY", "IF", "EXISTS"):
        i += 1
    actions, current = [], []
    for name in names[i + 1 :]:
        if name == ",":
            actions.append(current)
            current = []
        else:
            current.append(name)
    actions.append(current)
    return any(len(a) > 1 and a[0] == "DROP" and a[1] not in KEPT for a in actions)
