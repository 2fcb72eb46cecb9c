"""The small expression language of the `derive` step, compiled to pyarrow.compute calls (never eval).

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := number | 'text' | "text" | column | function "(" [expression ("," expression)*] ")"
                  | "(" expression ")"

Functions: upper(x), lower(x), concat(x, ...), round(x[, digits]), abs(x), year(d), month(d), day(d).
Arithmetic needs numbers and is checked (an integer overflow stops the run); "/" always divides as floating
point and gives NULL when dividing by zero; decimals are added and subtracted exactly, multiplied and divided
as floating point. concat() reads NULL as empty text. round() rounds half away from zero.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _

from pipelines.transformations.parsing import is_numeric, is_text, parse_values

MAX_LENGTH = 2000
MAX_DEPTH = 50
FUNCTIONS = {"upper": (1, 1), "lower": (1, 1), "concat": (1, 64), "round": (1, 2), "abs": (1, 1),
             "year": (1, 1), "month": (1, 1), "day": (1, 1)}
_TOKEN = re.compile(r"""\s*(?:
    (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>[-+*/(),])
)""", re.VERBOSE)


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class Number:
    value: int | float


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Column:
    name: str


@dataclass(frozen=True)
class Unary:
    operand: object


@dataclass(frozen=True)
class Binary:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple


def tokenize(source: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(source):
        if source[position:].strip() == "":
            break
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            at = len(source) - len(source[position:].lstrip())
            raise ExpressionError(_("unexpected character \"%(char)s\" at position %(pos)d.")
                                  % {"char": source[at], "pos": at + 1})
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, source: str):
        self.tokens = tokenize(source)
        self.at = 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ExpressionError(_("the expression ends too early."))
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise ExpressionError(_("expected \"%(want)s\" at position %(pos)d, found \"%(got)s\".")
                                  % {"want": text, "pos": token.position + 1, "got": token.text})

    def parse(self):
        node = self.expression()
        token = self.peek()
        if token is not None:
            raise ExpressionError(_("unexpected \"%(text)s\" at position %(pos)d.")
                                  % {"text": token.text, "pos": token.position + 1})
        return node

    def expression(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(_("the expression is nested too deeply."))
        node = self.term()
        while (token := self.peek()) is not None and token.text in "+-" and token.kind == "op":
            self.take()
            node = Binary(token.text, node, self.term())
        self.depth -= 1
        return node

    def term(self):
        node = self.unary()
        while (token := self.peek()) is not None and token.kind == "op" and token.text in "*/":
            self.take()
            node = Binary(token.text, node, self.unary())
        return node

    def unary(self):
        token = self.peek()
        if token is not None and token.kind == "op" and token.text == "-":
            self.take()
            return Unary(self.unary())
        return self.primary()

    def primary(self):
        token = self.take()
        if token.kind == "number":
            value = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            return Number(value)
        if token.kind == "string":
            quote = token.text[0]
            return Text(token.text[1:-1].replace(quote * 2, quote))
        if token.kind == "name":
            following = self.peek()
            if following is not None and following.text == "(":
                return self.call(token)
            return Column(token.text)
        if token.text == "(":
            node = self.expression()
            self.expect(")")
            return node
        raise ExpressionError(_("unexpected \"%(text)s\" at position %(pos)d.")
                              % {"text": token.text, "pos": token.position + 1})

    def call(self, name: Token) -> Call:
        function = name.text.lower()
        if function not in FUNCTIONS:
            raise ExpressionError(_("unknown function \"%(name)s\" at position %(pos)d; functions: %(names)s.")
                                  % {"name": name.text, "pos": name.position + 1, "names": ", ".join(FUNCTIONS)})
        self.expect("(")
        args = []
        if self.peek() is not None and self.peek().text != ")":
            args.append(self.expression())
            while self.peek() is not None and self.peek().text == ",":
                self.take()
                args.append(self.expression())
        self.expect(")")
        low, high = FUNCTIONS[function]
        if not low <= len(args) <= high:
            raise ExpressionError(_("%(name)s() takes %(count)s argument(s), got %(got)d.") % {
                "name": function, "count": str(low) if low == high else f"{low}-{high}", "got": len(args)})
        if function == "round" and len(args) == 2 and _integer_literal(args[1]) is None:
            raise ExpressionError(_("round(): the number of digits must be a whole number, e.g. round(amount, 2)."))
        return Call(function, tuple(args))


def _integer_literal(node) -> int | None:
    if isinstance(node, Number) and isinstance(node.value, int):
        return node.value
    if isinstance(node, Unary) and isinstance(node.operand, Number) and isinstance(node.operand.value, int):
        return -node.operand.value
    return None


def parse(source: str):
    """The syntax tree of `source`; ExpressionError with the position of the problem."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError(_("the expression is empty."))
    if len(source) > MAX_LENGTH:
        raise ExpressionError(_("the expression is longer than %(max)d characters.") % {"max": MAX_LENGTH})
    return _Parser(source).parse()


def columns_of(node) -> list[str]:
    """Column names the expression reads, in order of first use."""
    found: list[str] = []

    def walk(n):
        if isinstance(n, Column) and n.name not in found:
            found.append(n.name)
        for child in (n.operand,) if isinstance(n, Unary) else (n.left, n.right) if isinstance(n, Binary) else \
                n.args if isinstance(n, Call) else ():
            walk(child)

    walk(node)
    return found


def evaluate(node, table: pa.Table):
    """An Arrow array (or scalar, for a constant expression) computed from `table`'s columns."""
    try:
        return _evaluate(node, table)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ExpressionError(str(exc).split("\n")[0]) from exc


def _type(value) -> pa.DataType:
    return value.type


def _describe(node) -> str:
    return f"\"{node.name}\"" if isinstance(node, Column) else _("this operand")


def _number(value, node):
    if not is_numeric(_type(value)):
        raise ExpressionError(_("%(what)s is %(type)s, not a number; arithmetic needs numbers (join text with "
                                "concat()).") % {"what": _describe(node), "type": _type(value)})
    return value


def _float(value):
    return pc.cast(value, pa.float64())


def _evaluate(node, table):
    if isinstance(node, Number):
        return pa.scalar(node.value, pa.int64() if isinstance(node.value, int) else pa.float64())
    if isinstance(node, Text):
        return pa.scalar(node.value, pa.string())
    if isinstance(node, Column):
        if node.name not in table.column_names:
            raise ExpressionError(_("unknown column \"%(name)s\".") % {"name": node.name})
        return table.column(node.name)
    if isinstance(node, Unary):
        return pc.negate_checked(_number(_evaluate(node.operand, table), node.operand))
    if isinstance(node, Binary):
        left = _number(_evaluate(node.left, table), node.left)
        right = _number(_evaluate(node.right, table), node.right)
        return _arithmetic(node.op, left, right)
    return _call(node, [_evaluate(arg, table) for arg in node.args])


def _arithmetic(op, left, right):
    decimal = pa.types.is_decimal(_type(left)) or pa.types.is_decimal(_type(right))
    if op in "+-" and decimal:
        try:  # exact, with one digit of headroom (decimal128(38, 9) + decimal128(38, 9) needs precision 39)
            narrow = [pc.cast(v, pa.decimal128(37, 9)) if pa.types.is_decimal(_type(v)) else v for v in (left, right)]
            return (pc.add_checked if op == "+" else pc.subtract_checked)(*narrow)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            left, right = _float(left), _float(right)
    if op == "+":
        return pc.add_checked(left, right)
    if op == "-":
        return pc.subtract_checked(left, right)
    if op == "*":
        if decimal:
            left, right = _float(left), _float(right)
        return pc.multiply_checked(left, right)
    left, right = _float(left), _float(right)
    quotient = pc.divide(left, right)
    return pc.if_else(pc.equal(right, 0.0), pa.scalar(None, pa.float64()), quotient)


def _text(value):
    return value if is_text(_type(value)) else pc.cast(value, pa.string())


def _dates(value):
    kind = _type(value)
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return value
    if is_text(kind) and not isinstance(value, pa.Scalar):
        return parse_values(value, "date").values
    raise ExpressionError(_("year(), month() and day() need a date, got %(type)s.") % {"type": kind})


def _call(node: Call, args):
    function = node.function
    if function == "upper":
        return pc.utf8_upper(_text(args[0]))
    if function == "lower":
        return pc.utf8_lower(_text(args[0]))
    if function == "concat":
        return pc.binary_join_element_wise(*[_text(a) for a in args], "", null_handling="replace",
                                           null_replacement="")
    if function == "round":
        digits = _integer_literal(node.args[1]) if len(node.args) == 2 else 0
        return pc.round(_number(args[0], node.args[0]), ndigits=digits, round_mode="half_towards_infinity")
    if function == "abs":
        return pc.abs_checked(_number(args[0], node.args[0]))
    extract = {"year": pc.year, "month": pc.month, "day": pc.day}[function]
    return extract(_dates(args[0]))
