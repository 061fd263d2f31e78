# Phase 6: the papers' tables and the efficiency plot from every run's metrics.


rule tables:
    input:
        metrics=[f"{run_dir(*r)}/{METRICS_FILE}" for r in all_runs()],
    output:
        tables=[
            f"{RESULTS}/tables/{group}_{backbone}.{ext}"
            for group, backbone in table_keys()
            for ext in ("md", "tex", "csv")
        ],
        summary=f"{RESULTS}/metrics/summary.json",
        plot_png=f"{RESULTS}/plots/efficiency.png",
        plot_svg=f"{RESULTS}/plots/efficiency.svg",
    params:
        paper=_paper_args,
        methods=",".join(dict.fromkeys(m for spec in config["groups"].values() for m in spec["methods"])),
        out=lambda w, output: os.path.dirname(os.path.dirname(output.summary)),
        code=code("tables"),
    log:
        f"{RUN_LOGS}/tables.log",
    threads: 1
    resources:
        mem_mb=2000,
    shell:
        "{VLPEFT} tables --runs {input.metrics:q} --out {params.out:q} --method-order {params.methods:q}"
        " {params.paper:q} > {log:q} 2>&1"
