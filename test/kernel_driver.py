#!/usr/bin/python3
"""Drives one tslab kernel cell by cell, as a person in Jupyter does, for test/kernel.test.ts.

Requests are JSON lines on stdin; each gets one JSON line on stdout:
  {"op": "start", "cwd": DIR, "log": FILE}        -> {"pid": N}            (kernel's own stdout/stderr go to FILE)
  {"op": "execute", "code": S, "timeout": SEC}   -> a cell's result (below), when the kernel has replied
  {"op": "submit", "code": S}                    -> {"msg_id": ID}        (returns at once; the cell runs)
  {"op": "collect", "msg_id": ID, "timeout": SEC} -> that cell's result
  {"op": "interrupt"}                            -> {}                    (what Jupyter's interrupt button does)
  {"op": "shutdown", "timeout": SEC}             -> {"exited": bool, "seconds": T, "returncode": C}
                                                    (a shutdown_request, then how long the process took to exit;
                                                    never killed before the timeout)
  {"op": "kill"}                                 -> {}
A cell's result: {"status", "execution_count", "stdout", "stderr", "html": [...], "evalue"}.
Uses Debian's jupyter_client (run with /usr/bin/python3); the tslab kernel must be registered (JUPYTER_PATH).
"""
import json
import os
import queue
import sys
import time

from jupyter_client import KernelManager

km = None
kc = None
cells = {}  # msg_id -> {"stdout", "stderr", "html", "idle", "reply"}


def cell(msg_id):
    return cells.setdefault(msg_id, {"stdout": "", "stderr": "", "html": [], "idle": False, "reply": None})


def pump(wait):
    """Reads what the kernel sent (iopub and shell), waiting up to `wait` seconds for the first message."""
    try:
        msg = kc.get_iopub_msg(timeout=wait)
    except queue.Empty:
        msg = None
    while msg is not None:
        parent = msg["parent_header"].get("msg_id")
        if parent:
            c = cell(parent)
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                c[content["name"]] += content["text"]
            elif kind in ("display_data", "execute_result", "update_display_data"):
                html = content.get("data", {}).get("text/html")
                if html:
                    c["html"].append(html)
            elif kind == "error":
                c["stderr"] += "\n".join(content.get("traceback", [])) or content.get("evalue", "")
            elif kind == "status" and content["execution_state"] == "idle":
                c["idle"] = True
        try:
            msg = kc.get_iopub_msg(timeout=0)
        except queue.Empty:
            msg = None
    while True:
        try:
            reply = kc.get_shell_msg(timeout=0)
        except queue.Empty:
            break
        cell(reply["parent_header"].get("msg_id"))["reply"] = reply["content"]


def collect(msg_id, timeout):
    deadline = time.time() + timeout
    c = cell(msg_id)
    while not (c["idle"] and c["reply"] is not None):
        if time.time() > deadline:
            return {"status": "timeout", "stdout": c["stdout"], "stderr": c["stderr"], "html": c["html"]}
        pump(0.05)
    reply = c["reply"]
    return {"status": reply.get("status"), "execution_count": reply.get("execution_count"), "stdout": c["stdout"],
            "stderr": c["stderr"], "html": c["html"], "evalue": reply.get("evalue")}


def handle(req):
    global km, kc
    op = req["op"]
    if op == "start":
        log = open(req["log"], "ab")
        km = KernelManager(kernel_name="tslab")
        km.start_kernel(cwd=req["cwd"], stdout=log, stderr=log)
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        return {"pid": km.provisioner.pid}
    if op == "execute":
        return collect(kc.execute(req["code"]), req.get("timeout", 120))
    if op == "submit":
        return {"msg_id": kc.execute(req["code"])}
    if op == "collect":
        return collect(req["msg_id"], req.get("timeout", 120))
    if op == "interrupt":
        km.interrupt_kernel()
        return {}
    if op == "shutdown":
        started = time.time()
        km.request_shutdown()
        deadline = started + req.get("timeout", 20)
        while km.is_alive() and time.time() < deadline:
            time.sleep(0.05)
        exited = not km.is_alive()
        seconds = time.time() - started
        returncode = km.provisioner.process.returncode if exited and km.provisioner.process else None
        if not exited:
            km.shutdown_kernel(now=True)
        kc.stop_channels()
        return {"exited": exited, "seconds": seconds, "returncode": returncode}
    if op == "kill":
        if km is not None and km.is_alive():
            km.shutdown_kernel(now=True)
        return {}
    raise ValueError(f"unknown op {op}")


for line in sys.stdin:
    try:
        result = handle(json.loads(line))
    except Exception as err:  # reported to the test, which fails with it
        result = {"driver_error": f"{type(err).__name__}: {err}"}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
if km is not None:
    if km.is_alive():
        km.shutdown_kernel(now=True)
    kc.stop_channels()
    km.cleanup_resources()
sys.stdout.flush()
os._exit(0)  # skips jupyter_client's __del__ logging at interpreter teardown ("'NoneType' object is not callable")
