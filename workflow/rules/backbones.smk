# Phase 4a: the demo backbones, a tiny T5 and BART pre-trained on the demo world (models/<ds>/<arch>),
# saved with save_pretrained so training loads them exactly as it loads t5-base.


rule backbone_demo:
    input:
        manifest=MANIFEST,
        image=feature_file("image"),
        video=feature_file("video"),
    output:
        directory(demo_model("{arch}")),
    wildcard_constraints:
        arch="t5|bart",
    params:
        data=lambda w, input: os.path.dirname(input.manifest),
        steps=config["backbone_demo"]["steps"],
        code=code("backbone-demo"),
    log:
        f"{LOGS}/backbone_demo_{{arch}}.log",
    benchmark:
        f"{LOGS}/bench/backbone_demo_{{arch}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    shell:
        "{VLPEFT} backbone-demo --data {params.data:q} --arch {wildcards.arch:q} --out {output:q}"
        " --features-image {input.image:q} --features-video {input.video:q} --steps {params.steps:q} > {log:q} 2>&1"
