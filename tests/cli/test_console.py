#!/usr/bin/env python3
"""System test of the console back ends and VM stop paths, with a guest that spins forever
(a 2-byte flat binary, `jmp .`):
  - stdio on a terminal: ember puts it in raw mode, Ctrl-A x stops the VM (exit 0) and the
    terminal settings are restored afterwards;
  - socket:PATH: a client can connect; SIGTERM stops the VM with exit status 128+15 and the
    socket file is removed;
  - SIGINT on a non-terminal console stops the VM with 128+2.
Usage: test_console.py EMBER ACCEL"""
import os
import pty
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import time

EMBER, ACCEL = sys.argv[1], sys.argv[2]
passed, failed = 0, 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what)


def wait_exit(proc, timeout):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


tmp = tempfile.mkdtemp()
spin = os.path.join(tmp, "spin.bin")
with open(spin, "wb") as f:
    f.write(b"\xeb\xfe")  # jmp .
base = [EMBER, "run", "--accel", ACCEL, "--memory", "64M", "--kernel", spin]

# 1. stdio on a terminal: raw mode, Ctrl-A x, settings restored.
master, slave = pty.openpty()
before = termios.tcgetattr(slave)
proc = subprocess.Popen(base, stdin=slave, stdout=slave, stderr=subprocess.PIPE)
raw = None
for _ in range(100):
    time.sleep(0.05)
    now = termios.tcgetattr(slave)
    if not (now[3] & termios.ICANON):
        raw = now
        break
check(raw is not None, "ember did not put the terminal into raw mode")
check(raw is not None and not (raw[3] & termios.ECHO), "raw mode left ECHO on")
os.write(master, b"\x01x")
status = wait_exit(proc, 20)
check(status == 0, f"Ctrl-A x: exit status {status}, want 0")
after = termios.tcgetattr(slave)
check(after == before, "terminal settings were not restored after exit")
os.close(master)
os.close(slave)

# 2. socket console: connect, then SIGTERM.
path = os.path.join(tmp, "console.sock")
proc = subprocess.Popen(base + ["--console", "socket:" + path], stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
for _ in range(200):
    if os.path.exists(path):
        break
    time.sleep(0.05)
connected = False
try:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    c.sendall(b"hello")
    connected = True
    c.close()
except OSError as e:
    print("connect:", e)
check(connected, "could not connect to the console socket")
time.sleep(0.2)
proc.send_signal(signal.SIGTERM)
status = wait_exit(proc, 20)
check(status == 128 + signal.SIGTERM, f"SIGTERM: exit status {status}, want 143")
check(not os.path.exists(path), "the console socket was not removed")

# 3. SIGINT with a non-terminal console.
proc = subprocess.Popen(base + ["--console", "none"], stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
time.sleep(0.5)
proc.send_signal(signal.SIGINT)
status = wait_exit(proc, 20)
check(status == 128 + signal.SIGINT, f"SIGINT: exit status {status}, want 130")

os.unlink(spin)
os.rmdir(tmp)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
