#!/usr/bin/python3
"""Executes notebooks headlessly with the project's tslab kernel (nbclient) and saves the executed copies.

    /usr/bin/python3 scripts/run_notebooks.py OUT_DIR notebooks/01-quickstart.ipynb ...

tslab reports compile and runtime errors only on stderr, so on a failing cell this prints the cell's
source and everything it wrote to stderr, then exits 1.

Every executed code cell gets its execution count (1, 2, … in order, as Jupyter shows `In [n]:`), whatever the
kernel sent: an executed copy must not look unrun. No per-cell timing metadata is kept (it would make every
re-rendered copy differ).
"""
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
failed = False
for path in sys.argv[2:]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="tslab", timeout=300, record_timing=False,
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    started = time.time()
    try:
        client.execute()
        print(f"ok   {path} ({time.time() - started:.1f} s)", flush=True)
    except CellExecutionError as err:
        failed = True
        print(f"FAIL {path} ({time.time() - started:.1f} s)", flush=True)
        for index, cell in enumerate(nb.cells):
            if cell.get("cell_type") != "code":
                continue
            stderr = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr")
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if stderr or errors:
                print(f"--- cell {index}:\n{cell.source}\n--- its stderr:\n{stderr}", flush=True)
                for e in errors:
                    print(f"{e.get('ename')}: {e.get('evalue')}", flush=True)
        print(str(err)[-2000:], flush=True)
    finally:
        count = 0
        for cell in nb.cells:
            if cell.get("cell_type") != "code":
                continue
            if cell.get("outputs") or cell.get("execution_count") is not None:
                count += 1
                cell["execution_count"] = count
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "execute_result":
                        output["execution_count"] = count
        nbformat.write(nb, os.path.join(out_dir, os.path.basename(path)))
sys.exit(1 if failed else 0)
