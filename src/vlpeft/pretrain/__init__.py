"""`vlpeft backbone-demo`: a tiny pre-trained T5 or BART for the demo world.

Modules by job: ``noising`` (T5 span corruption, BART text infilling, batching), ``objectives``
(denoising, captioning and QA pre-training objectives), ``loop`` (settings, the tiny config, the
pre-training loop), ``build`` (tokenizer + pre-training + saving: ``build_demo_backbone``), ``cli``
(the verb). It sits above ``models`` and ``train`` (it uses the fine-tuning recipe's optimizer), so
``models`` never imports ``train``.

Parameter-efficient tuning of a random backbone proves nothing, so the demo pipeline pre-trains its
own tiny backbone, briefly, on CPU, and saves it with ``save_pretrained`` so that the training step
loads it through ``from_pretrained(path)`` exactly as it loads ``t5-base``:

1. a tokenizer trained on the demo world's train + pre-training text (``tokenizer_train``), with the
   project's added vocabulary (``<extra_id_*>``, ``<vis_extra_id_*>``, docs/methods.md B.0);
2. a tiny config, seeded random init, then pre-training with AdamW and a linear schedule on
   (a) text denoising (T5 span corruption with sentinels / BART text infilling with ``<mask>``) and
   (b) captioning of the pre-training split's images/videos when feature files are given, through the
   ``VLModel`` wrapper, each task group with its own visual projection;
3. ``<out>/`` written atomically: model + tokenizer (``save_pretrained``), the visual projections
   (``visual_embedding.safetensors``, loaded by the training step as the initial projection, as a
   VL-pre-trained VL-T5 checkpoint carries its own; the papers' text-only backbones have none and start
   it from random), ``pretrain_log.jsonl`` (loss per step) and ``pretrain.json`` (settings, input
   checksums, loss on fixed batches before/after).

Measured on the default demo world: with a 400-step pre-training and a discarded projection, every
method stayed at chance after the demo's 2 epochs (the frozen decoder never emitted an answer token:
answers such as "true" or "a3", one-token texts, were not denoising targets, and a fresh projection
hides the images behind the shared component of the CLIP grid features).
"""

from vlpeft.pretrain.build import build_demo_backbone
from vlpeft.pretrain.loop import PretrainSettings
from vlpeft.pretrain.noising import span_corrupt, text_infill

__all__ = ["PretrainSettings", "build_demo_backbone", "span_corrupt", "text_infill"]
