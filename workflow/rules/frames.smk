# Phase 2: decode every video and sample frames uniformly.


rule frames:
    input:
        manifest=f"{DATA}/manifest.json",
    output:
        frames=f"frames/{DS}/frames.h5",
        rejected=f"frames/{DS}/rejected.json",
    params:
        videos=VIDEOS_DIR,
        sampling=(
            f"--fps {config['frames']['fps']}"
            if config["frames"].get("fps")
            else f"--num-frames {config['frames']['num_frames']}"
        ),
        backend=config["frames"]["backend"],
        on_error=config["frames"]["on_error"],
    log:
        f"{LOGS}/frames.log",
    threads: 2
    resources:
        mem_mb=4000,
    shell:
        "{VLPEFT} frames --videos {params.videos} --out {output.frames} {params.sampling}"
        " --backend {params.backend} --on-error {params.on_error} > {log} 2>&1"
