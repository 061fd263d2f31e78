"""The registry's method names in table order, without importing torch: the workflow checks a
config's method names at every Snakemake start (and every SLURM job), where importing the registry
itself cost 7.6 of the 10.6 s of a no-op rerun. `vlpeft.pet.registry` checks that it defines
exactly these names, in this order."""

METHOD_NAMES: tuple[str, ...] = (
    "full_finetuning",
    "bitfit",
    "adapter_single",
    "adapter_multiple",
    "adapter_half_shared",
    "hyperformer",
    "compacter_single",
    "compacter_multiple",
    "lora_single",
    "lora_multiple",
    "prompt_single",
    "prompt_multiple",
    "vl_pet_small",
    "compacter_g_small_lw",
    "vl_pet_middlex",
    "compacter_g_middlex_lw",
    "vl_pet_middley",
    "compacter_g_middley_lw",
    "vl_pet_large",
    "compacter_g_large_lw",
)
