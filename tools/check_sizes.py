"""Size gate: no module over 500 lines, no function over 60 lines (docstring not counted).

Why a script: ruff has no function-length rule; long modules and functions are where the god modules
came from, so CI refuses new ones. Prints each offender and exits 1 when there is one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
ROOTS = ("core", "app", "pages")


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        body = body[1:]  # the docstring says why; it is not code
    if not body:
        return 0
    return (node.end_lineno or node.lineno) - body[0].lineno + 1


def offenders(root: Path) -> list[str]:
    out: list[str] = []
    for top in ROOTS:
        for path in sorted((root / top).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            rel = path.relative_to(root)
            n = text.count("\n")
            if n > MAX_MODULE_LINES:
                out.append(f"{rel}: {n} lines (max {MAX_MODULE_LINES})")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    size = _body_lines(node)
                    if size > MAX_FUNCTION_LINES:
                        out.append(f"{rel}:{node.lineno} {node.name}: {size} lines (max {MAX_FUNCTION_LINES})")
    return out


def main() -> int:
    found = offenders(Path(__file__).resolve().parents[1])
    for line in found:
        print(line)
    print(f"size gate: {len(found)} offender(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
