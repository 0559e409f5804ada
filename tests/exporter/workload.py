"""Workload for the exporter tests, run inside the test namespace. Every
process names itself (prctl PR_SET_NAME: the comm tcplinger reports).
  churn N PORT        N connections, the client (tw_client) closes first:
                      N TIME-WAIT stays for tw_client; prints the wall time
                      after the last close
  leak M PORT         cw_leaker accepts M connections and never closes them;
                      cw_peer closes its ends: M CLOSE-WAIT sockets held by
                      cw_leaker. Prints the wall times around the closes, then
                      holds the sockets until stdin closes."""
import ctypes
import os
import socket
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)


def name(comm):
    libc.prctl(15, comm.encode(), 0, 0, 0)  # PR_SET_NAME


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1024)
    return s


def churn(n, port):
    srv = listener(port)
    pid = os.fork()
    if pid == 0:
        name("tw_server")
        for _ in range(n):
            c, _ = srv.accept()
            while c.recv(4096):
                pass
            c.close()
        os._exit(0)
    srv.close()
    name("tw_client")
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        c.close()
    _, status = os.waitpid(pid, 0)
    print("%.6f" % time.time(), flush=True)
    sys.exit(1 if status else 0)


def leak(m, port):
    srv = listener(port)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        name("cw_leaker")
        os.close(r)
        held = [srv.accept()[0] for _ in range(m)]
        os.write(w, b"x")
        sys.stdin.read()  # hold until the test closes stdin
        del held
        os._exit(0)
    os.close(w)
    srv.close()
    name("cw_peer")
    peers = [socket.create_connection(("127.0.0.1", port)) for _ in range(m)]
    os.read(r, 1)  # every one accepted
    before = time.time()
    for p in peers:
        p.close()
    after = time.time()
    print("%.6f %.6f" % (before, after), flush=True)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    if sys.argv[1] == "churn":
        churn(int(sys.argv[2]), int(sys.argv[3]))
    else:
        leak(int(sys.argv[2]), int(sys.argv[3]))
