# Phase 6: the papers' tables and the efficiency plot from every run's metrics.


rule tables:
    input:
        metrics=[f"{run_dir(*r)}/{METRICS_FILE}" for r in all_runs()],
        manifest=MANIFEST,  # the prior row is computed from the data set's own splits
    output:
        # the CSV of each table is in `snakemake --report`, under its group and backbone
        tables=[
            (
                report(
                    path,
                    caption="../report/table.rst",
                    category=f"{group} tasks",
                    subcategory=backbone,
                    labels={"table": f"{group}_{backbone}", "file": "csv"},
                )
                if ext == "csv"
                else path
            )
            for group, backbone in table_keys()
            for ext in ("md", "tex", "csv")
            for path in [table_file(group, backbone, ext)]
        ],
        summary=SUMMARY,
        plot_png=f"{EFFICIENCY_PLOT}.png",
        plot_svg=report(
            f"{EFFICIENCY_PLOT}.svg",
            caption="../report/efficiency.rst",
            category="Summary",
            labels={"plot": "efficiency"},
        ),
    params:
        paper=_paper_args,
        methods=",".join(dict.fromkeys(m for spec in config["groups"].values() for m in spec["methods"])),
        out=lambda w, output: os.path.dirname(os.path.dirname(output.summary)),
        data=lambda w, input: os.path.dirname(input.manifest),
        split=SPLIT,
        code=code("tables"),
    log:
        f"{RUN_LOGS}/tables.log",
    threads: 1
    resources:
        mem_mb=2000,
    shell:
        "{VLPEFT} tables --runs {input.metrics:q} --out {params.out:q} --method-order {params.methods:q}"
        " {params.paper:q} --data {params.data:q} --split {params.split:q} > {log:q} 2>&1"


# DVC's view of the results (dvc.yaml): flat score files (metrics) and per-run training curves (plots).
rule flat_metrics:
    input:
        summary=SUMMARY,
        logs=[f"{run_dir(*r)}/{LOG_FILE}" for r in all_runs()],
    output:
        scores=[
            report(
                score_file(group, backbone),
                caption="../report/scores.rst",
                category=f"{group} tasks",
                subcategory=backbone,
                labels={"table": f"{group}_{backbone}", "file": "scores"},
            )
            for group, backbone in table_keys()
        ],
        # per run: loss and lr per step, train loss mean and validation scores per epoch
        curves=[
            curve_file(kind, *run)
            for run in all_runs()
            for kind in ("loss", "lr", "epoch")
        ],
    params:
        scores=lambda w, output: os.path.dirname(output.scores[0]),
        curves=lambda w, output: os.path.dirname(os.path.dirname(output.curves[0])),
        code=code("flat-metrics"),
    log:
        f"{RUN_LOGS}/flat_metrics.log",
    threads: 1
    resources:
        mem_mb=1000,
    shell:
        "{VLPEFT} flat-metrics --summary {input.summary:q} --scores-out {params.scores:q}"
        " --logs {input.logs:q} --curves-out {params.curves:q} > {log:q} 2>&1"
