# Phase 1: the data set, either the demo world or real data sets read into the task schema.

if DATA_SOURCE == "demo":

    rule demo_world:
        output:
            manifest=MANIFEST,
        params:
            out=lambda w, output: os.path.dirname(output.manifest),
            seed=config["demo"]["seed"],
            size=config["demo"]["size"],
            code=code("demo"),
        log:
            f"{LOGS}/demo_world.log",
        threads: 1
        resources:
            mem_mb=2000,
        shell:
            "{VLPEFT} demo --out {params.out:q} --seed {params.seed:q} --size {params.size:q} > {log:q} 2>&1"

else:

    rule prepare_real:
        output:
            manifest=MANIFEST,
        params:
            out=lambda w, output: os.path.dirname(output.manifest),
            root=config["data"]["root"],
            datasets=config["data"]["datasets"],
            code=code("data-check", "data-prepare"),
        log:
            f"{LOGS}/prepare_real.log",
        threads: 1
        resources:
            mem_mb=8000,
        shell:
            "({VLPEFT} data-check --datasets {params.datasets:q} --root {params.root:q} --no-progress"
            " && {VLPEFT} data-prepare --datasets {params.datasets:q} --root {params.root:q} --out {params.out:q}"
            " --no-progress) > {log:q} 2>&1"
