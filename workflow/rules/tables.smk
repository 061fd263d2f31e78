# Phase 6: the papers' tables and the efficiency plot from every run's metrics.


rule tables:
    input:
        metrics=[f"{run_dir(*r)}/metrics.json" for r in all_runs()],
    output:
        tables=[
            f"results/tables/{group}_{backbone}.{ext}"
            for group, spec in sorted(config["groups"].items())
            for backbone in spec["backbones"]
            for ext in ("md", "tex", "csv")
        ],
        summary="results/metrics/summary.json",
        plot_png="results/plots/efficiency.png",
        plot_svg="results/plots/efficiency.svg",
    params:
        paper=lambda w: " ".join(f"--paper {k}={v}" for k, v in sorted(config.get("paper", {}).items())),
        methods=",".join(dict.fromkeys(m for spec in config["groups"].values() for m in spec["methods"])),
    log:
        f"{LOGS}/tables.log",
    threads: 1
    resources:
        mem_mb=2000,
    shell:
        "{VLPEFT} tables --runs {input.metrics} --out results --method-order {params.methods}"
        " {params.paper} > {log} 2>&1"
