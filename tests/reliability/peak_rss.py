"""Run a command and report its peak resident memory: `python peak_rss.py SECONDS OUTPUT -- COMMAND...`.

Linux counts in a child's ru_maxrss the memory of the process it was forked or exec'd from (the page tables
it copied, or, after vfork, the parent's peak), so a child started straight from a big pytest process
reports pytest's memory. Started from this small process, the command's figure is its own. Prints
"MAXRSS <bytes>" as the last line of OUTPUT (where the command's stdout and stderr go); exits with the
command's exit code, or 124 when it ran longer than SECONDS and was killed.
"""

import os
import subprocess
import sys
import time


def main() -> int:
    seconds, output, separator, *command = sys.argv[1:]
    assert separator == "--" and command, __doc__
    deadline = time.monotonic() + float(seconds)
    with open(output, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                status = None
                break
            time.sleep(0.2)
        process.returncode = 124 if status is None else os.waitstatus_to_exitcode(status)
        out.write(f"\nMAXRSS {usage.ru_maxrss * 1024}\n")  # kilobytes on Linux
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
