"""`vlpeft export RUN --to DIR [--merge]`: a self-contained, hub-ready folder of a trained run.

The folder holds

- ``adapter.safetensors``: the run's PET weights (the vlpeft adapter, header included), the visual
  projection among them;
- ``visual_embedding.safetensors``: the visual projection alone, ``<group>.<parameter>`` (the file
  format a backbone directory uses for its own, `vlpeft.models.save_visual_embeddings`);
- ``run.json`` + ``export.json``: what rebuilds the method on the stock backbone (group, tasks,
  method, its overrides and resolved config, backbone name, CLIP identity, feature width, frame
  sampling), so `vlpeft predict DIR ...` runs from the folder;
- for LoRA and prompt tuning, Hugging Face PEFT's ``adapter_config.json`` +
  ``adapter_model.safetensors`` (one adapter: in the folder; one per task: ``peft/<task>/``),
  loadable with ``PeftModel.from_pretrained`` onto the stock backbone, which then computes what our
  backbone computes on the same ``inputs_embeds``. The biases LoRA trains (quirk F2,
  docs/methods.md B.1.4) go with ``bias="all"``; a prompt (an MLP over a table, B.1.5) is stored as
  its fixed output. What PEFT does not hold is the VL part around the backbone: the visual
  projection (its own file here) and the hooks that give positions to the text block only
  (docs/methods.md D); other methods (adapters, VL-PET, hyperformer, BitFit, full fine-tuning) have
  no exact PEFT form and are rebuilt by vlpeft from ``export.json``;
- ``--merge`` (single LoRA only): ``backbone/``, the stock backbone class with the LoRA folded
  into its weights (``save_pretrained``, tokenizer and visual projection beside it), and no adapter;
- ``README.md``: the model card (method, backbone, tasks, trainable %, metrics, config, paper row).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, cast

from vlpeft import __version__
from vlpeft.io import canonical_json, write_json
from vlpeft.predict import (
    ADAPTER_FILE,
    EXPORT_FILE,
    MERGED_BACKBONE_DIR,
    PredictError,
    adapter_feat_dim,
    open_source,
    resolve_backbone,
)

FORMAT = "vlpeft-export/1"
PEFT_PREFIX = "base_model.model."
PEFT_DIR = "peft"


def stock_backbone(backbone: str, vocab_size: int) -> Any:
    """The stock Hugging Face backbone (``from_pretrained``), resized as `vlpeft.models.build_model` does."""
    from transformers import AutoConfig

    from vlpeft.models.build import resize_vocabulary
    from vlpeft.models.tokenizer import resolve_name
    from vlpeft.models.vl import BACKBONE_CLASSES

    name = resolve_name(backbone)
    config = AutoConfig.from_pretrained(name)
    stock = BACKBONE_CLASSES[config.model_type].from_pretrained(name, config=config)
    resize_vocabulary(stock, vocab_size)
    return stock.eval()


def stock_for(model: Any, backbone: str) -> tuple[Any, bool]:
    """The stock backbone to build a PEFT folder on, and whether our vocabulary is larger than its
    (docs/methods.md B.0: the tokenizer's added tokens): then our resized token embeddings are copied in,
    so that PEFT saves them with the adapter (``save_embedding_layers``) and loads them back onto a
    stock backbone resized to the same size."""
    import torch

    ours = model.backbone.get_input_embeddings().weight
    stock = stock_backbone(backbone, ours.shape[0])
    resized = stock_vocab_size(backbone) != ours.shape[0]
    if resized:
        with torch.no_grad():
            stock.get_input_embeddings().weight.copy_(ours)
            head, our_head = stock.get_output_embeddings(), model.backbone.get_output_embeddings()
            if head.weight is not stock.get_input_embeddings().weight:
                head.weight.copy_(our_head.weight)
    return stock, resized


def stock_vocab_size(backbone: str) -> int:
    from transformers import AutoConfig

    from vlpeft.models.tokenizer import resolve_name

    return int(AutoConfig.from_pretrained(resolve_name(backbone)).vocab_size)


def lora_adapters(model: Any) -> list[str]:
    """The LoRA adapter names injected in ``model.backbone`` ("single", or one per task)."""
    from peft.tuners.lora import LoraLayer

    for module in model.backbone.modules():
        if isinstance(module, LoraLayer):
            return sorted(module.lora_A.keys())
    return []


def write_peft(model: Any, method_cfg: dict[str, Any], backbone: str, adapter: str, out: Path) -> None:
    """One of ``model``'s LoRA adapters as a PEFT folder (``adapter_config.json`` +
    ``adapter_model.safetensors``), written by PEFT itself from a PeftModel over the stock backbone."""
    import torch
    from peft import LoraConfig, get_peft_model

    from vlpeft.pet.lora import TARGETS

    has_bias = any(n.endswith("bias") for n, _ in model.backbone.named_parameters())
    config = LoraConfig(
        r=method_cfg["r"],
        lora_alpha=method_cfg["alpha"],
        lora_dropout=method_cfg["dropout"],
        target_modules=TARGETS[model.arch],
        bias="all" if has_bias and method_cfg.get("train_biases") else "none",
        task_type="SEQ_2_SEQ_LM",
    )
    stock, resized = stock_for(model, backbone)
    peft_model = get_peft_model(stock, config)
    ours = dict(model.backbone.named_parameters())
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_" not in name and not (config.bias == "all" and name.endswith("bias")):
                continue
            key = name[len(PEFT_PREFIX) :].replace(".default.", f".{adapter}.")
            if key not in ours or ours[key].shape != param.shape:
                raise PredictError(f"PEFT export: no parameter {key!r} of that shape in the trained model")
            param.copy_(ours[key])
    peft_model.peft_config["default"].base_model_name_or_path = str(backbone)
    peft_model.save_pretrained(str(out), safe_serialization=True, save_embedding_layers=resized)


def prompt_adapters(model: Any, method_cfg: dict[str, Any]) -> list[str]:
    """The prompts of a prompt-tuning run: ``["single"]`` (one shared prompt) or its tasks."""
    if getattr(model, "prompt", None) is None or not hasattr(model.prompt, "per_task"):
        return []
    return ["single"] if method_cfg.get("sharing") == "single" else sorted(model.prompt.per_task)


def write_peft_prompt(model: Any, backbone: str, adapter: str, out: Path) -> None:
    """One prompt as PEFT prompt tuning (encoder only: ``num_transformer_submodules=1``). Our prompt
    is an MLP over a learned table (docs/methods.md B.1.5); at inference it is a fixed (P, d) tensor,
    stored as PEFT's virtual-token embedding, which PEFT prepends to ``inputs_embeds`` as we do."""
    import torch
    from peft import PromptTuningConfig, get_peft_model

    module = next(iter(model.prompt.per_task.values())) if adapter == "single" else model.prompt.per_task[adapter]
    with torch.no_grad():
        prompt = module(1)[0].detach().float()  # (P, d)
    config = PromptTuningConfig(
        task_type="SEQ_2_SEQ_LM",
        num_virtual_tokens=int(prompt.shape[0]),
        token_dim=int(prompt.shape[1]),
        num_transformer_submodules=1,
    )
    stock, resized = stock_for(model, backbone)
    peft_model = get_peft_model(stock, config)
    # PEFT's PromptEmbedding keeps its table as ``.embedding`` (an nn.Embedding); ModuleDict indexing types it Module
    embedding = cast(torch.nn.Embedding, peft_model.prompt_encoder["default"].embedding)
    with torch.no_grad():
        embedding.weight.copy_(prompt)
    peft_model.peft_config["default"].base_model_name_or_path = str(backbone)
    peft_model.save_pretrained(str(out), safe_serialization=True, save_embedding_layers=resized)


def merge_lora(model: Any) -> None:
    """Fold a single LoRA into its base layers and put the stock layers back (in place)."""
    from peft.tuners.lora import LoraLayer

    backbone = model.backbone
    for name, module in list(backbone.named_modules()):
        if isinstance(module, LoraLayer):
            module.merge(safe_merge=True)
            parent_name, _, child = name.rpartition(".")
            parent = backbone.get_submodule(parent_name) if parent_name else backbone
            setattr(parent, child, module.get_base_layer())
    backbone.__dict__.pop("peft_config", None)  # set by inject_adapter_in_model: no adapter is left
    if getattr(backbone, "_hf_peft_config_loaded", False):
        backbone._hf_peft_config_loaded = False


ARCH_NAMES = {"bart": "BART", "t5": "T5"}


def paper_rows_for(method: str, group: str, backbone: str, arch: str) -> list[dict[str, Any]]:
    """The published rows of ``method`` in the papers' tables for the group and the backbone's
    architecture (config/paper, when the repository ships it)."""
    from vlpeft.report.paper import load_paper_map, load_paper_tables, paper_rows

    root = Path(__file__).resolve().parents[2] / "config" / "paper"
    if not (root / "paper_tables.json").is_file() or not (root / "paper_map.json").is_file():
        return []
    tables, pmap = load_paper_tables(root / "paper_tables.json"), load_paper_map(root / "paper_map.json")
    out = []
    for tid in sorted(tables):
        if group not in tid or tid not in pmap["methods"]:
            continue
        if any(name in tid for a, name in ARCH_NAMES.items() if a != arch):  # a table of the other backbone
            continue
        try:
            row = paper_rows([tid], backbone, tables, pmap).get(method)
        except KeyError:  # a table mixing backbones, not ours
            continue
        if row is not None:
            out.append({"table": row.table, "row": row.row, "params_pct": row.params_pct, "scores": row.scores})
    return out


def model_card(info: dict[str, Any]) -> str:
    """README.md of the export (a Hugging Face model card with YAML front matter)."""
    spec, params, metrics = info["run"], info["params"], info.get("metrics")
    lines = [
        "---",
        "library_name: peft" if info["peft"] else "library_name: transformers",
        "license: mit",
        *([] if Path(info["backbone"]).exists() else [f"base_model: {info['backbone']}"]),  # a hub id only
        "tags:",
        "- vlpeft",
        f"- {spec['method']}",
        *[f"- {t}" for t in spec["tasks"]],
        "---",
        "",
        f"# {spec['method']} on {spec['backbone']} ({spec['group']} tasks)",
        "",
        f"A parameter-efficient tuning run exported by vlpeft {__version__} (`vlpeft export`).",
        "",
        "| | |",
        "|---|---|",
        f"| method | `{spec['method']}` |",
        f"| backbone | `{info['backbone']}` ({info['arch']}) |",
        f"| tasks | {', '.join(spec['tasks'])} |",
        f"| seed | {spec['seed']} |",
        f"| trainable parameters | {params['trainable']:,} of {params['total']:,} ({params['percent']:.3f} %) |",
        (
            f"| CLIP | `{info['features'].get('encoder', '?')}` "
            f"(sha256 {str(info['features'].get('checkpoint_sha256', '?'))[:12]}...), {info['feat_dim']}-d features |"
        ),
        f"| merged | {'yes: LoRA folded into backbone/' if info['merged'] else 'no'} |",
        "",
    ]
    lines += ["## Metrics", ""]
    if metrics:
        lines += [
            "| task | " + " | ".join(f"{t} ({_metric(t)})" for t in metrics["tasks"]) + " | average |",
            "|---|" + "---|" * (len(metrics["tasks"]) + 1),
            "| score | "
            + " | ".join(_headline(t, v) for t, v in metrics["tasks"].items())
            + f" | {metrics['average']:.2f} |",
            "",
        ]
    else:
        lines += ["Not evaluated (no metrics.json in the run directory).", ""]
    lines += ["## Paper row", ""]
    if info["paper"]:
        for row in info["paper"]:
            scores = ", ".join(f"{k} {v:g}" for k, v in row["scores"].items())
            lines.append(f"- {row['table']}: **{row['row']}** ({scores}; params {row['params_pct']} %)")
    else:
        lines.append("No published row for this method and group.")
    lines += [
        "",
        "## Use",
        "",
        "```bash",
        f"vlpeft predict {info['name']} --task {spec['tasks'][0]} "
        + ("--video clip.mp4" if spec["group"] == "video" else "--image picture.jpg")
        + " [--question ...] [--clip CLIP]",
        "```",
        "",
    ]
    if info["peft"]:
        first = info["peft"][0]
        lines += [
            (
                "With Hugging Face PEFT (the backbone alone, fed `inputs_embeds`; the visual projection is in "
                "`visual_embedding.safetensors`):"
            ),
            "",
            "```python",
            "from peft import PeftModel",
            f"from transformers import {info['backbone_class']}",
            f"base = {info['backbone_class']}.from_pretrained({info['backbone']!r})",
            *(
                [
                    f"base.resize_token_embeddings({info['vocab_size']})"
                    "  # the added tokens (rows saved with the adapter)"
                ]
                if info["stock_vocab_size"] != info["vocab_size"]
                else []
            ),
            f"model = PeftModel.from_pretrained(base, {(info['name'] + '/' + first).rstrip('/.')!r})",
            "```",
            "",
        ]
    else:
        lines += [info["peft_note"], ""]
    lines += [
        "## Config",
        "",
        "```json",
        json.dumps({"run": spec, "method_config": info["method_config"]}, indent=2, sort_keys=True),
        "```",
        "",
    ]
    return "\n".join(lines)


def _metric(task: str) -> str:
    from vlpeft.tasks import get_task

    return get_task(task).metric


def _headline(task: str, values: dict[str, Any]) -> str:
    value = values.get(_metric(task))
    return "-" if value is None else f"{value:.2f}"


def export_run(
    run_dir: str | os.PathLike,
    to: str | os.PathLike,
    backbone: str | None = None,
    clip: str | None = None,
    merge: bool = False,
) -> Path:
    """Write the export folder ``to`` (atomically: built beside it, then renamed into place)."""
    from dataclasses import asdict

    import torch

    from vlpeft.models.build import save_visual_embeddings
    from vlpeft.pet import count_parameters, load_adapter
    from vlpeft.train.build import build_run_model

    source = open_source(run_dir)
    if source.export is not None:
        raise PredictError(f"{source.path}: already an export; export the run directory instead")
    to = Path(to)
    if to.exists() and (not to.is_dir() or (any(to.iterdir()) and not (to / EXPORT_FILE).is_file())):
        raise PredictError(f"--to {to}: exists and is not an earlier export; choose a new folder")
    backbone = resolve_backbone(source, backbone)
    adapter_file = source.adapter
    assert adapter_file is not None  # a run directory (not an export): open_source found its adapter
    feat_dim = adapter_feat_dim(adapter_file)
    model, tokenizer, method_cfg = build_run_model(source.spec, backbone, feat_dim)
    load_adapter(adapter_file, model)
    model.eval()
    trainable, total, percent = count_parameters(model)
    adapters = lora_adapters(model)
    if merge and (not adapters or adapters != ["single"]):
        raise PredictError(
            f"--merge folds a single LoRA into the backbone; {source.spec.method} "
            f"{'has one LoRA per task' if adapters else 'is not LoRA'}"
        )
    metrics_file = source.path / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.is_file() else None
    to.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{to.name}.", dir=to.parent))
    try:
        source.spec.write(tmp)
        save_visual_embeddings({source.spec.group: model.visual_embedding}, tmp)
        peft_dirs: list[str] = []
        if merge:
            merge_lora(model)
            with torch.no_grad():
                model.backbone.save_pretrained(str(tmp / MERGED_BACKBONE_DIR), safe_serialization=True)
            tokenizer.save_pretrained(str(tmp / MERGED_BACKBONE_DIR))
            save_visual_embeddings({source.spec.group: model.visual_embedding}, tmp / MERGED_BACKBONE_DIR)
        else:
            shutil.copyfile(adapter_file, tmp / ADAPTER_FILE)
            with_peft = not source.spec.from_config  # a config-built backbone has no stock checkpoint
            for name in adapters if with_peft else []:
                sub = "." if name == "single" else f"{PEFT_DIR}/{name}"
                write_peft(model, method_cfg, backbone, name, tmp / sub)
                peft_dirs.append(sub)
            for name in prompt_adapters(model, method_cfg) if with_peft else []:
                sub = "." if name == "single" else f"{PEFT_DIR}/{name}"
                write_peft_prompt(model, backbone, name, tmp / sub)
                peft_dirs.append(sub)
        info = {
            "format": FORMAT,
            "vlpeft_version": __version__,
            "name": to.name,
            "run": asdict(source.spec),
            "backbone": backbone,
            "arch": model.arch,
            "backbone_class": type(model.backbone).__name__,
            "clip": clip or source.features.get("encoder"),
            "features": source.features,
            "feat_dim": feat_dim,
            "method_config": method_cfg,
            "merged": merge,
            "peft": peft_dirs,
            "vocab_size": model.backbone.get_input_embeddings().num_embeddings,
            "stock_vocab_size": stock_vocab_size(backbone) if peft_dirs else None,
            "params": {"trainable": int(trainable), "total": int(total), "percent": float(percent)},
            "metrics": metrics,
            "paper": paper_rows_for(source.spec.method, source.spec.group, source.spec.backbone, model.arch),
            "adapter_header": source.header,
            "peft_note": (
                "PEFT files: none (only LoRA and prompt tuning map exactly onto PEFT, on a stock "
                "checkpoint; this run is rebuilt by vlpeft from `export.json`)."
            )
            if not merge
            else "The LoRA is merged: `backbone/` loads with `from_pretrained` and needs no PEFT.",
        }
        (tmp / "README.md").write_text(model_card(info), encoding="utf-8")
        write_json(tmp / EXPORT_FILE, json.loads(canonical_json(info)))
        if to.exists():
            shutil.rmtree(to)
        os.replace(tmp, to)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return to


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run directory written by `vlpeft train` (and `vlpeft evaluate`)")
    parser.add_argument("--to", required=True, help="the export folder to write (replaced if it is an earlier export)")
    parser.add_argument(
        "--backbone",
        help="the backbone the run was trained on: local directory or hub name "
        "(recorded in the export as the stock backbone to load)",
    )
    parser.add_argument(
        "--clip",
        help="the CLIP name or file to record for `vlpeft predict` (default: the name the run's features record)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="fold a single LoRA into the backbone weights (writes backbone/, no adapter)",
    )


def run(args: argparse.Namespace) -> int:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    out = export_run(args.run, args.to, backbone=args.backbone, clip=args.clip, merge=args.merge)
    print(out)
    return 0
