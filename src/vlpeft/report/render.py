"""Paper-style tables of one (group, backbone): Markdown, LaTeX (booktabs) and CSV, 2 decimals."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass

from vlpeft.report.paper import PaperRow
from vlpeft.report.runs import PRIOR_NAME, Row, Stat, Table
from vlpeft.tasks import TASKS

AVERAGE = "average"
MISSING = "-"


@dataclass(frozen=True)
class Cell:
    """One score column of one row: ours (over seeds) and, when mapped, the paper's."""

    ours: Stat | None
    paper: float | None

    @property
    def diff(self) -> float | None:
        if self.ours is None or self.paper is None:
            return None
        return self.ours.mean - self.paper


def fmt(x: float | None, signed: bool = False) -> str:
    """Fixed 2 decimals; ``-`` for a missing number; never ``-0.00``."""
    if x is None:
        return MISSING
    x = round(x, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def fmt_stat(s: Stat | None, pm: str = " ± ") -> str:
    if s is None:
        return MISSING
    return fmt(s.mean) if s.std is None else f"{fmt(s.mean)}{pm}{fmt(s.std)}"


BEST, TIE = "best", "tie"


def within_std(a: Stat, b: Stat) -> bool:
    """True when two means differ by less than the larger of their sample stds (at least one needed):
    the seeds do not separate the two methods."""
    stds = [s for s in (a.std, b.std) if s is not None]
    return bool(stds) and abs(a.mean - b.mean) < max(stds)


def column_marks(table: Table) -> dict[tuple[str, str], str]:
    """``(method, column key) -> "best" | "tie"`` over the method rows (never the prior):
    ``best`` = the column's highest mean, ``tie`` = a row that differs from a best one by less than
    the larger of the two stds (``within_std``). Empty with fewer than two rows."""
    marks: dict[tuple[str, str], str] = {}
    if len(table.rows) < 2:
        return marks
    for i, key in enumerate(column_keys(table)):
        stats = {r.method: c.ours for r in table.rows if (c := cells(table, r, None)[i]).ours is not None}
        if not stats:
            continue
        top = max(s.mean for s in stats.values())
        best = [m for m, s in stats.items() if s.mean == top]
        for m, s in stats.items():
            if m in best:
                marks[m, key] = BEST
            elif any(within_std(s, stats[b]) for b in best):
                marks[m, key] = TIE
    return marks


def column_keys(table: Table) -> list[str]:
    return [*table.tasks, AVERAGE]


def column_title(key: str) -> str:
    return "Avg" if key == AVERAGE else TASKS[key].paper_name


def cells(table: Table, row: Row, paper: PaperRow | None) -> list[Cell]:
    """The score cells of a row: each task's headline metric, then the average."""
    out = []
    for key in column_keys(table):
        ours: Stat | None
        if key == AVERAGE:
            ours = row.average
        else:
            ours = row.metrics.get(key, {}).get(TASKS[key].metric)
        out.append(Cell(ours, None if paper is None else paper.scores.get(key)))
    return out


def header_lines(table: Table, paper_tables: list[str], verification: Mapping[str, str]) -> list[str]:
    """The explanatory header shared by the Markdown and LaTeX outputs (plain text lines)."""
    heads = ", ".join(f"{TASKS[t].paper_name}: {TASKS[t].metric}" for t in table.tasks)
    lines = [
        f"Results of the {table.group} tasks on backbone {table.backbone}.",
        "Scores on a 0-100 scale (accuracies in %, CIDEr x100), 2 decimals.",
        "Each cell: mean ± sample standard deviation (ddof=1) over the seeds; no ± with a single seed.",
        "Params (%): 100 x trainable / all parameters of the instantiated model (docs/methods.md E).",
        f"Headline metrics: {heads}; Avg: their mean.",
    ]
    if table.prior is not None:
        lines.append(
            f"Row '{PRIOR_NAME}': what a constant prediction scores without looking (the best "
            "constant answer or caption, chosen on the train split); compare every row with it."
        )
    lines.append(
        "Bold: the column's best mean; ≈: differs from that best by less than the larger of the "
        "two seed stds (the seeds do not separate them)."
    )
    if paper_tables:
        src = "; ".join(f"{t} ({verification.get(t, 'unknown')})" for t in paper_tables)
        lines.append(f"Paper numbers from {src}; Delta = ours - paper; '-' = not published.")
    return lines


def _marked(text: str, mark: str | None, bold: str, approx: str) -> str:
    if mark == BEST:
        return bold.format(text)
    return f"{text} {approx}" if mark == TIE else text


def _text_rows(
    table: Table, papers: Mapping[str, PaperRow], with_paper: bool, pm: str, bold: str = "**{}**", approx: str = "≈"
) -> tuple[list[str], list[list[str]]]:
    head = ["Method", "Seeds", "Params (%)"] + (["Paper params (%)"] if with_paper else [])
    keys = column_keys(table)
    for key in keys:
        head += [column_title(key)] + (["Paper", "Delta"] if with_paper else [])
    body = []
    if table.prior is not None:
        line = [PRIOR_NAME, MISSING, fmt(0.0)] + ([MISSING] if with_paper else [])
        for cell in cells(table, table.prior, None):
            line += [fmt_stat(cell.ours, pm)] + ([MISSING, MISSING] if with_paper else [])
        body.append(line)
    marks = column_marks(table)
    for row in table.rows:
        paper = papers.get(row.method)
        line = [row.method, str(len(row.seeds)), fmt(row.params["percent"].mean)]
        if with_paper:
            line.append(fmt(paper.params_pct if paper else None))
        for key, cell in zip(keys, cells(table, row, paper)):
            line.append(_marked(fmt_stat(cell.ours, pm), marks.get((row.method, key)), bold, approx))
            if with_paper:
                line += [fmt(cell.paper), fmt(cell.diff, signed=True)]
        body.append(line)
    return head, body


def to_markdown(
    table: Table, papers: Mapping[str, PaperRow], paper_tables: list[str], verification: Mapping[str, str]
) -> str:
    head, body = _text_rows(table, papers, bool(paper_tables), " ± ")
    out = [f"# {table.group} / {table.backbone}", ""]
    first, *rest = header_lines(table, paper_tables, verification)
    out += [first, ""] + [f"- {line}" for line in rest] + [""]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join([":---"] + ["---:"] * (len(head) - 1)) + "|")
    out += ["| " + " | ".join(line) + " |" for line in body]
    return "\n".join(out) + "\n"


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "_": r"\_",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _tex_escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(
    table: Table, papers: Mapping[str, PaperRow], paper_tables: list[str], verification: Mapping[str, str]
) -> str:
    head, body = _text_rows(table, papers, bool(paper_tables), " $\\pm$ ", bold="\\textbf{{{}}}", approx="$\\approx$")
    head = [_tex_escape(h).replace("Delta", "$\\Delta$") for h in head]
    out = [f"% {line}".replace("≈", "$\\approx$") for line in header_lines(table, paper_tables, verification)]
    out += [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{_tex_escape(table.group)} tasks, {_tex_escape(table.backbone)} (0-100 scale; "
        r"mean $\pm$ sample std over seeds)}",
        rf"\label{{tab:{table.name}}}",
        r"\begin{tabular}{l" + "r" * (len(head) - 1) + "}",
        r"\toprule",
        " & ".join(head) + r" \\",
        r"\midrule",
    ]
    for line in body:
        out.append(" & ".join([_tex_escape(line[0])] + line[1:]) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


def to_csv(table: Table, papers: Mapping[str, PaperRow], paper_tables: list[str]) -> str:
    """Flat numbers (2 decimals, empty = missing), one column per quantity, task keys as names."""
    with_paper = bool(paper_tables)
    head = ["method", "seeds", "params_pct"] + (["paper_params_pct"] if with_paper else [])
    for key in column_keys(table):
        head += [key, f"{key}_std"] + ([f"{key}_paper", f"{key}_diff"] if with_paper else [])
    head += ["paper_row"] if with_paper else []

    def num(x: float | None, signed: bool = False) -> str:
        return "" if x is None else fmt(x, signed)

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(head)
    if table.prior is not None:
        line = [PRIOR_NAME, "", num(0.0)] + ([""] if with_paper else [])
        for cell in cells(table, table.prior, None):
            line += [num(cell.ours.mean if cell.ours else None), ""] + (["", ""] if with_paper else [])
        writer.writerow(line + ([""] if with_paper else []))
    for row in table.rows:
        paper = papers.get(row.method)
        line = [row.method, " ".join(map(str, row.seeds)), num(row.params["percent"].mean)]
        if with_paper:
            line.append(num(paper.params_pct if paper else None))
        for cell in cells(table, row, paper):
            line += [num(cell.ours.mean if cell.ours else None), num(cell.ours.std if cell.ours else None)]
            if with_paper:
                line += [num(cell.paper), num(cell.diff, signed=True)]
        if with_paper:
            line.append(f"{paper.table}: {paper.row}" if paper else "")
        writer.writerow(line)
    return buf.getvalue()
