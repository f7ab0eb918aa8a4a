#!/usr/bin/python3
"""Writes an executed notebook as one small, self-contained HTML page (for docs/notebooks/):

    /usr/bin/python3 scripts/notebook_html.py docs/notebooks/01-quickstart.ipynb   # -> docs/notebooks/01-quickstart.html

nbconvert's 'basic' template (the cells, prompts and outputs, with their SVG charts inline) in a page with a
short stylesheet of its own. The full templates inline about 550 KiB of JupyterLab CSS per page, and Debian's
point at scripts under file:///usr/share: nothing here depends on this machine.
"""
import html
import os
import sys

import nbformat
from nbconvert import HTMLExporter
from pygments.formatters import HtmlFormatter

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; max-width: 1120px; margin: 2em auto; padding: 0 1em; }
.cell { display: flex; flex-direction: column; margin: 0.5em 0; }
.text_cell, .input, .output_area { display: flex; flex-direction: row; }
.prompt { flex: 0 0 5.5em; box-sizing: border-box; padding: 0.4em 0.6em 0 0; text-align: right; font: 12px/1.5 ui-monospace, monospace; color: #303f9f; }
.output_area .prompt { color: #bf360c; }
.inner_cell, .output_subarea { flex: 1 1 auto; min-width: 0; }
.input_area { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 4px; padding: 0.4em 0.7em; overflow-x: auto; }
pre { margin: 0; font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre-wrap; word-break: break-word; }
.output_subarea { padding: 0.35em 0.7em; overflow-x: auto; }
.output_stderr { background: #fff5f5; }
.rendered_html code { background: #f6f8fa; padding: 0.1em 0.3em; border-radius: 3px; font-size: 90%; }
.rendered_html table { border-collapse: collapse; margin: 0.4em 0; }
.rendered_html th, .rendered_html td { border: 1px solid #d0d7de; padding: 2px 8px; }
.anchor-link { visibility: hidden; margin-left: 0.3em; text-decoration: none; color: #999; }
h1:hover .anchor-link, h2:hover .anchor-link, h3:hover .anchor-link { visibility: visible; }
svg { max-width: 100%; height: auto; }
"""


def main(path: str) -> str:
    nb = nbformat.read(path, as_version=4)
    body, _ = HTMLExporter(template_name="basic").from_notebook_node(nb)
    name = os.path.splitext(os.path.basename(path))[0]
    css = HtmlFormatter(style="default").get_style_defs(".highlight")
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{html.escape(name)}</title>\n'
            f"<style>{STYLE}\n{css}\n</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
    out = os.path.splitext(path)[0] + ".html"
    with open(out, "w", encoding="utf-8") as f:
        f.write(page)
    return out


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(main(p))
