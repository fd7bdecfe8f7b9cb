"""Which XNNPACK subgraph node each timed operator ran, so it can be named by module.

The runtime's operator events carry no debug handle (XNNPACK's preprocess returns an empty
debug-handle map), only names such as "Convolution (NHWC, F32) IGEMM #3". XNNPACK creates its
operators in node order, but not one per node: it fuses some nodes away (a clamp into the operator
before it; an int8 hardswish with the converts around it) and splits others (an fp16 add with
output bounds becomes an add and a clamp). So operators and nodes are aligned as sequences, by
type, at the least cost (an edit distance), never by index.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnv3_sdk.pte.xnnpack_graph import XnnNode

# Node kind (schema.fbs, without "XNN") → the names XNNPACK gives the operators it runs for it.
# A 1×1 convolution over a 1×1 input (squeeze-excite) and a pointwise int8 convolution run as
# fully connected operators; a global average pooling runs as a mean.
OPERATORS_OF_KIND = {
    "Conv2d": ("Convolution", "Fully Connected"),
    "DepthwiseConv2d": ("Convolution",),
    "FullyConnected": ("Fully Connected",),
    "Div": ("Divide",),
    "Hardswish": ("HardSwish",),
    "GlobalAvgPooling2d": ("Mean", "Global Average Pooling"),
    "AvgPooling2d": ("Average Pooling",),
    "MaxPooling2d": ("Max Pooling",),
    "StaticTranspose": ("Transpose",),
    "StaticReshape": ("Static Reshape", "Copy"),
    "Softmax": ("SoftMax", "Softmax"),
}
# XNNPACK 0.0 names some quantized unary operators "Invalid Unary Op" (the int8 hardswish it
# fuses with the converts around it): it may stand for any of these, a hardswish first.
UNNAMED_UNARY = "Invalid Unary Op"
UNARY_KINDS = {"Hardswish": 0.5, "Sigmoid": 0.5, "Tanh": 0.5, "ELU": 0.5, "LeakyReLU": 0.5, "Abs": 0.5,
               "Negate": 0.5, "Square": 0.5, "SquareRoot": 0.5, "Clamp": 0.6, "Convert": 0.6}
SKIP_NODE = 1.0  # a node fused into a neighbour's operator
# A further operator for the node before: of its own type, or a clamp or convert XNNPACK adds
# after it (an fp16 add with output bounds runs as add + clamp); any other type costs more.
SPLIT = 1.0
SPLIT_OPERATORS = ("Clamp", "Convert", "Copy", "Transpose")
SPLIT_UNRELATED = 2.5
MISMATCH = 3.0  # an operator whose type fits no node: assigned by position, and counted


@dataclass(frozen=True)
class Alignment:
    """``node_of[k]``: the index of the node operator k ran for; and how the two sequences met."""

    node_of: list[int]
    matched: int  # operators whose type fits their node
    split: int  # further operators of a node that already had one
    mismatched: int  # operators placed by position only
    fused: int  # nodes no operator ran for

    def describe(self, operators: int, nodes: int) -> str:
        text = f"{operators} operators on {nodes} nodes: {self.matched} matched by type"
        parts = [f"{self.fused} nodes fused into a neighbour" if self.fused else "",
                 f"{self.split} operators split from the node before" if self.split else "",
                 f"{self.mismatched} placed by position only" if self.mismatched else ""]
        return ", ".join([text, *[part for part in parts if part]])


def operator_type(name: str) -> str:
    """"Convolution (NHWC, F32) IGEMM #3" → "Convolution (NHWC, F32) IGEMM"."""
    head, separator, count = name.rpartition(" #")
    return head if separator and count.isdigit() else name


def match_cost(operator: str, node: XnnNode) -> float | None:
    """0 when ``operator`` is what XNNPACK runs for ``node``; a little more for a guess; None when not."""
    names = OPERATORS_OF_KIND.get(node.kind, (node.kind,))
    if operator.startswith(names) or operator.lower().replace(" ", "").startswith(node.kind.lower()):
        return 0.0
    if operator.startswith(UNNAMED_UNARY):
        return UNARY_KINDS.get(node.kind)
    return None


def split_cost(operator: str, node: XnnNode) -> float:
    """The cost of ``operator`` being a further operator of ``node``, which already has one."""
    return SPLIT if operator.startswith(SPLIT_OPERATORS) or match_cost(operator, node) is not None else SPLIT_UNRELATED


def align(operators: list[str], nodes: list[XnnNode]) -> Alignment:
    """The least-cost alignment of ``operators`` (types, in run order) with ``nodes`` (in serialized
    order): each operator matches a node, or is a further operator of the node before (split);
    nodes no operator matched were fused away."""
    rows, columns = len(operators), len(nodes)
    infinity = float("inf")
    cost = [[infinity] * (columns + 1) for _ in range(rows + 1)]
    step: list[list[str]] = [[""] * (columns + 1) for _ in range(rows + 1)]
    cost[0] = [column * SKIP_NODE for column in range(columns + 1)]
    step[0] = ["skip"] * (columns + 1)
    for row in range(1, rows + 1):
        for column in range(1, columns + 1):
            fit = match_cost(operators[row - 1], nodes[column - 1])
            choices = [(cost[row - 1][column - 1] + (MISMATCH if fit is None else fit), "match"),
                       (cost[row][column - 1] + SKIP_NODE, "skip"),
                       (cost[row - 1][column] + split_cost(operators[row - 1], nodes[column - 1]), "split")]
            cost[row][column], step[row][column] = min(choices)
    return _trace(operators, nodes, step)


def _trace(operators: list[str], nodes: list[XnnNode], step: list[list[str]]) -> Alignment:
    row, column = len(operators), len(nodes)
    node_of = [-1] * len(operators)
    matched = split = mismatched = 0
    used = set()
    while row > 0:
        if column == 0:  # operators before any node (an empty subgraph): nothing to name them by
            row -= 1
            mismatched += 1
            continue
        kind = step[row][column]
        if kind == "skip":
            column -= 1
            continue
        node_of[row - 1] = column - 1
        used.add(column - 1)
        if kind == "split":
            split += 1
        elif match_cost(operators[row - 1], nodes[column - 1]) is None:
            mismatched += 1
        else:
            matched += 1
        row -= 1
        column -= 1 if kind == "match" else 0
    return Alignment(node_of, matched, split, mismatched, len(nodes) - len(used))
