# Phase 2: decode every video and sample frames uniformly.


rule frames:
    input:
        manifest=MANIFEST,
    output:
        frames=FRAMES,
        rejected=f"frames/{DS}/rejected.json",
    params:
        videos=VIDEOS_DIR,
        sampling=(
            ["--fps", config["frames"]["fps"]]
            if config["frames"].get("fps")
            else ["--num-frames", config["frames"]["num_frames"]]
        ),
        backend=config["frames"]["backend"],
        on_error=config["frames"]["on_error"],
        code=code("frames"),
    log:
        f"{LOGS}/frames.log",
    benchmark:
        f"{LOGS}/bench/frames.tsv"
    threads: 2
    resources:
        mem_mb=4000,
    shell:
        "{VLPEFT} frames --videos {params.videos:q} --out {output.frames:q} {params.sampling:q}"
        " --backend {params.backend:q} --on-error {params.on_error:q} > {log:q} 2>&1"
