# Phase 3: the CLIP feature cache (image RN grids, video per-frame ViT embeddings).


rule clip_demo:
    input:
        manifest=MANIFEST,
    output:
        rn=demo_model("clip_rn.pt"),
        vit=demo_model("clip_vit.pt"),
    params:
        data=lambda w, input: os.path.dirname(input.manifest),
        steps=config["clip"]["demo_steps"],
        backend=config["frames"]["backend"],
        code=code("clip-demo"),
    log:
        f"{LOGS}/clip_demo.log",
    benchmark:
        f"{LOGS}/bench/clip_demo.tsv"
    threads: 2
    resources:
        mem_mb=4000,
    shell:
        "{VLPEFT} clip-demo --data {params.data:q} --out-rn {output.rn:q} --out-vit {output.vit:q}"
        " --demo-steps {params.steps:q} --backend {params.backend:q} --threads 1 > {log:q} 2>&1"


if IMAGE_FEATURES:

    rule features_image_release:
        input:
            manifest=MANIFEST,
        output:
            feature_file("image"),
        params:
            src=IMAGE_FEATURES,
            code=code("data-features"),
        log:
            f"{LOGS}/features_image.log",
        benchmark:
            f"{LOGS}/bench/features_image.tsv"
        threads: 1
        resources:
            mem_mb=8000,
        shell:
            "{VLPEFT} data-features --format vladapter-h5 --src {params.src:q} --out {output:q}"
            " --ids-from {input.manifest:q} --no-progress > {log:q} 2>&1"

else:

    rule features_image:
        input:
            manifest=MANIFEST,
            clip=clip_input("image"),
        output:
            feature_file("image"),
        params:
            images=IMAGES_DIR,
            clip=clip_param("image"),
            batch=config["clip"]["batch_size"],
            device=config["clip"]["device"],
            code=code("features"),
        log:
            f"{LOGS}/features_image.log",
        benchmark:
            f"{LOGS}/bench/features_image.tsv"
        threads: 2
        resources:
            mem_mb=4000,
        shell:
            "{VLPEFT} features --kind image --clip {params.clip:q} --images {params.images:q} --out {output:q}"
            " --batch-size {params.batch:q} --device {params.device:q} --threads 1 > {log:q} 2>&1"


if VIDEO_FEATURES:

    rule features_video_release:
        input:
            manifest=MANIFEST,
        output:
            feature_file("video"),
        params:
            src=VIDEO_FEATURES,
            code=code("data-features"),
        log:
            f"{LOGS}/features_video.log",
        benchmark:
            f"{LOGS}/bench/features_video.tsv"
        threads: 1
        resources:
            mem_mb=8000,
        shell:
            "{VLPEFT} data-features --format value-npz --src {params.src:q} --out {output:q}"
            " --ids-from {input.manifest:q} --no-progress > {log:q} 2>&1"

else:

    rule features_video:
        input:
            frames=FRAMES,
            clip=clip_input("video"),
        output:
            feature_file("video"),
        params:
            clip=clip_param("video"),
            batch=config["clip"]["batch_size"],
            device=config["clip"]["device"],
            code=code("features"),
        log:
            f"{LOGS}/features_video.log",
        benchmark:
            f"{LOGS}/bench/features_video.tsv"
        threads: 2
        resources:
            mem_mb=4000,
        shell:
            "{VLPEFT} features --kind video --clip {params.clip:q} --frames {input.frames:q} --out {output:q}"
            " --batch-size {params.batch:q} --device {params.device:q} --threads 1 > {log:q} 2>&1"
