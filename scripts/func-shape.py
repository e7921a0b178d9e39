#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check the shape of the C functions of the module: at most MAX_LINES
lines from the opening to the closing brace, and statements at most
MAX_DEPTH levels of indentation deep (a function's body is level 1;
continuation lines of a statement do not count). Prints each function
over either limit and exits 1 if there is one; with -v, every function.

usage: scripts/func-shape.py [-v] FILE.c...
"""
import re
import sys

MAX_LINES = 40
MAX_DEPTH = 3

# A line that ends a statement or opens/closes a block: the next line
# starts a new statement.
ENDS = re.compile(r'([;{}:]|\*/)\s*$|^\s*#')


def functions(path):
    """Yield (name, first line, body lines) for each function in @path."""
    lines = open(path, encoding='utf-8').read().split('\n')
    i = 0
    while i < len(lines):
        if lines[i] == '{' and i > 0:
            j = i - 1
            while j > 0 and not re.search(r'\w+\s*\(', lines[j]):
                j -= 1
            m = re.search(r'(\w+)\s*\(', lines[j])
            end = lines.index('}', i)
            yield m.group(1) if m else '?', i + 1, lines[i:end + 1]
            i = end
        i += 1


def depth(body):
    """The deepest indentation of a statement's first line, in tabs."""
    deepest, new_statement = 0, True
    for line in body[1:-1]:
        stripped = line.strip()
        if not stripped:
            continue
        if new_statement and not stripped.startswith(('/*', '*')):
            tabs = len(line) - len(line.lstrip('\t'))
            # A case label is written one level out.
            deepest = max(deepest, tabs)
        new_statement = bool(ENDS.search(line)) or stripped.startswith(
            ('if ', 'else', 'for ', 'while ', 'do', 'case ', 'default'))
        if stripped.endswith(')') and re.match(r'(if|for|while)\b', stripped):
            new_statement = True
    return deepest


def main(argv):
    verbose = '-v' in argv
    bad = 0
    for path in [a for a in argv if a != '-v']:
        for name, line, body in functions(path):
            n, d = len(body), depth(body)
            over = n > MAX_LINES or d > MAX_DEPTH
            if over or verbose:
                print(f'{path}:{line}: {name}: {n} lines, depth {d}'
                      + (' (over)' if over else ''))
            bad += over
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
