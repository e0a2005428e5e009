#!/usr/bin/env python3
"""Reads a guest profile written by `ember run --profile FILE` (soft accelerator) and prints
where the guest's instructions went: per guest function through the guest's /proc/kallsyms,
or per translated block without it. Used by bench/guest-profile.sh.

  guest-profile.py PROFILE [--base BASE_PROFILE] [--kallsyms FILE] [--per N] [--top K]

PROFILE: '#' comment lines, then one 'ADDR COUNT' line per translated block: ADDR the guest
linear address where the block starts (hex), COUNT the guest instructions completed in it
since boot (decimal). --base subtracts an earlier snapshot of the same run per address and
drops what is not above zero. --kallsyms maps each address to the text symbol (types t T w W)
with the greatest address <= ADDR, named 'func [module]' for module symbols; kernel addresses
with no symbol at or below them go to '[kernel]', user addresses (below 0x800000000000) to
'[user]'. --per N divides the counts by N (e.g. the requests done). Prints the top K rows
(default 40; 0 for all) by count, percent of all counted instructions first, then a total.
Exit status 1, with the file and line named, for an unreadable file or a malformed line.
"""
import argparse
import bisect
import re
import sys

PROG = "guest-profile"
USER_LIMIT = 0x800000000000  # x86-64: canonical user addresses are below this
TEXT_TYPES = frozenset("tTwW")
PROFILE_LINE = re.compile(r"([0-9a-fA-F]+)[ \t]+([0-9]+)")
KALLSYMS_LINE = re.compile(r"([0-9a-fA-F]+)[ \t]+(\S)[ \t]+(\S+)(?:[ \t]+\[(\S+)\])?")


class InputError(Exception):
    """A file that cannot be read or a line that does not parse; the message names both."""


def read_lines(path):
    """Yields (line number, text without the line end) of a file, ASCII/UTF-8 per line."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}")
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            yield number, raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise InputError(f"{path}:{number}: not text (invalid UTF-8)")


def read_profile(path):
    """{address: count} from one profile file."""
    counts = {}
    for number, line in read_lines(path):
        if not line or line.startswith("#"):
            continue
        m = PROFILE_LINE.fullmatch(line)
        if not m:
            raise InputError(f"{path}:{number}: malformed line {line!r}: "
                             "want 'ADDR COUNT' (hex address, decimal count)")
        addr = int(m.group(1), 16)
        if addr in counts:
            raise InputError(f"{path}:{number}: address {m.group(1)} appears a second time")
        counts[addr] = int(m.group(2))
    return counts


def subtract(counts, base):
    """counts - base per address, keeping only what is above zero."""
    out = {}
    for addr, n in counts.items():
        left = n - base.get(addr, 0)
        if left > 0:
            out[addr] = left
    return out


class Symbols:
    """The text symbols of one kallsyms file, sorted by address, for greatest-<= lookups.
    Aliases (several names at one address) resolve to the one listed first."""

    def __init__(self, path):
        by_addr = {}
        for number, line in read_lines(path):
            if not line:
                continue
            m = KALLSYMS_LINE.fullmatch(line)
            if not m:
                raise InputError(f"{path}:{number}: malformed line {line!r}: "
                                 "want 'ADDR TYPE NAME [MODULE]' (/proc/kallsyms format)")
            if m.group(2) not in TEXT_TYPES:
                continue
            name = m.group(3) if m.group(4) is None else f"{m.group(3)} [{m.group(4)}]"
            by_addr.setdefault(int(m.group(1), 16), name)
        if by_addr and max(by_addr) == 0:
            raise InputError(f"{path}: every symbol address is 0 (read /proc/kallsyms as root, "
                             "or with kernel.kptr_restrict=0)")
        self.addrs = sorted(by_addr)
        self.names = [by_addr[a] for a in self.addrs]

    def name(self, addr):
        if addr < USER_LIMIT:
            return "[user]"
        i = bisect.bisect_right(self.addrs, addr) - 1
        return self.names[i] if i >= 0 else "[kernel]"


def group(counts, symbols):
    """{row name: count}: by function with symbols, else by block address."""
    rows = {}
    for addr, n in counts.items():
        key = symbols.name(addr) if symbols else f"{addr:x}"
        rows[key] = rows.get(key, 0) + n
    return rows


def format_table(rows, per, top):
    total = sum(rows.values())
    order = sorted(rows.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = order if top == 0 else order[:top]
    unit = "instr/unit" if per else "instructions"
    lines = [f"{'percent':>8} {unit:>14}  name"]

    def amount(n):
        return f"{n / per:14.1f}" if per else f"{n:14d}"

    for name, n in shown:
        lines.append(f"{100.0 * n / total:7.2f}% {amount(n)}  {name}")
    lines.append(f"{100.0:7.2f}% {amount(total)}  total ({len(shown)} of {len(rows)} rows shown)")
    return "\n".join(lines)


def positive_number(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be above 0: {text!r}")
    return v


def non_negative_int(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a count of rows (0 for all): {text!r}")
    return int(text)


def main():
    ap = argparse.ArgumentParser(prog=PROG, description="Guest instructions per translated "
                                 "block or per guest function, from `ember run --profile`.")
    ap.add_argument("profile", help="the profile file")
    ap.add_argument("--base", help="an earlier profile of the same run to subtract")
    ap.add_argument("--kallsyms", help="the guest's /proc/kallsyms, to group by function")
    ap.add_argument("--per", type=positive_number, help="divide counts by N (e.g. requests)")
    ap.add_argument("--top", type=non_negative_int, default=40,
                    help="rows to print (default 40; 0 for all)")
    args = ap.parse_args()
    try:
        counts = read_profile(args.profile)
        if args.base:
            counts = subtract(counts, read_profile(args.base))
        symbols = Symbols(args.kallsyms) if args.kallsyms else None
    except InputError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    rows = group(counts, symbols)
    if not rows:
        what = f" after subtracting {args.base}" if args.base else ""
        print(f"{PROG}: {args.profile}: no instructions counted{what}", file=sys.stderr)
        return 1
    print(format_table(rows, args.per, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
