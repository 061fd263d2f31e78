# Phase 4b/5: one training run per (group, backbone, method, seed), then its evaluation.


rule train:
    input:
        manifest=MANIFEST,
        features=group_features,
        backbone=backbone_input,
    output:
        adapter=f"{RUN_DIR}/{ADAPTER_FILE}",
        train_log=f"{RUN_DIR}/{LOG_FILE}",
    wildcard_constraints:
        group="image|video",
        seed=r"\d+",
    params:
        data=lambda w, input: os.path.dirname(input.manifest),
        backbone=lambda w: backbone_path(w.backbone),
        tasks=lambda w: ",".join(_group(w)["tasks"]),
        batch=lambda w: config["train"]["batch_size"][w.backbone],
        recipe=_train_recipe,
        method_overrides=lambda w: method_override_args(config, w.method),
        out=lambda w, output: os.path.dirname(output.adapter),
        launch=_train_launch,
        code=code("train"),
    log:
        f"{RUN_LOGS}/train/{{group}}_{{backbone}}_{{method}}_seed{{seed}}.log",
    benchmark:
        f"{RUN_LOGS}/bench/train/{{group}}_{{backbone}}_{{method}}_seed{{seed}}.tsv"
    # one torch thread per process: fastest on small models, and bytes depend on the thread count;
    # train.gpus > 1: that many processes under torchrun, each with its own GPU on cuda
    threads: _train_procs()
    resources:
        mem_mb=6000 * _train_procs(),
        gpu=_uses_gpu() * _train_procs(),
    shell:
        "{params.launch}{VLPEFT} train --data {params.data:q} --features-{wildcards.group} {input.features:q}"
        " --backbone {params.backbone:q} --backbone-name {wildcards.backbone:q} --method {wildcards.method:q}"
        " --group {wildcards.group:q} --threads 1"
        " --tasks {params.tasks:q} --seed {wildcards.seed:q} --batch-size {params.batch:q}"
        " {params.recipe:q} {params.method_overrides:q} --out {params.out:q} > {log:q} 2>&1"


rule evaluate:
    input:
        adapter=f"{RUN_DIR}/{ADAPTER_FILE}",
        features=group_features,
        backbone=backbone_input,
    output:
        metrics=report(
            f"{RUN_DIR}/{METRICS_FILE}",
            caption="../report/run_metrics.rst",
            category="{group} tasks",
            subcategory="{backbone}",
            labels={"method": "{method}", "seed": "{seed}", "file": METRICS_FILE},
        ),
    wildcard_constraints:
        group="image|video",
        seed=r"\d+",
    params:
        data=DATA,
        backbone=lambda w: backbone_path(w.backbone),
        split=SPLIT,
        meteor=[] if config["evaluate"].get("meteor", True) else ["--no-meteor"],
        vqa_scorer=config["evaluate"].get("vqa_scorer", "official2021"),
        device=config["train"]["device"],
        run=lambda w, output: os.path.dirname(output.metrics),
        code=code("evaluate"),
    log:
        f"{RUN_LOGS}/evaluate/{{group}}_{{backbone}}_{{method}}_seed{{seed}}.log",
    benchmark:
        f"{RUN_LOGS}/bench/evaluate/{{group}}_{{backbone}}_{{method}}_seed{{seed}}.tsv"
    threads: 1  # one torch thread: fastest on small models, and bytes depend on the thread count
    resources:
        mem_mb=6000,
        gpu=_uses_gpu(),
    shell:
        "{VLPEFT} evaluate --run {params.run:q} --data {params.data:q} --features-{wildcards.group} {input.features:q}"
        " --backbone {params.backbone:q} --split {params.split:q}"
        " --device {params.device:q} --threads 1 {params.meteor:q} --vqa-scorer {params.vqa_scorer:q} > {log:q} 2>&1"
