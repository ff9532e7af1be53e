"""The parser's calculus rules in generic mode: Leibniz fractions, gradients, Hessians and limits.

They are methods of ``verify.notation_parser.Parser`` and call its grammar
(``sub_parse``, ``postfix``, ``juxtaposed``, ``term``, ``paren_args``).
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef

from verify.catalog import GENERIC_FUNCTIONS
from verify.latex_tokens import Token
from verify.notation_cursor import Cursor
from verify.notation_nodes import DerivativeAt, Partial
from verify.notation_values import _as_expr, _at_slots

#: The most arguments a Hessian is built for: its entries grow with the square of their number.
MAX_HESSIAN_ARGS = 8

class CalculusRules(Cursor):
    """``\\frac{dy}{dx}``, ``\\partial_x f``, ``\\nabla f(x, y)``, ``\\mathbf{H} f(x, y)``, ``\\lim_{h \\to 0}``."""

    def leibniz(self, num: list[Token], den: list[Token]) -> sp.Basic | None:
        """Leibniz notation in generic mode: ``\\frac{dy}{dx}``, ``\\frac{d^2 y}{dx^2}``, ``\\frac{d}{dx} E``."""
        marks = {"d", r"\partial"}
        if not (num and den and num[0].value in marks and den[0].value == num[0].value and len(den) > 1):
            return None
        order, body = 1, num[1:]
        if body and body[0].value == "^":
            if len(body) < 2 or body[1].kind != "num":
                return None
            order, body = int(body[1].value), body[2:]
        var_toks = den[1:]
        if len(var_toks) > 2 and var_toks[-2].value == "^":
            var_toks = var_toks[:-2]
        if order > 3:
            raise self.error("a derivative of order above 3")
        var = self.sub_parse(var_toks)
        if not isinstance(var, (sp.Symbol, sp.Indexed)):
            raise self.error("a derivative with respect to something that is not a name")
        operand = self.sub_parse(body) if body else self.juxtaposed()
        if body and self.at("(") and isinstance(operand, sp.Symbol):
            args = self.paren_args()  # \frac{dg}{dx}(x): the derivative of g, at the point in parentheses
            general = operand.name in GENERIC_FUNCTIONS or operand.name in self.context.functions
            simple = len(args) == 1 and isinstance(args[0], (sp.Symbol, sp.Number))
            if not (simple or general and not any(a.has(Partial, DerivativeAt) for a in args)):
                raise self.error("a derivative applied to an expression (an operator product)")
            if not isinstance(var, sp.Symbol):
                raise self.error("a derivative at a point with respect to an entry")
            return DerivativeAt(sp.Symbol(operand.name), var, sp.Integer(order), sp.Tuple(*args))
        value = operand
        for _ in range(order):
            value = Partial(value, var)
        return value

    def gradient(self, name: str) -> sp.Basic:
        """``\\partial_x f``, ``\\nabla_x f``, ``\\nabla f(x)`` (generic mode): a derivative of the operand."""
        var: sp.Basic | None = None
        if self.at("_"):
            self.next()
            var = self.sub_parse(self.script_group())
        operand = self.juxtaposed() if var is not None else self.postfix()  # \nabla_x of the whole product
        if var is None and name == "partial" and self.at("/") and self.peek(1).value == r"\partial":
            self.next()
            self.next()
            return Partial(operand, self.postfix())  # \partial L / \partial \mathbf{W}, written inline
        if var is None and isinstance(operand, AppliedUndef) and len(operand.args) == 1:
            var = operand.args[0]
        if var is None and isinstance(operand, AppliedUndef) and all(isinstance(a, sp.Symbol) for a in operand.args):
            return sp.ImmutableMatrix([Partial(operand, a) for a in operand.args])  # \nabla f(x, y): a column
        if var is None and isinstance(operand, AppliedUndef) and all(a.is_number for a in operand.args):
            return sp.ImmutableMatrix([_at_slots(operand, (k,)) for k in range(len(operand.args))])  # \nabla f(0, 0)
        if var is None:
            raise self.error(f"\\{name} without the variable it differentiates by")
        if not isinstance(var, (sp.Symbol, sp.Indexed)):
            raise self.error(f"\\{name} with respect to something that is not a name")
        return Partial(operand, var)

    def hessian_follows(self) -> bool:
        """Whether ``\\mathbf{H}`` (a name the notes leave free) is followed by a function applied to names."""
        nxt = self.peek()
        after = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
        return (self.context.generic and "H" not in self.context.functions and nxt.kind == "letter"
                and self.generic_callable(nxt.value) and after is not None and after.value == "(")

    def hessian(self) -> sp.Basic:
        """``\\mathbf{H}f(x, y)``: the matrix of f's second derivatives by its named arguments."""
        operand = self.postfix()
        if isinstance(operand, AppliedUndef) and len(operand.args) > MAX_HESSIAN_ARGS:
            raise self.error(f"a Hessian of more than {MAX_HESSIAN_ARGS} arguments (too large to decide)")
        if isinstance(operand, AppliedUndef) and all(a.is_number for a in operand.args):
            slots = range(len(operand.args))  # \mathbf{H} f(0, 0): second derivatives by the argument slots
            return sp.ImmutableMatrix([[_at_slots(operand, (a, b)) for b in slots] for a in slots])
        if not isinstance(operand, AppliedUndef) or not all(isinstance(a, sp.Symbol) for a in operand.args):
            raise self.error("a Hessian at a point, not at named arguments")
        names = operand.args
        return sp.ImmutableMatrix([[Partial(Partial(operand, a), b) for b in names] for a in names])

    def limit(self) -> sp.Basic:
        """``\\lim_{h \\to 0} body``: an unevaluated limit of the rest of the term."""
        if not self.at("_"):
            raise self.error("\\lim without a subscript")
        self.next()
        sub = self.script_group()
        arrow = next((k for k, t in enumerate(sub) if t.value in {r"\to", r"\rightarrow"}), None)
        if arrow is None or arrow == 0 or arrow == len(sub) - 1:
            raise self.error("\\lim subscript is not 'h \\to a'")
        point_toks = sub[arrow + 1:]
        direction = "+-"
        if len(point_toks) > 2 and point_toks[-2].value == "^" and point_toks[-1].value in {"+", "-"}:
            direction, point_toks = point_toks[-1].value, point_toks[:-2]
        var = self.sub_parse(sub[:arrow])
        point = self.sub_parse(point_toks)
        if not isinstance(var, sp.Symbol):
            raise self.error("\\lim over something that is not a name")
        body = self.term()
        return sp.Limit(_as_expr(body), var, point, dir=direction)
