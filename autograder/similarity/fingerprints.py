"""Code as normalised tokens, and its winnowed k-gram fingerprints.

Two copies of one piece of code give the same tokens whatever was renamed or reformatted:
comments, blank lines, line breaks and indentation are dropped, and so are docstrings
(any statement that is only a string). A name becomes ``V`` unless it is a keyword, an
attribute (``.clamp_min``, ``.g``), one of Python's builtins (``range``, ``zip``) or a name
the course imports (``torch``, ``math``, ``F``): a copy renames its own variables, never the
library calls it copied. Other strings become ``S`` (an einsum's letters are as easy to
change as a name); numbers are kept by value (``2.`` and ``2.0`` are one token).

A k-gram is K consecutive tokens; its hash is stable across processes and runs (each
token's CRC-32, then the tuple's hash, which CPython does not randomise for integers).
Winnowing (Schleimer, Wilkerson and Aiken, SIGMOD 2003, the method of MOSS) keeps the
smallest hash of every window of W consecutive k-grams: two pieces of code that share a run
of K + W - 1 tokens share a fingerprint, and about 2 / (W + 1) of the k-grams are kept.

Why not ``copydetect`` (the maintained winnowing package on PyPI, 0.5.0): it turns every name
into ``V``, library calls too (``torch.einsum(a, b)`` and ``torch.matmul(a, b)`` both become
``V.V(V,V)``), so independent answers look alike; it compares every pair of files (no index:
on 200 synthetic students, 8 ms a pair, 170 s for the 19,900 pairs, after 21 s of
fingerprints), hashes with Python's per-process ``hash()`` of strings, and importing it loads
matplotlib's pyplot (1 s). What is needed here is small: ``tokenize`` and the winnowing below.
"""
from __future__ import annotations

import builtins
import functools
import io
import keyword
import textwrap
import tokenize
import zlib
from collections import deque

from autograder.reading import cells as cell_rules

K = 12  # tokens per k-gram: below this, code is too generic to tell copies from convergence
W = 5  # k-grams per winnowing window: a shared run of K + W - 1 = 16 tokens is always seen
BUILTINS = frozenset(dir(builtins))
_NEVER = 2**64  # above every hash: a position winnowing must not select
_LAYOUT = {tokenize.NL, tokenize.ENCODING}  # dropped first; NEWLINE, INDENT, DEDENT still tell a docstring
_STRUCTURE = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}  # never tokens of their own
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12 splits f-strings
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


def _number(text: str) -> str:
    try:
        value = float(text.replace("_", ""))
    except ValueError:  # complex, or an integer too large for a float
        return text
    return repr(value)


@functools.lru_cache(maxsize=8192)  # students who wrote the same code (the course's) pay once
def tokens(source: str, library: frozenset[str] = frozenset()) -> tuple[tuple[str, int], ...]:
    """The normalised tokens of ``source`` with the line each starts on (as in ``source``).

    Never raises: code that does not tokenize to the end gives the tokens before the error.
    ``library``: names kept as written besides the builtins (the modules the course imports).
    """
    source = textwrap.dedent(cell_rules.strip_magics(source))  # a method's lines, IPython magics
    raw: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type not in _LAYOUT:
                raw.append(token)
    except (tokenize.TokenError, SyntaxError, ValueError):  # unterminated code: what came before counts
        pass
    result: list[tuple[str, int]] = []
    in_fstring = 0
    for index, token in enumerate(raw):
        kind, text, line = token.type, token.string, token.start[0]
        if kind == tokenize.COMMENT or kind == tokenize.STRING and _statement(raw, index):
            continue
        if kind == _FSTRING_START:
            in_fstring += 1
            if in_fstring == 1:
                result.append(("S", line))
        elif kind == _FSTRING_END:
            in_fstring -= 1
        elif in_fstring:
            continue
        elif kind == tokenize.NAME:
            kept = keyword.iskeyword(text) or text in BUILTINS or text in library or \
                index and raw[index - 1].string == "."
            result.append((text if kept else "V", line))
        elif kind == tokenize.STRING:
            result.append(("S", line))
        elif kind == tokenize.NUMBER:
            result.append((_number(text), line))
        elif kind not in _STRUCTURE and text != ";":  # a semicolon is a line break
            result.append((text, line))
    return tuple(result)


def _statement(raw: list[tokenize.TokenInfo], index: int) -> bool:
    """Whether the string at ``index`` is a statement of its own (a docstring): it starts a
    line of code (after a NEWLINE, INDENT or DEDENT) and the line ends after it (implicitly
    concatenated strings included)."""
    before = index - 1
    while before >= 0 and raw[before].type == tokenize.COMMENT:
        before -= 1
    if before >= 0 and raw[before].type not in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
        return False
    end = index + 1
    while end < len(raw) and raw[end].type in (tokenize.STRING, tokenize.COMMENT):
        end += 1
    return end == len(raw) or raw[end].type in (tokenize.NEWLINE, tokenize.ENDMARKER) or raw[end].string == ";"


def kgram_hashes(texts: list[str], k: int = K, starts: tuple[int, ...] = ()) -> list[int | None]:
    """The hash of every k-gram of the token texts, by position (none when fewer than k).

    ``starts``: where each statement's tokens begin; a k-gram that spans two statements is
    ``None``, so that code in another order (the classes of a task, written in another
    order of cells) gives the same k-grams."""
    ids = [zlib.crc32(text.encode("utf-8")) for text in texts]
    hashes: list[int | None] = [hash(tuple(ids[i:i + k])) for i in range(len(ids) - k + 1)]
    for start in starts:
        for position in range(max(0, start - k + 1), min(start, len(hashes))):
            hashes[position] = None
    return hashes


def winnow(hashes: list[int | None], window: int = W) -> list[int]:
    """The positions winnowing selects: in each window of ``window`` hashes the smallest (the
    rightmost of equals), each position once. Code shorter than a window keeps its smallest.
    A ``None`` is never selected."""
    hashes = [_NEVER if value is None else value for value in hashes]
    if len(hashes) <= window:
        return [min(range(len(hashes)), key=lambda i: (hashes[i], -i))] if hashes else []
    selected: list[int] = []
    smallest: deque[int] = deque()  # positions in the window whose hashes increase: the first is the minimum
    for position, value in enumerate(hashes):
        while smallest and hashes[smallest[-1]] >= value:
            smallest.pop()
        smallest.append(position)
        if smallest[0] <= position - window:
            smallest.popleft()
        if position >= window - 1 and (not selected or selected[-1] != smallest[0]):
            selected.append(smallest[0])
    return [position for position in selected if hashes[position] != _NEVER]
