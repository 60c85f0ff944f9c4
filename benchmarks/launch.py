"""Run one command and report its own wall time, CPU time and peak memory to a file descriptor.

    python -S launch.py FD COMMAND [ARG...]

Linux gives a process started by exec the high-water RSS of the process that exec'd: a command
started straight from the benchmark process (which may hold a million generated rows) would
report that process's peak, not its own. This launcher is small; the command runs in a child it
forks, so the peak read from wait4 is the command's (as GNU time reports it), and the clock
does not count the launcher's own start-up. Writes "seconds cpu_seconds maxrss_kib exit_code".
"""

import os
import sys
import time


def main() -> None:
    fd, argv = int(sys.argv[1]), sys.argv[2:]
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    report = f"{elapsed} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}"
    os.write(fd, report.encode())
    os.close(fd)


if __name__ == "__main__":
    main()
