# Phase 1: the demo world (real-data readers come with the paper configs).


rule demo_world:
    output:
        manifest=f"{DATA}/manifest.json",
    params:
        out=DATA,
        seed=config["demo"]["seed"],
        size=config["demo"]["size"],
    log:
        f"{LOGS}/demo_world.log",
    threads: 1
    resources:
        mem_mb=2000,
    shell:
        "{VLPEFT} demo --out {params.out} --seed {params.seed} --size {params.size} > {log} 2>&1"
