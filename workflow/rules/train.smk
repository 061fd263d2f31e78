# Phase 4b/5: one training run per (group, backbone, method, seed), then its evaluation.


def _group(wildcards):
    return config["groups"][wildcards.group]


rule train:
    input:
        manifest=f"{DATA}/manifest.json",
        features=group_features,
        backbone=backbone_input,
    output:
        adapter="runs/{group}/{backbone}/{method}/seed{seed}/adapter.safetensors",
        log="runs/{group}/{backbone}/{method}/seed{seed}/train_log.jsonl",
    wildcard_constraints:
        group="image|video",
        seed=r"\d+",
    params:
        data=DATA,
        backbone=lambda w: backbone_path(w.backbone),
        tasks=lambda w: ",".join(_group(w)["tasks"]),
        batch=lambda w: config["train"]["batch_size"][w.backbone],
        lr=lambda w: f"--lr {config['train']['lr']}" if config["train"].get("lr") else "",
        overrides=lambda w: method_set_args(config, w.method),
        recipe=lambda w: (
            f"--epochs {epochs(w.method)} --lr-scale {config['train']['lr_scale']}"
            f" --warmup-ratio {config['train']['warmup_ratio']}"
            f" --clip-norm {config['train']['grad_clip']} --checkpoint-every {config['train']['checkpoint_every']}"
            f" --device {config['train']['device']}"
            + (" --fix-no-decay" if config["train"].get("fix_no_decay") else "")
            + (" --fix-gqa-prefix" if config["train"].get("fix_gqa_prefix") else "")
        ),
        out=lambda w, output: os.path.dirname(output.adapter),
    log:
        "logs/train/{group}_{backbone}_{method}_seed{seed}.log",
    threads: 1  # one torch thread: fastest on small models, and bytes depend on the thread count
    resources:
        mem_mb=6000,
        gpu=1 if config["train"].get("device", "cpu").startswith("cuda") else 0,
    shell:
        "{VLPEFT} train --data {params.data} --features-{wildcards.group} {input.features}"
        " --backbone {params.backbone} --backbone-name {wildcards.backbone} --method {wildcards.method}"
        " --group {wildcards.group} --threads 1"
        " --tasks {params.tasks} --seed {wildcards.seed} --batch-size {params.batch} {params.lr}"
        " {params.recipe} {params.overrides} --out {params.out} > {log} 2>&1"


rule evaluate:
    input:
        adapter="runs/{group}/{backbone}/{method}/seed{seed}/adapter.safetensors",
        features=group_features,
        backbone=backbone_input,
    output:
        metrics="runs/{group}/{backbone}/{method}/seed{seed}/metrics.json",
    wildcard_constraints:
        group="image|video",
        seed=r"\d+",
    params:
        data=DATA,
        backbone=lambda w: backbone_path(w.backbone),
        split=config.get("evaluate", {}).get("split", "test"),
        meteor="" if config.get("evaluate", {}).get("meteor", True) else " --no-meteor",
        device=config["train"]["device"],
        run=lambda w, output: os.path.dirname(output.metrics),
    log:
        "logs/evaluate/{group}_{backbone}_{method}_seed{seed}.log",
    threads: 1  # one torch thread: fastest on small models, and bytes depend on the thread count
    resources:
        mem_mb=6000,
        gpu=1 if config["train"].get("device", "cpu").startswith("cuda") else 0,
    shell:
        "{VLPEFT} evaluate --run {params.run} --data {params.data} --features-{wildcards.group} {input.features}"
        " --backbone {params.backbone} --split {params.split}"
        " --device {params.device} --threads 1{params.meteor} > {log} 2>&1"
