#!/usr/bin/env python3
"""Unit test of scripts/guest-profile.py: synthetic profiles, base snapshots and kallsyms files
in a temporary directory, the script run as a subprocess, its table checked value by value
(subtraction, symbol mapping with module symbols and the [user]/[kernel] buckets, --per,
--top, sorting) and its errors checked for exit status 1 and the file and line they name.

  test_guest_profile.py [SCRIPT]     (default: scripts/guest-profile.py of this tree)
"""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "guest-profile.py")

HEADER = ("# ember guest profile: guest instructions completed per translated block "
          "(soft accelerator)\n# address count\n")

# Text symbols (t T w W) and others that must be ignored; a module symbol; an alias.
KALLSYMS = """\
ffffffff81000000 T _stext
ffffffff81000000 T startup_64
ffffffff81001000 t do_one
ffffffff81001800 D some_data
ffffffff81002000 W weak_func
ffffffff81003000 r some_rodata
ffffffffc0100000 t virtblk_probe\t[virtio_blk]
ffffffffc0100400 T virtblk_done\t[virtio_blk]
"""


def table_rows(stdout):
    """The table as [(percent, amount, name)], the header dropped and the total line last."""
    lines = stdout.rstrip("\n").split("\n")
    rows = []
    for line in lines[1:]:
        pct, amount, name = line.split(None, 2)
        rows.append((pct, amount, name))
    return lines[0], rows


class GuestProfileTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_script(self, *args):
        return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                              timeout=60)

    def table(self, *args):
        r = self.run_script(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return table_rows(r.stdout)

    def expect_error(self, args, needle):
        r = self.run_script(*args)
        self.assertEqual(r.returncode, 1, f"stdout {r.stdout!r} stderr {r.stderr!r}")
        self.assertEqual(r.stdout, "")
        self.assertIn(needle, r.stderr)
        self.assertTrue(r.stderr.startswith("guest-profile: "), r.stderr)

    def test_by_address_sorted_descending(self):
        prof = self.write("p", HEADER + "ffffffff81000030 42\nffffffff81000010 300\n"
                          "ffffffff81000020 700\n7f12a000 42\n")
        header, rows = self.table(prof)
        self.assertEqual(header.split(), ["percent", "instructions", "name"])
        # Ties (42) sort by name; the total counts every row.
        self.assertEqual(rows, [
            ("64.58%", "700", "ffffffff81000020"),
            ("27.68%", "300", "ffffffff81000010"),
            ("3.87%", "42", "7f12a000"),
            ("3.87%", "42", "ffffffff81000030"),
            ("100.00%", "1084", "total (4 of 4 rows shown)"),
        ])

    def test_base_subtraction(self):
        prof = self.write("p", HEADER + "ffffffff81000010 1000\nffffffff81000020 500\n"
                          "ffffffff81000030 80\nffffffff81000040 60\nffffffff81000050 7\n")
        # ...20 partly counted before; ...30 unchanged (drops); ...40 smaller than the base
        # (drops); ...50 not in the base (kept whole); ...60 only in the base (ignored).
        base = self.write("b", HEADER + "ffffffff81000020 100\nffffffff81000030 80\n"
                          "ffffffff81000040 61\nffffffff81000060 9\n")
        _, rows = self.table(prof, "--base", base)
        self.assertEqual(rows, [
            ("71.07%", "1000", "ffffffff81000010"),
            ("28.43%", "400", "ffffffff81000020"),
            ("0.50%", "7", "ffffffff81000050"),
            ("100.00%", "1407", "total (3 of 3 rows shown)"),
        ])

    def test_symbol_mapping(self):
        ks = self.write("kallsyms", KALLSYMS)
        prof = self.write("p", HEADER + "\n".join([
            "ffffffff81000000 1",      # exactly at _stext (its alias startup_64 listed second)
            "ffffffff81000fff 2",      # last byte before do_one: _stext
            "ffffffff81001000 4",      # exactly do_one
            "ffffffff81001900 8",      # past some_data (D, ignored): still do_one
            "ffffffff81003100 16",     # past some_rodata (r, ignored): weak_func (W)
            "ffffffffc0100010 32",     # module function
            "ffffffffc0100500 64",     # the other module function
            "ffffffff80ffffff 128",    # kernel, below the first symbol
            "7fffffffffff 256",        # highest user address
            "401000 512",              # user
        ]) + "\n")
        _, rows = self.table(prof, "--kallsyms", ks, "--top", "0")
        self.assertEqual(rows, [
            ("75.07%", "768", "[user]"),
            ("12.51%", "128", "[kernel]"),
            ("6.26%", "64", "virtblk_done [virtio_blk]"),
            ("3.13%", "32", "virtblk_probe [virtio_blk]"),
            ("1.56%", "16", "weak_func"),
            ("1.17%", "12", "do_one"),
            ("0.29%", "3", "_stext"),
            ("100.00%", "1023", "total (7 of 7 rows shown)"),
        ])

    def test_no_kernel_symbols_means_kernel_bucket(self):
        ks = self.write("kallsyms", "ffffffff81001800 D some_data\n")
        prof = self.write("p", HEADER + "ffffffff81000010 3\n1000 1\n")
        _, rows = self.table(prof, "--kallsyms", ks)
        self.assertEqual(rows, [
            ("75.00%", "3", "[kernel]"),
            ("25.00%", "1", "[user]"),
            ("100.00%", "4", "total (2 of 2 rows shown)"),
        ])

    def test_per_divides(self):
        ks = self.write("kallsyms", KALLSYMS)
        prof = self.write("p", HEADER + "ffffffff81001000 1000\nffffffff81001004 250\n"
                          "ffffffffc0100010 750\n")
        header, rows = self.table(prof, "--kallsyms", ks, "--per", "8")
        self.assertEqual(header.split(), ["percent", "instr/unit", "name"])
        self.assertEqual(rows, [
            ("62.50%", "156.2", "do_one"),
            ("37.50%", "93.8", "virtblk_probe [virtio_blk]"),
            ("100.00%", "250.0", "total (2 of 2 rows shown)"),
        ])

    def test_top_limits_rows_not_total(self):
        prof = self.write("p", HEADER + "".join(f"{0x1000 + i:x} {10 * i}\n" for i in range(1, 6)))
        _, rows = self.table(prof, "--top", "2")
        self.assertEqual(rows, [
            ("33.33%", "50", "1005"),
            ("26.67%", "40", "1004"),
            ("100.00%", "150", "total (2 of 5 rows shown)"),
        ])
        _, rows = self.table(prof)  # default 40: all five
        self.assertEqual(len(rows), 6)
        self.assertEqual(rows[-1][2], "total (5 of 5 rows shown)")

    def test_default_top_is_40(self):
        prof = self.write("p", HEADER + "".join(f"{0x1000 + i:x} {i}\n" for i in range(1, 51)))
        _, rows = self.table(prof)
        self.assertEqual(len(rows), 41)
        self.assertEqual(rows[0], ("3.92%", "50", "1032"))
        self.assertEqual(rows[39], ("0.86%", "11", "100b"))
        self.assertEqual(rows[-1], ("100.00%", "1275", "total (40 of 50 rows shown)"))

    def test_malformed_profile_names_file_and_line(self):
        good = self.write("good", HEADER + "1000 5\n")
        for name, body, line in [
            ("fields", HEADER + "1000 5\n2000\n", 4),
            ("hexcount", "1000 5\n2000 0x10\n", 2),
            ("prefix", "0x1000 5\n", 1),
            ("extra", "# x\n1000 5 6\n", 2),
            ("negative", "1000 -5\n", 1),
            ("duplicate", "1000 5\n2000 1\n1000 3\n", 3),
        ]:
            with self.subTest(name=name):
                bad = self.write(name, body)
                self.expect_error([bad], f"{bad}:{line}: ")
                self.expect_error([good, "--base", bad], f"{bad}:{line}: ")

    def test_malformed_kallsyms_names_file_and_line(self):
        prof = self.write("p", HEADER + "ffffffff81000010 3\n")
        ks = self.write("kallsyms", "ffffffff81000000 T _stext\nffffffff81000100 T\n")
        self.expect_error([prof, "--kallsyms", ks], f"{ks}:2: malformed line")
        ks = self.write("zeros", "0000000000000000 T _stext\n0000000000000000 t do_one\n")
        self.expect_error([prof, "--kallsyms", ks], f"{ks}: every symbol address is 0")

    def test_not_text_names_file_and_line(self):
        bad = os.path.join(self.tmp.name, "binary")
        with open(bad, "wb") as f:
            f.write(b"1000 5\n\xff\xfe 1\n")
        self.expect_error([bad], f"{bad}:2: not text")

    def test_unreadable_files(self):
        prof = self.write("p", HEADER + "1000 5\n")
        missing = os.path.join(self.tmp.name, "missing")
        self.expect_error([missing], f"{missing}: cannot read: No such file or directory")
        self.expect_error([prof, "--base", missing], f"{missing}: cannot read")
        self.expect_error([prof, "--kallsyms", missing], f"{missing}: cannot read")
        self.expect_error([self.tmp.name], f"{self.tmp.name}: cannot read: Is a directory")

    def test_nothing_left_after_base(self):
        prof = self.write("p", HEADER + "1000 5\n")
        self.expect_error([prof, "--base", prof], f"{prof}: no instructions counted after "
                          f"subtracting {prof}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        SCRIPT = sys.argv.pop(1)
    unittest.main(verbosity=2)
