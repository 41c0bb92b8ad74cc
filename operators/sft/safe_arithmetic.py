"""Checking the arithmetic written in an answer (paper §4.1.1: wrong results in math data are cleaned
out), without ever evaluating text as code.

:func:`equations` finds ``<expression> = <number>`` where the expression is numbers joined by ``+ - * /
× ÷`` and parentheses (thousands separators allowed, ``＝`` too). :func:`evaluate` parses the
expression with :mod:`ast` and computes it only if every node is a number, a unary sign or one of the
four operations: no names, calls, attributes or powers, numbers below 1e15, at most 200 characters.
A result is right when the computed value, rounded to the decimals the answer shows, equals it.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from typing import List, Optional

import regex

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_OPERAND = rf"[(\s]*-?(?:{_NUMBER})[)\s]*"
EQUATION = regex.compile(
    rf"(?<![\w.,/])(?P<lhs>{_OPERAND}(?:[-+*/×÷]{_OPERAND})+)\s*[=＝]\s*(?P<rhs>-?(?:{_NUMBER}))(?![\w.]*\d)"
)
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
MAX_CHARS = 200
MAX_VALUE = 1e15


@dataclass(frozen=True)
class Equation:
    expression: str
    stated: float
    computed: Optional[float]
    correct: bool


def _plain(number: str) -> str:
    return number.replace(",", "")


def evaluate(expression: str) -> Optional[float]:
    """The value of an arithmetic expression, or None if it is anything else (or divides by zero)."""
    text = _plain(expression).replace("×", "*").replace("÷", "/")
    if len(text) > MAX_CHARS:
        return None
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return None

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if abs(node.value) >= MAX_VALUE:
                raise ValueError("number too large")
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return -value(node.operand) if isinstance(node.op, ast.USub) else value(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            result = _OPS[type(node.op)](value(node.left), value(node.right))
            if abs(result) >= MAX_VALUE:
                raise ValueError("result too large")
            return result
        raise ValueError(f"not arithmetic: {type(node).__name__}")

    try:
        return value(tree)
    except (ValueError, ZeroDivisionError):
        return None


def equations(text: str) -> List[Equation]:
    found = []
    for match in EQUATION.finditer(text):
        computed = evaluate(match.group("lhs"))
        if computed is None:
            continue
        rhs = _plain(match.group("rhs"))
        stated = float(rhs)
        decimals = len(rhs.split(".")[1]) if "." in rhs else 0
        correct = abs(computed - stated) <= 0.5 * 10 ** -decimals + 1e-9 * max(1.0, abs(stated))
        found.append(Equation(match.group("lhs").strip(), stated, computed, correct))
    return found


__all__ = ["Equation", "equations", "evaluate"]
